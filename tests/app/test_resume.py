"""Resuming a long session: the preview of its last exchanges, the work deferred until the toolbar is up, a
damaged message told before anything is shown."""

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
from segchat.model.conversation import Conversation, Message, UnsentMessage
from segchat.providers.segmind import Segmind
from segchat.store import Store
from segchat.tui.repl import PREVIEW_EXCHANGES, Repl
from segchat.ui.render import Renderer

# -- the preview ----------------------------------------------------------------------------------------------

FILE = {"attachments": [{"name": "notes.txt", "text": "a line\n" * 3}]}


@given(st.lists(st.tuples(st.sampled_from(["user", "assistant", "system"]), st.booleans()), max_size=14),
       st.booleans(), st.booleans())
def test_the_preview_shows_the_last_exchanges_the_system_prompt_and_the_unsent_message(rows, system, unsent):
    messages = [Message(role, f"{role} {n}", meta=dict(FILE) if filed else {}) for n, (role, filed) in enumerate(rows)]
    chat = SimpleNamespace(session=SimpleNamespace(name="s"), conversation=Conversation(
        "be brief" if system else None, messages, UnsentMessage("left over") if unsent else None))
    out = io.StringIO()
    Repl.show_context(SimpleNamespace(chat=chat, renderer=Renderer(out=out, rich_output=False)))  # type: ignore
    shown = out.getvalue()
    users = [m for m in messages if m.role == "user"]
    for n, user in enumerate(users):
        line = f"you: {user.content}\n"
        assert (line in shown) == (n >= len(users) - PREVIEW_EXCHANGES), (user.content, shown)
        if user.meta:
            assert (f"{user.content}\n  + notes.txt" in shown) == (line in shown)
    assert ("showing the last 3 exchanges" in shown) == (len(users) > PREVIEW_EXCHANGES)
    assert ("system: be brief" in shown) == system and ("left over" in shown) == unsent
    assert ("Enter sends" in shown) == (not users)


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
