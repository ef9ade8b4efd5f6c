"""The turn engine: whole-conversation sends, pending messages, credits arithmetic, budget, context."""

from __future__ import annotations

from decimal import Decimal

import pytest
from support.store_rows import listed

from segchat.engine.chat import Chat
from segchat.errors import BudgetError, CreditsError, NotFoundError, StillWaiting, UsageError
from segchat.model.call import Call
from segchat.model.conversation import UnsentMessage
from segchat.model.ledger import Ledger
from segchat.providers.segmind import Segmind as ChatClient
from segchat.ui import wording as words


def test_every_turn_sends_the_whole_conversation(make_chat, fake):
    chat = make_chat(system="be a pirate")
    chat.send("one")
    chat.send("two")
    assert fake.chat_requests()[-1].body["messages"] == [
        {"role": "system", "content": "be a pirate"}, {"role": "user", "content": "one"},
        {"role": "assistant", "content": "echo: one"}, {"role": "user", "content": "two"}]


def test_sampling_settings_are_sent(make_chat, fake):
    chat = make_chat(temperature=0.3, top_p=0.9, max_tokens=64)
    chat.send("x")
    body = fake.chat_requests()[0].body
    assert (body["temperature"], body["top_p"], body["max_tokens"]) == (0.3, 0.9, 64)


def test_failure_leaves_history_untouched_and_keeps_the_message(make_chat, fake, store):
    chat = make_chat()
    chat.send("first")
    fake.script({"status": 404})
    with pytest.raises(NotFoundError):
        chat.send("second")
    assert [m.content for m in chat.conversation.messages] == ["first", "echo: first"]
    assert chat.conversation.unsent.text == "second" and store.load(chat.session.id).unsent.text == "second"
    turn = chat.send(None)  # /retry
    assert turn.reply.content == "echo: second"
    assert store.load(chat.session.id).unsent is None
    assert len(store.load(chat.session.id).messages) == 4


def test_new_message_replaces_an_unsent_one(make_chat, fake, store):
    chat = make_chat()
    fake.script({"status": 406})
    with pytest.raises(CreditsError):
        chat.send("lost cause")
    chat.send("fresh")
    assert store.unsent(chat.session.id) == [] and chat.conversation.unsent is None


def test_regenerate_replaces_the_last_reply(make_chat, fake, store):
    chat = make_chat()
    chat.send("q")
    fake.script({"content": "better answer"})
    chat.regenerate()
    assert [m.content for m in store.load(chat.session.id).messages] == ["q", "better answer"]
    assert fake.chat_requests()[-1].body["messages"] == [{"role": "user", "content": "q"}]


def test_failed_regenerate_keeps_the_old_reply(make_chat, fake):
    chat = make_chat()
    chat.send("q")
    fake.script({"status": 404})
    with pytest.raises(NotFoundError):
        chat.regenerate()
    assert [m.content for m in chat.conversation.messages] == ["q", "echo: q"]


def test_nothing_to_retry(make_chat):
    with pytest.raises(UsageError):
        make_chat().regenerate()


@pytest.mark.parametrize("balances, costs, spent", [
    (["10", "9.9875", "9.98708"], [None, Decimal("0.0125"), Decimal("0.00042")], Decimal("0.01292")),
    (["5", None, "4.5"], [None, None, Decimal("0.5")], Decimal("0.5")),
    (["1", "3", "2.9"], [None, None, Decimal("0.1")], Decimal("0.1")),  # a top-up is not a negative cost
])
def test_ledger(balances, costs, spent):
    ledger = Ledger()
    got = [ledger.record(Decimal(b) if b else None) for b in balances]
    assert got == costs and ledger.spent == spent


def test_cost_per_turn_from_header_deltas(make_chat, fake):
    chat = make_chat()
    chat.refresh_balance()
    turn = chat.send("x")
    assert turn.cost == Decimal("0.0125") and chat.ledger.balance == Decimal("9.9875")
    fake.script({"credits": "junk"})
    turn = chat.send("y")
    assert turn.cost is None and any("unparsable" in n for n in _said(turn.notices))
    assert chat.ledger.spent == Decimal("0.0125") and chat.ledger.unpriced == 1


def test_budget_refuses_to_send(make_chat, fake):
    chat = make_chat(max_credits=Decimal("0.02"))
    chat.refresh_balance()
    chat.send("a")
    chat.send("b")
    with pytest.raises(BudgetError, match="spent 0.025 credits.*budget of 0.02"):
        chat.send("c")
    assert len(fake.chat_requests()) == 2
    chat.max_credits = Decimal("1")
    chat.send("c")


def test_low_credit_warning_once(make_chat, fake):
    chat = make_chat(low_credit_warning=Decimal("9.98"))
    chat.refresh_balance()
    assert not any("low credits" in n for n in _said(chat.send("a").notices))
    assert any("low credits" in n for n in _said(chat.send("b").notices))
    assert not any("low credits" in n for n in _said(chat.send("c").notices))


def test_context_warning_and_length_notice(make_chat, fake):
    chat = make_chat(context_window=50, context_warning=0.5, max_tokens=10)
    fake.script({"finish_reason": "length", "usage": {"prompt_tokens": 20, "completion_tokens": 10,
                                                      "total_tokens": 30}})
    notices = chat.send("hello").notices
    assert any("cut at max_tokens" in n for n in _said(notices))
    assert any("60% of the 50-token context" in n for n in _said(notices))
    assert chat.context_tokens() == 30


