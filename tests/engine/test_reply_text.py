"""A reply without text is no reply; a reply's reasoning is kept with it and never sent back."""

from __future__ import annotations

import pytest

from segchat.errors import BadResponseError, Cancelled
from segchat.text.redact import register_secret

THOUGHT = "The user wants a number. 6 times 7 is 42."
# Answers that hold no reply text, as whole replies and as streams.
NO_TEXT = {
    "empty": {"content": ""},
    "whitespace": {"content": " \n "},
    "only [DONE]": {"raw_sse": ["data: [DONE]\n\n"]},
    "only reasoning": {"content": "", "reasoning": THOUGHT, "finish_reason": "length"},
}


@pytest.fixture(params=["segmind", "whole", "streamed"])
def chat(request, make_chat, make_local_chat):
    """A chat with Segmind (whole replies), or with an OpenAI-compatible server, whole or streamed."""
    if request.param == "segmind":
        return make_chat()
    chat = make_local_chat()
    chat.provider.stream = request.param == "streamed"
    return chat


@pytest.mark.parametrize("answer", NO_TEXT.values(), ids=NO_TEXT.keys())
def test_a_reply_without_text_adds_nothing_and_keeps_the_message_for_retry(chat, fake, store, answer):
    chat.send("first")
    fake.script(answer)
    with pytest.raises(BadResponseError, match=r"^the server sent no reply text \(") as info:
        chat.send("second")
    if answer.get("reasoning") and "raw_sse" not in answer:
        assert "the length limit was spent on reasoning" in str(info.value)
    stored = store.load(chat.session.id, adopt=False).messages
    assert [m.content for m in chat.conversation.messages] == [m.content for m in stored] == ["first", "echo: first"]
    assert chat.conversation.unsent.text == "second" and [u.text for u in store.unsent(chat.session.id)] == ["second"]
    assert chat.send(None).reply.content == "echo: second"  # /retry
    stored = store.load(chat.session.id, adopt=False).messages
    assert [m.content for m in stored][2:] == ["second", "echo: second"] and store.unsent(chat.session.id) == []


def test_a_cancel_before_any_text_keeps_the_message_unsent(make_local_chat, store):
    chat = make_local_chat()

    def cancelled_after_blank_lines(request):
        raise Cancelled("\n\n")  # what a model may send before its first word: nothing worth keeping

    with pytest.raises(Cancelled):
        chat.send("q", cancelled_after_blank_lines)
    assert chat.conversation.messages == [] and [u.text for u in store.unsent(chat.session.id)] == ["q"]


@pytest.mark.parametrize("stream", [False, True])
def test_reasoning_is_kept_with_the_reply_and_never_sent_back(make_local_chat, fake, store, stream):
    chat = make_local_chat()
    chat.provider.stream = stream
    fake.script({"content": "It is 42.", "reasoning": THOUGHT})
    turn = chat.send("six times seven?")
    assert (turn.reply.content, turn.reply.reasoning) == ("It is 42.", THOUGHT)
    reply = store.load(chat.session.id).messages[-1]
    assert reply.content == "It is 42." and reply.meta["reasoning"] == THOUGHT
    chat.send("and plus one?")
    sent = fake.chat_requests()[-1].body["messages"]
    assert sent[:2] == [{"role": "user", "content": "six times seven?"}, {"role": "assistant", "content": "It is 42."}]
    assert "6 times 7" not in str(sent)
    assert "reasoning" not in store.load(chat.session.id).messages[-1].meta  # a reply without any has none


def test_a_key_in_the_reasoning_is_kept_hidden(make_local_chat, fake, store):
    """The reasoning is stored and exported with the reply: a key segchat was given is hidden there too."""
    register_secret("sk-reasoned-key-123456")
    chat = make_local_chat()
    fake.script({"content": "Done.", "reasoning": "the user's key is sk-reasoned-key-123456, so"})
    chat.send("q")
    assert store.load(chat.session.id).messages[-1].meta["reasoning"] == "the user's key is ***, so"
