"""Resuming a long session: metas read when first used, the preview paired from the end, the deferred work
run once the toolbar is up. Each is checked against what the plain way gives, errors included."""

from __future__ import annotations

import io
import json
import math
import sqlite3
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from prompt_toolkit.renderer import CPR_Support
from support.cli import KEY
from support.store_rows import DAMAGED, GOOD, insert, reference_load, same

from segchat.engine.chat import Chat
from segchat.errors import StoreError
from segchat.model import attachments
from segchat.model.attachments import describe
from segchat.model.conversation import Conversation, Message, UnsentMessage
from segchat.providers.segmind import Segmind
from segchat.tui.repl import PREVIEW_EXCHANGES, Repl
from segchat.ui.render import Renderer

# -- metas read on first use -------------------------------------------------------------------------


def test_a_lazy_load_gives_what_json_loads_gives_when_asked(store):
    info = store.create("odd")
    insert(store, info.id, GOOD)
    lazy, expected = store.load(info.id, lazy=True), reference_load(store, info.id)
    assert [(m.id, m.role, m.content, m.created) for m in lazy.messages] == [(m.id, m.role, m.content, m.created)
                                                                             for m in expected]
    for got, want in zip(lazy.messages, expected, strict=True):
        assert type(got.meta) is type(want.meta) and same(got.meta, want.meta), (got.meta, want.meta)
        assert got.meta is got.meta  # read once: a change made to it stays
    assert math.isnan(lazy.messages[12].meta) and lazy.messages[16].meta == {"bytes": "a blob"}


def test_a_lazy_load_equals_the_whole_load(store):
    info = store.create("long")
    messages = [Message(("user", "assistant")[n % 2], f"message {n}", float(n),
                        {"usage": {"total_tokens": n}} if n % 2 else {}) for n in range(400)]
    store.add_exchange(info.id, messages)
    lazy = store.load(info.id, lazy=True)
    assert lazy == store.load(info.id) and lazy.messages == messages == reference_load(store, info.id)


@pytest.mark.parametrize("meta", DAMAGED)
def test_a_damaged_meta_read_later_is_the_same_error(store, meta):
    info = store.create("broken")
    insert(store, info.id, ["{}", meta, "{}"])
    with pytest.raises(StoreError) as whole:
        store.load(info.id)
    lazy = store.load(info.id, lazy=True)  # nothing read yet: nothing refused yet
    with pytest.raises(StoreError) as later:
        lazy.read_metas()
    assert str(later.value) == str(whole.value) and "session 'broken'" in str(later.value)
    with pytest.raises(StoreError):
        _ = lazy.messages[1].meta  # still refused, never half read
    assert lazy.messages[0].meta == {} == lazy.messages[2].meta


def test_a_message_is_still_the_dataclass_it_was():
    a, b = Message("user", "hi", 1.0, {"k": 1}, id=3), Message("user", "hi", 1.0, {"k": 1}, id=4)
    assert a == b and a != Message("user", "hi", 1.0, {"k": 2}) and (a == "x") is False
    assert repr(a) == "Message(role='user', content='hi', created=1.0, meta={'k': 1}, id=3)"
    assert Message("user", "x").meta == {} and Message("user", "x").meta is not Message("user", "x").meta
    assert Message("user", "x", None, None).meta is None  # an explicit meta is kept as given
    with pytest.raises(TypeError):
        hash(a)
    match a:
        case Message("user", text, _, meta):
            assert (text, meta) == ("hi", {"k": 1})
    a.meta = {"new": True}
    assert a.meta == {"new": True} and a.to_dict()["meta"] == {"new": True}


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


# -- a REPL start over a lazily loaded session -----------------------------------------------------


def long_session(store, config, metas: dict[int, str] | None = None, count: int = 40) -> Chat:
    """A session of count messages, the third from the start with a file; metas replaces stored metas by row."""
    info = fill(store, config.model, metas or {}, count)
    client = Segmind(config.base_url, config.model, KEY, timeout=config.timeout, sleep=lambda s: None)
    return Chat(config, client, store, store.get(info.id), lazy=True)


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


def test_the_metas_are_all_read_once_the_prompt_is_up(store, config, fake):
    chat = long_session(store, config)
    assert chat.conversation.messages[2]._read is not None  # not read for the first screen
    out, failed = start(chat)
    assert failed is None and out.endswith("[ready]\n")
    assert all(m._read is None for m in chat.conversation.messages)


def test_what_a_lazily_loaded_chat_sends_is_the_whole_conversation(store, config, fake):
    chat = long_session(store, config)
    expected = store.load(chat.session.id).payload()
    out, failed = start(chat, "one more\r")
    assert failed is None and "echo: one more" in out
    assert fake.chat_requests()[-1].body["messages"] == [*expected, {"role": "user", "content": "one more"}]
    assert "notes.txt" in expected[2]["content"]  # the file of an early message goes with it


@pytest.mark.parametrize("row", [36, 39])  # a user message the preview shows; the reply the toolbar reads
def test_a_damaged_meta_the_first_screen_reads_is_told_before_anything_is_shown(store, config, fake, row):
    chat = long_session(store, config, {row: "{bad"})
    out, failed = start(chat, "hello\r")
    assert isinstance(failed, StoreError) and "damaged message" in str(failed)
    assert out == "" and not fake.chat_requests()


def test_a_damaged_earlier_meta_ends_the_start_before_any_input(store, config, fake):
    chat = long_session(store, config, {5: "{bad"})
    with pytest.raises(StoreError) as whole:
        store.load(chat.session.id)
    out, failed = start(chat, "hello\r")
    assert isinstance(failed, StoreError) and str(failed) == str(whole.value)
    assert "[ready]" not in out and not fake.chat_requests()  # nothing typed was taken


def test_a_store_that_fails_while_loading_still_fails_first(store, config, fake):
    chat = long_session(store, config)
    store._db.execute("UPDATE messages SET content=CAST(X'FF' AS TEXT) WHERE id=(SELECT min(id) FROM messages)")
    with pytest.raises(sqlite3.OperationalError):  # not deferred: every row is still fetched up front
        store.load(chat.session.id, lazy=True)


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


@pytest.mark.parametrize("row", [3, 38])  # read after the first screen; read for it
def test_a_session_with_a_damaged_message_still_ends_with_its_error(cli_env, fake, row):
    from pathlib import Path

    from support.screen import Terminal

    from segchat.store import Store

    store = Store(Path(cli_env["XDG_DATA_HOME"]) / "segchat" / "sessions.db")
    fill(store, "llama-v3p1-8b-instruct", {row: "{bad"}, 40)
    store.close()
    t = Terminal(["--session", "long"], cli_env)
    try:
        screen = t.wait_for("has a damaged message; the other sessions are unaffected")
        assert t.wait_exit() == 1 and "session 'long'" in screen and not fake.chat_requests()
    finally:
        t.close()
