"""Resuming a long session: the preview paired from the end, the deferred work run once the toolbar is up, a
damaged message told before anything is shown. Each is checked against what the plain way gives."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from prompt_toolkit.renderer import CPR_Support
from support.cli import KEY
from support.screen import Terminal

from segchat.config.paths import store_path
from segchat.engine.chat import Chat
from segchat.errors import StoreError
from segchat.model import attachments
from segchat.model.attachments import describe
from segchat.model.conversation import Conversation, Message, UnsentMessage
from segchat.providers.segmind import Segmind
from segchat.store import Store
from segchat.tui.repl import PREVIEW_EXCHANGES, Repl
from segchat.ui.render import Renderer

# -- the preview, paired from the end -----------------------------------------------------------------

roles = st.lists(st.sampled_from(["user", "assistant", "system"]), max_size=40)


@given(roles, st.integers(min_value=1, max_value=5))
def test_recent_is_the_end_of_exchanges(sequence, count):
    conversation = Conversation(None, [Message(role, f"{role} {n}") for n, role in enumerate(sequence)])
    pairs = conversation.exchanges()
    recent, more = conversation.recent(count)
    assert [tuple(map(id, pair)) for pair in recent] == [tuple(map(id, pair)) for pair in pairs[-count:]]
    assert more == (len(pairs) > count)


def old_show_context(chat, r) -> None:
    """show_context as it was: every exchange paired, then the last few written."""
    conversation = chat.conversation
    pairs = conversation.exchanges()
    if pairs:
        hidden = len(pairs) - PREVIEW_EXCHANGES
        r.notice(f"session '{chat.session.name}': {len(conversation.messages)} messages"
                 + (f", showing the last {PREVIEW_EXCHANGES} exchanges (/history shows all)" if hidden > 0 else ""))
        for user, reply in pairs[-PREVIEW_EXCHANGES:]:
            r.exchange("user", user.content + "".join(f"\n  + {describe(f)}" for f in attachments.of(user.meta)))
            if reply is not None:
                r.exchange("assistant", reply.content)
    if conversation.system:
        r.exchange("system", conversation.system, limit=200)
    if conversation.unsent:
        r.warning(f"unsent message from last time: {conversation.unsent.text[:200]!r}; /retry sends it")
    if not pairs:
        r.notice("segchat — Enter sends, Alt-Enter adds a line, /help lists commands, Ctrl-D quits")


FILE = {"attachments": [{"name": "notes.txt", "text": "a line\n" * 3}]}


@given(st.lists(st.tuples(st.sampled_from(["user", "assistant", "system"]), st.booleans()), max_size=14),
       st.booleans(), st.booleans())
def test_the_preview_is_written_as_before(rows, system, unsent):
    chat = SimpleNamespace(session=SimpleNamespace(name="s"), conversation=Conversation(
        "be brief" if system else None, [Message(role, f"{role} {n}", meta=dict(FILE) if filed else {})
                                         for n, (role, filed) in enumerate(rows)],
        UnsentMessage("left over") if unsent else None))
    new, old = io.StringIO(), io.StringIO()
    Repl.show_context(SimpleNamespace(chat=chat, renderer=Renderer(out=new, rich_output=True)))  # type: ignore
    old_show_context(chat, Renderer(out=old, rich_output=True))
    assert new.getvalue() == old.getvalue()


# -- a REPL start over a long session -------------------------------------------------------------


def long_session(store, config, metas: dict[int, str] | None = None, count: int = 40) -> Chat:
    """A session of count messages, the third from the start with a file; metas replaces stored metas by row."""
    info = fill(store, config.model, metas or {}, count)
    client = Segmind(config.base_url, config.model, KEY, timeout=config.timeout, sleep=lambda s: None)
    return Chat(config, client, store, store.get(info.id))


def fill(store, model: str, metas: dict[int, str], count: int):
    info = store.create("long", model=model)
    store.add_exchange(info.id, [Message(("user", "assistant")[n % 2], f"text {n}", float(n),
                                         dict(FILE) if n == 2 else {"usage": {"total_tokens": 7 * n}} if n % 2
                                         else {}) for n in range(count)])
    for n, meta in metas.items():
        store._db.execute("UPDATE messages SET meta=? WHERE id=(SELECT min(id) + ? FROM messages "
                          "WHERE session_id=?)", (meta, n, info.id))
    return info


def start(chat, keys: str = "") -> tuple[str, Exception | None]:
    out = io.StringIO()
    with create_pipe_input() as pipe:
        pipe.send_text(keys + "\x04")
        repl = Repl(chat, Renderer(out=out, rich_output=False), input=pipe, output=DummyOutput())
        try:
            repl.run(on_ready=lambda: out.write("[ready]\n"))
        except Exception as exc:
            return out.getvalue(), exc
    return out.getvalue(), None


def test_a_resumed_chat_sends_the_whole_conversation(store, config, fake):
    chat = long_session(store, config)
    expected = store.load(chat.session.id).payload()
    out, failed = start(chat, "one more\r")
    assert failed is None and "echo: one more" in out
    assert fake.chat_requests()[-1].body["messages"] == [*expected, {"role": "user", "content": "one more"}]
    assert "notes.txt" in expected[2]["content"]  # the file of an early message goes with it


@pytest.mark.parametrize("row", [5, 36, 39])  # an early message; a user message the preview shows; the last reply
def test_a_damaged_meta_is_told_before_anything_is_shown(store, config, fake, row):
    with pytest.raises(StoreError) as failed:
        long_session(store, config, {row: "{bad"})
    assert "session 'long'" in str(failed.value) and "damaged message" in str(failed.value)
    assert not fake.chat_requests()


# -- the deferred work waits for the toolbar ----------------------------------------------------------


class FakeRenderer:
    def __init__(self, known: bool, cpr: CPR_Support) -> None:
        self.height_is_known, self.cpr_support = known, cpr


def test_deferred_work_runs_once_the_toolbar_can_be_drawn(make_chat):
    repl = Repl(make_chat(), Renderer(out=io.StringIO(), rich_output=False), output=DummyOutput())
    app, ran = repl.prompt.app, []
    repl._after_first_render(lambda: ran.append(1))()
    renderer = app.renderer
    try:
        app.renderer = FakeRenderer(False, CPR_Support.UNKNOWN)  # the terminal has not answered yet
        app.after_render.fire()
        assert ran == []
        app.renderer = FakeRenderer(True, CPR_Support.SUPPORTED)  # answered: this drawing had the toolbar
        app.after_render.fire()
        app.after_render.fire()
        assert ran == [1]
        repl._after_first_render(lambda: ran.append(2))()
        app.renderer = FakeRenderer(False, CPR_Support.NOT_SUPPORTED)  # no answer will come: no toolbar either
        app.after_render.fire()
        assert ran == [1, 2]
    finally:
        app.renderer = renderer


def test_the_toolbar_figure_is_read_before_the_screen(store, config, fake):
    chat = long_session(store, config, {39: json.dumps({"usage": {"total_tokens": 12345}})})
    out, failed = start(chat)
    assert failed is None and chat.context_tokens() == 12345


def test_a_session_with_a_damaged_message_ends_with_its_error(cli_env, fake):
    store = Store(store_path())  # the store the child opens: cli_env keeps this test's XDG dirs
    fill(store, "llama-v3p1-8b-instruct", {3: "{bad"}, 40)
    store.close()
    t = Terminal(["--session", "long"], cli_env)
    try:
        screen = t.wait_for("has a damaged message; the other sessions are unaffected")
        assert t.wait_exit() == 1 and "session 'long'" in screen and not fake.chat_requests()
    finally:
        t.close()
