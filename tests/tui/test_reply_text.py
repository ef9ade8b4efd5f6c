"""The chat, in-process: a reply without text is an error and /retry sends the message again; a reply's
reasoning is shown set apart before it."""

from __future__ import annotations

import io

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from support.repl import CTRL_D, ENTER

from segchat.tui.repl import Repl
from segchat.ui.render import Renderer

THOUGHT = "The user wants a number."


def run(chat, *keys: str) -> str:
    """Type keys into a REPL over chat that shows reasoning (as it does on a terminal); what it printed."""
    out = io.StringIO()
    with create_pipe_input() as pipe:
        pipe.send_text("".join(keys) + CTRL_D)
        renderer = Renderer(out=out, rich_output=False, shows_reasoning=True)
        assert Repl(chat, renderer, input=pipe, output=DummyOutput()).run() == 0
    return out.getvalue()


@pytest.mark.parametrize("stream", [False, True])
def test_a_reply_of_only_reasoning_is_an_error_and_retry_sends_the_message_again(make_local_chat, fake, stream):
    chat = make_local_chat()
    chat.provider.stream = stream
    fake.script({"content": "", "reasoning": THOUGHT, "finish_reason": "length"}, {"content": "Forty-two."})
    out = run(chat, "how many?" + ENTER, "/retry" + ENTER)
    assert "error: the server sent no reply text (stop reason: length; the length limit was spent on reasoning)\n" \
        "the message was not answered; /retry sends it again\n" in out
    assert [m.content for m in chat.conversation.messages] == ["how many?", "Forty-two."]
    assert [r.body["messages"] for r in fake.chat_requests()] == [[{"role": "user", "content": "how many?"}]] * 2


@pytest.mark.parametrize("stream", [False, True])
def test_the_reasoning_is_shown_before_the_reply(make_local_chat, fake, stream):
    chat = make_local_chat()
    chat.provider.stream = stream
    fake.script({"content": "Forty-two.", "reasoning": THOUGHT})
    out = run(chat, "how many?" + ENTER)
    assert f"│ {THOUGHT}\n\nForty-two.\n" in out and out.count(THOUGHT) == 1
