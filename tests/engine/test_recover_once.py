"""A queued job's reply is stored once: the process that claims or commits first keeps it, the other takes it in."""

from __future__ import annotations

import io

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from support.cli import KEY
from support.fakequeue import Job

from segchat.engine.chat import Chat
from segchat.errors import UnsentTaken
from segchat.model.conversation import Message, UnsentMessage
from segchat.model.turn import run_here
from segchat.providers.segmind import Segmind
from segchat.store import Store, ownership
from segchat.tui.repl import Repl
from segchat.ui.render import Renderer

HOST = ownership.token().rsplit(":", 2)[0]
ENDED, LIVE = f"{HOST}:999999999:1", f"{HOST}:1:?"  # no process has that pid; pid 1 runs as long as the machine


def stranded(store: Store, fake, owner: str = ENDED) -> tuple[int, int]:
    """A session whose unsent message holds a finished job, left by a process that was killed while it polled."""
    fake.jobs["r1"] = Job({}, [{"role": "user", "content": "shared question"}], states=["COMPLETED"])
    root = fake.base_url[:-3]
    job = {"request_id": "r1", "status_url": f"{root}/v2/requests/r1/status",
           "response_url": f"{root}/v2/requests/r1/response"}
    info = store.create("twice")
    unsent_id = store.add_unsent(info.id, UnsentMessage("shared question", meta={"job": job}))
    store._db.execute("UPDATE pending SET owner=? WHERE id=?", (owner, unsent_id))
    return info.id, unsent_id


def chat_on(config, store: Store, session_id: int, *, adopt: bool) -> Chat:
    provider = Segmind(config.base_url, config.model, KEY, timeout=10, sleep=lambda s: None)  # its own turns by v1
    return Chat(config, provider, store, store.get(session_id), adopt_unsent=adopt)


def stored(store: Store, session_id: int) -> list[str]:
    return [m.content for m in store.load(session_id, adopt=False).messages]


def polls(fake) -> int:
    return sum(job.polls for job in fake.jobs.values())


def commit_elsewhere(store: Store, session_id: int, unsent_id: int):
    """A runner under which another segchat stores the exchange while this one waits for the reply."""
    def run(request):
        other = Store(store.path)
        try:
            other.add_exchange(session_id, [Message("user", "shared question", 1.0),
                                            Message("assistant", "queued echo: shared question", 1.0)],
                               unsent_id=unsent_id)
        finally:
            other.close()
        return run_here(request)
    return run


def test_the_first_to_recover_stores_the_exchange(config, store, fake):
    session_id, _ = stranded(store, fake)
    chat = chat_on(config, store, session_id, adopt=False)
    (unsent,) = chat.stranded()
    turn = chat.recover(unsent=unsent)
    assert turn.reply.content == "queued echo: shared question"
    assert stored(store, session_id) == ["shared question", "queued echo: shared question"]
    assert store.unsent(session_id) == []


def test_a_job_another_segchat_claimed_is_neither_polled_nor_stored(config, store, fake):
    session_id, unsent_id = stranded(store, fake)
    chat = chat_on(config, store, session_id, adopt=False)
    (unsent,) = chat.stranded()
    store._db.execute("UPDATE pending SET owner=? WHERE id=?", (LIVE, unsent_id))  # claimed meanwhile
    with pytest.raises(UnsentTaken):
        chat.recover(unsent=unsent)
    assert polls(fake) == 0 and stored(store, session_id) == []
    chat.send("mine 0")  # and it goes on with its own message
    assert stored(store, session_id) == ["mine 0", "echo: mine 0"]


def test_the_second_commit_stores_nothing_and_continues_from_the_first(config, store, fake):
    session_id, unsent_id = stranded(store, fake)
    chat = chat_on(config, store, session_id, adopt=False)
    (unsent,) = chat.stranded()
    spent, unpriced = chat.ledger.spent, chat.ledger.unpriced
    with pytest.raises(UnsentTaken):
        chat.recover(commit_elsewhere(store, session_id, unsent_id), unsent)
    assert stored(store, session_id) == ["shared question", "queued echo: shared question"]
    assert [m.content for m in chat.conversation.messages] == stored(store, session_id)  # taken in, once
    assert (chat.ledger.spent, chat.ledger.unpriced) == (spent, unpriced)  # the other one's turn, not ours
    chat.send("mine 1")
    sent = fake.chat_requests()[-1].body["messages"]
    assert [m["content"] for m in sent] == ["shared question", "queued echo: shared question", "mine 1"]
    assert stored(store, session_id) == ["shared question", "queued echo: shared question", "mine 1", "echo: mine 1"]


def test_a_repl_retry_racing_a_reopening_says_so_and_stores_once(config, store, fake):
    session_id, unsent_id = stranded(store, fake)
    chat = chat_on(config, store, session_id, adopt=True)
    assert chat.conversation.unsent.text == "shared question"
    out = io.StringIO()
    with create_pipe_input() as pipe:
        repl = Repl(chat, Renderer(out=out, rich_output=False), input=pipe, output=DummyOutput())
    repl.run_request = commit_elsewhere(store, session_id, unsent_id)
    repl.retry()
    assert "another segchat already recovered the reply" in out.getvalue()
    assert out.getvalue().count("another segchat already recovered") == 1
    assert stored(store, session_id) == ["shared question", "queued echo: shared question"]
    assert chat.conversation.unsent is None and len(chat.conversation.messages) == 2


def test_a_repl_opening_a_job_another_segchat_claimed_leaves_it_to_that_one(config, store, fake):
    session_id, unsent_id = stranded(store, fake)
    chat = chat_on(config, store, session_id, adopt=True)
    store._db.execute("UPDATE pending SET owner=? WHERE id=?", (LIVE, unsent_id))
    out = io.StringIO()
    with create_pipe_input() as pipe:
        repl = Repl(chat, Renderer(out=out, rich_output=False), input=pipe, output=DummyOutput())
    repl.recover()
    assert "another segchat already recovered the reply" in out.getvalue()
    assert polls(fake) == 0 and chat.conversation.unsent is None and stored(store, session_id) == []


def test_an_unsent_message_two_chats_adopt_at_once_is_the_first_ones(config, store, fake):
    info = store.create("s")
    unsent_id = store.add_unsent(info.id, UnsentMessage("typed before a crash"))
    store._db.execute("UPDATE pending SET owner=? WHERE id=?", (LIVE, unsent_id))  # another segchat adopted it
    # It lists the message as left by an ended process, then finds it claimed when it takes it.
    original = store.unsent
    store.unsent = lambda session_id: [UnsentMessage("typed before a crash", unsent_id)]
    try:
        chat = chat_on(config, store, info.id, adopt=True)
    finally:
        store.unsent = original
    assert chat.conversation.unsent is None