def test_a_length_limit_not_of_segchats_does_not_suggest_raising_max_tokens(make_chat, fake):
    chat = make_chat()  # no max_tokens: the server stopped on a limit of its own
    fake.script({"finish_reason": "length"})
    said = _said(chat.send("hello").notices)
    assert any("the server's own length limit" in n for n in said)
    assert not any("max_tokens N" in n or "cut at max_tokens" in n for n in said)


def test_two_chats_on_one_session_lose_nothing(config, store, fake):
    info = store.create("shared")
    make = lambda: Chat(config, ChatClient(config.base_url, config.model, "test-key-12345"), store,  # noqa: E731
                        store.get(info.id))
    a, b = make(), make()
    a.send("from a")
    turn = b.send("from b")
    assert any("changed by another segchat" in n for n in _said(turn.notices))
    assert fake.chat_requests()[-1].body["messages"][:2] == [
        {"role": "user", "content": "from a"}, {"role": "assistant", "content": "echo: from a"}]
    assert [m.content for m in store.load(info.id).messages] == ["from a", "echo: from a", "from b", "echo: from b"]


def test_undo_trim_and_system(make_chat, store):
    chat = make_chat(system="s1")
    for text in ("a", "b", "c"):
        chat.send(text)
    chat.undo()
    chat.trim(1)
    chat.set_system("s2")
    loaded = store.load(chat.session.id)
    assert [m.content for m in loaded.messages] == ["b", "echo: b"] and loaded.system == "s2"


def test_new_session_keeps_system_and_old_session(make_chat, store):
    chat = make_chat(system="keep me")
    chat.send("a")
    old = chat.session.id
    chat.new_session()
    assert chat.conversation.system == "keep me" and chat.conversation.messages == []
    assert len(store.load(old).messages) == 2


def test_a_slow_balance_fetch_never_overwrites_a_newer_balance(make_chat, fake):
    chat = make_chat()
    chat.refresh_balance()

    def slow_fetch(call):
        balance = call(None)
        chat.send("meanwhile")  # a turn finishes while the fetch was in flight
        return balance

    chat.refresh_balance(slow_fetch)
    assert chat.ledger.balance == Decimal("9.9875")  # from the turn, not the older fetch


def test_a_one_shot_leaves_an_earlier_unsent_message_alone(config, store, fake):
    info = store.create("s")
    store.add_unsent(info.id, UnsentMessage("typed before a crash"))
    client = ChatClient(config.base_url, config.model, "test-key-12345")
    chat = Chat(config, client, store, store.get(info.id), adopt_unsent=False)
    chat.send("a quick question")
    assert fake.chat_requests()[0].body["messages"] == [{"role": "user", "content": "a quick question"}]
    assert store.load(info.id).unsent.text == "typed before a crash"
    repl_chat = Chat(config, client, store, store.get(info.id))
    assert repl_chat.conversation.unsent.text == "typed before a crash"


def test_sessions_that_never_got_a_message_are_not_kept(make_chat, store):
    chat = make_chat()
    empty = chat.session.id
    chat.new_session()  # left without a word: dropped
    chat.send("kept")
    current = chat.new_session()
    assert store.exists(current.id) and [s.title for s in listed(store)] == ["kept"]  # empty: not listed
    chat.close()
    assert not store.exists(current.id) and not store.exists(empty)


def test_context_from_prompt_and_completion_tokens(make_chat, fake):
    chat = make_chat()
    fake.script({"usage": {"prompt_tokens": 700, "completion_tokens": 50}})
    chat.send("x")
    assert chat.context_tokens() == 750


def _said(notices):
    """The notices as the chat would word them."""
    return [words.notice(n.code, n.values) for n in notices]


def test_a_provider_that_recovers_no_jobs_sends_the_message_again(make_local_chat, fake):
    chat = make_local_chat()
    job = {"request_id": "r1", "status_url": f"{fake.base_url}/s", "response_url": f"{fake.base_url}/r"}
    chat.conversation.unsent = UnsentMessage("again", meta={"job": job})
    assert chat.recover() is None
    assert chat.send(None).reply.content == "echo: again"
    assert [r.path for r in fake.requests] == ["/v1/chat/completions"]


def test_each_reply_remembers_the_model_it_came_from(make_chat, fake, store):
    """Across /model, and for a queued reply fetched after it: the model the question was sent to."""
    chat = make_chat()
    chat.send("one")
    chat.set_model("claude-4.5-sonnet")
    chat.send("two")
    chat.provider.queued, chat.provider._timeout = True, 1.0
    fake.script_jobs({"states": ["QUEUED"]})
    with pytest.raises(StillWaiting):
        chat.send("three")  # the job goes on at Segmind
    (job,) = fake.jobs.values()
    job.states = ["COMPLETED"]
    chat.set_model("gemini-2.5-flash")
    chat.send(None)  # /retry: the queued reply is fetched, not asked of the model now chosen
    models = ["llama-v3p1-8b-instruct", "claude-4.5-sonnet", "claude-4.5-sonnet"]
    assert [m.meta["model"] for m in chat.conversation.messages if m.role == "assistant"] == models
    stored = store.load(chat.session.id).messages
    assert [m.meta["model"] for m in stored if m.role == "assistant"] == models


def test_a_segmind_call_may_warm_up_a_local_one_does_not(make_chat, make_local_chat, fake):
    calls: list[Call] = []

    def runner(request):
        calls.append(Call())
        return request(calls[-1])

    make_chat().send("hi", runner)
    make_local_chat().send("hi", runner)
    assert [c.warms_up for c in calls] == [True, False]
