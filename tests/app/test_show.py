"""--show, /history and exports: one Markdown writer, its text sanitised in pieces cut after line breaks. What
--show prints is what the simplest way prints (every stored row read by hand, the Markdown written whole,
sanitised, then printed as plain text), errors included."""

from __future__ import annotations

import io
import itertools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.repl import make_repl

import segchat.text.sanitize as sanitize_module
from segchat import errors
from segchat.app import sessions, transcript
from segchat.figures import fmt_spent
from segchat.model.attachments import Attachment, describe, of
from segchat.model.conversation import Conversation, Message, UnsentMessage
from segchat.store import Store
from segchat.text.redact import forget_secrets, register_secret
from segchat.text.sanitize import safe, sanitize
from segchat.tui.commands.sessions import cmd_history
from segchat.ui import pager
from segchat.ui.render import Renderer

PIECES = st.sampled_from(["a", "b ", "\n", "\r", "\r\n", "\t", "\x1b", "\x00", "\x85", "\u200b", "\u200c", "\u200d",
                          "👍", "👨", "\u0627", "\u0915", "\u0301", "\ufeff", "\ud800", "…", "日", "x-api-key: ",
                          "bearer ", "abcdefghijklmnopqrstu"])
TEXT = st.lists(PIECES, max_size=40).map("".join)


def reference_markdown(info: Any, conversation: Conversation) -> str:
    """export_markdown as it was: every line joined, then sanitised whole."""
    def attached(meta: dict[str, Any]) -> list[str]:
        return [f"*Attached: {describe(item)}*" for item in of(meta)] + ([""] if meta.get("attachments") else [])

    lines = [f"# {info.title or info.name}", "",
             f"Session `{info.name}`, model `{transcript.model_of(info.model, info.profile)}`, "
             f"started {transcript.when(info.created)}, "
             f"{fmt_spent(info.spent, info.unpriced)} credits spent.", ""]
    if conversation.system:
        lines += ["## System", "", conversation.system, ""]
    models = [m.meta.get("model") for m in conversation.messages if m.role == "assistant"]
    named = len({m for m in models if isinstance(m, str)}) > 1
    for message in conversation.messages:
        lines += [f"## {reference_heading(message, named)}", "", message.content, "", *attached(message.meta)]
    if conversation.unsent:
        lines += ["## You (not sent)", "", conversation.unsent.text, "", *attached(conversation.unsent.meta)]
    return sanitize("\n".join(lines))


def reference_heading(message: Message, named: bool = False) -> str:
    """A message's heading: a reply that is not whole says how, the user's stop first, then a length limit; in a
    session whose replies name more than one model (named), each reply names its own, when it names one (a
    message stored with the system role names none: only replies have a model)."""
    if message.role == "user":
        return "You"
    meta = message.meta
    mark = ("interrupted" if meta.get("interrupted") else "stopped at the length limit"
            if meta.get("finish_reason") == "length" else "cut off" if meta.get("incomplete") else "")
    model = meta.get("model")
    who = f"Model: {model}" if named and message.role == "assistant" and isinstance(model, str) and model \
        else "Model"
    return f"{who} ({mark})" if mark else who


def reference_show(store: Store, name: str) -> tuple[str, str | None]:
    """--show made the simplest way, and how it failed: the stored rows read by hand, each meta by json.loads
    (a session with one that is no JSON object is refused), the Markdown written whole, printed as plain text."""
    try:
        info = store.find(name)
        messages = []
        for role, content, meta in store._db.execute("SELECT role, content, meta FROM messages WHERE session_id=? "
                                                     "ORDER BY id", (info.id,)):
            try:
                value = json.loads(meta) if meta else {}
            except (ValueError, RecursionError):
                value = None
            if not isinstance(value, dict):
                raise errors.StoreError("a damaged message")
            messages.append(Message(role, content, None, value))
        unsent = store.unsent(info.id)
        text = safe(reference_markdown(info, Conversation(info.system, messages, unsent[-1] if unsent else None)))
    except Exception as exc:  # noqa: BLE001 - the same failure is expected of --show
        return "", failure(exc)
    return text + "\n", None


def failure(exc: Exception) -> str:
    return "damaged" if isinstance(exc, errors.StoreError) and "damaged message" in str(exc) else type(exc).__name__


def shown(store: Store, name: str, *, as_bytes: bool = False) -> tuple[str, str | None]:
    """--show's output and how it failed: onto a text stream, or onto a UTF-8 stream's bytes as on a real stdout."""
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", newline="\n") if as_bytes else io.StringIO()
    try:
        sessions.show_session(store, name, Renderer(out=out, rich_output=False))
    except Exception as exc:  # noqa: BLE001
        return "", failure(exc)
    out.flush()
    return (raw.getvalue().decode() if as_bytes else out.getvalue()), None


def assert_shown_as_the_reference(store: Store, name: str) -> None:
    expected = reference_show(store, name)
    assert shown(store, name) == expected
    assert shown(store, name, as_bytes=True) == expected


@settings(max_examples=400, deadline=None)
@given(TEXT, st.integers(1, 12))
def test_sanitising_in_pieces_is_sanitising_whole(text, piece):
    saved, sanitize_module._PIECE = sanitize_module._PIECE, piece
    try:
        assert sanitize(text) == sanitize_module._sanitize_piece(text)  # in pieces, as whole
    finally:
        sanitize_module._PIECE = saved


BOUNDARY = 65536  # plain() cuts after the first line break at least this far into the text


@settings(max_examples=150, deadline=None)
@given(TEXT, st.integers(-6, 6))
def test_plain_is_safe_text_wherever_the_cut_falls(tail, shift):
    text = "é" + "x" * (BOUNDARY + shift - 1) + tail + "\n" + "y" * 100 + tail
    out = io.StringIO()
    Renderer(out=out, rich_output=False).plain(text)
    assert out.getvalue() == safe(text) + "\n"


@pytest.mark.parametrize("pair", ["\r\n", "\u200d👍", "\u200c\u0627", "\u200d\n", "\r\r\n", "a\ud800"])
@pytest.mark.parametrize("at", range(BOUNDARY - 3, BOUNDARY + 3))
def test_plain_keeps_pairs_whole_across_the_cut(pair, at):
    """A pair of characters sanitize reads together, straddling every place a cut could be made."""
    text = "…" + "x" * (at - 1) + pair + "y" * 10 + "\n" + "z" * 10 + pair
    out = io.StringIO()
    Renderer(out=out, rich_output=False).plain(text)
    assert out.getvalue() == safe(text) + "\n"


def test_plain_redacts_across_the_whole_text(monkeypatch):
    register_secret("sk-long-secret-value")
    text = "a" * (BOUNDARY - 5) + "\nAuthorization:\n  hunter2-value\n" + "b" * BOUNDARY + "sk-long-secret-value\r\n"
    out = io.StringIO()
    Renderer(out=out, rich_output=False).plain(text)
    assert out.getvalue() == safe(text) + "\n"
    assert "hunter2" not in out.getvalue() and "sk-long" not in out.getvalue()


def long_conversation(tricky: str) -> Conversation:
    messages = []
    for n in range(1000):
        body = f"message {n} " + "plain words " * 30
        if n % 37 == 0:
            body += tricky
        meta = {"interrupted": True} if n % 50 == 1 else {}
        if n % 90 == 0:
            meta = {"attachments": [{"name": f"f{n}.txt", "text": "file body\n"}]}
        messages.append(Message("user" if n % 2 == 0 else "assistant", body, float(n), meta))
    unsent = UnsentMessage("not sent \x1b[2J", meta={"attachments": [{"name": "p.md", "text": "x"}]})
    return Conversation("system \u202e prompt\r\n", messages, unsent)


@pytest.mark.parametrize("tricky", ["", "\r", "\r\n", "\u200d", "\u200d👍", "👨\u200d👩", "\ud800", "日本語",
                                    "\x1b]0;title\x07", "\u200c\u0627", "tail\r"])
def test_export_markdown_is_the_whole_text_sanitised(store, tricky):
    info = store.create("long", model="m", profile="p\x1b")
    store.update(info.id, title="a title… with \u200b", spent="12.5", unpriced=2)
    info = store.get(info.id)
    conversation = long_conversation(tricky)
    text = sessions.export_markdown(info, conversation)
    assert len(text) > 3 * sanitize_module._PIECE  # cut in several pieces
    assert text == reference_markdown(info, conversation)


def test_show_prints_the_same_text(store):
    info = store.create("shown")
    conversation = long_conversation("\r\u200d")
    store.add_exchange(info.id, conversation.messages)
    out = io.StringIO()
    sessions.show_session(store, "shown", Renderer(out=out, rich_output=False))
    loaded = store.load(info.id)
    assert out.getvalue() == safe(reference_markdown(store.get(info.id), loaded)) + "\n"


def test_history_pages_the_same_rendering(store, monkeypatch):
    """pager.page renders once and hands exactly that to the pager."""
    monkeypatch.setenv("COLUMNS", "90")
    monkeypatch.setenv("LINES", "20")
    captured = []
    renderer = Renderer(out=io.StringIO(), rich_output=True)
    monkeypatch.setattr(pager, "run_pager", lambda text, out: captured.append(text) or True)
    text = sessions.export_markdown(store.create("h"), long_conversation("👍"))
    pager.page(renderer, text)
    reference = Renderer(out=io.StringIO(), rich_output=True)
    with reference.console.capture() as capture:
        reference.console.print(reference.markdown(sanitize(text)))
    assert captured == [capture.get()]


def test_a_long_store_round_trip(tmp_path):
    store = Store(tmp_path / "s.db")
    info = store.create("rt")
    conversation = long_conversation("\u200d👍 \r\n")
    store.add_exchange(info.id, conversation.messages)
    loaded = store.load(info.id)
    assert sessions.export_markdown(store.get(info.id), loaded) == reference_markdown(store.get(info.id), loaded)
    store.close()


def test_show_refuses_a_damaged_message_that_it_must_read(store):
    info = store.create("damaged")
    store.add_exchange(info.id, [Message("user", "hi"), Message("assistant", "yo")])
    store._db.execute("UPDATE messages SET meta='{\"attachments\": [' WHERE role='user'")
    with pytest.raises(errors.StoreError, match="damaged message"):
        sessions.show_session(store, "damaged", Renderer(out=io.StringIO(), rich_output=False))


def test_show_redacts_the_text_it_shows(store):
    """A header echo with a control character before its value: hidden as in the sanitised text."""
    info = store.create("echo")
    store.add_exchange(info.id, [Message("user", "curl -H 'x-api-key: '\x0bsk-live-0123456789abcdef'"),
                                 Message("assistant", "ok")])
    out = io.StringIO()
    sessions.show_session(store, "echo", Renderer(out=out, rich_output=False))
    assert out.getvalue() == safe(reference_markdown(store.get(info.id), store.load(info.id))) + "\n"
    assert "curl -H 'x-api-key: '***" in out.getvalue()  # the message; its title is made of it differently


@pytest.mark.parametrize("meta, shown", [("CAST(meta AS BLOB)", True), ("X'7B626164'", False),
                                         ("'{\"interrupted\": tru'", False), ("'[\"interrupted\"]'", False)])
def test_show_reads_odd_stored_metas_as_loading_does(store, meta, shown):
    info = store.create("odd")
    store.add_exchange(info.id, [Message("user", "hello"), Message("assistant", "hi", meta={"interrupted": True})])
    store._db.execute(f"UPDATE messages SET meta={meta} WHERE role='assistant'")
    out = io.StringIO()
    if shown:
        sessions.show_session(store, "odd", Renderer(out=out, rich_output=False))
        assert "## Model (interrupted)" in out.getvalue()
    else:
        with pytest.raises(errors.StoreError, match="damaged message"):
            sessions.show_session(store, "odd", Renderer(out=out, rich_output=False))


# -- --show of what a store may hold ------------------------------------------------------------------

SHOW_PIECES = st.sampled_from(["a", "b ", "\n", "\r", "\r\n", "\t", "\x1b", "\x00", "\x85", "\u200b", "\u200c",
                               "\u200d", "👍", "\u0627", "\ufeff", "…", "日", "x-api-key: ", "X-Api-\u212aey",
                               "Authorization", "bearer ", "abcdefghijklmnopqrstu", "sk-live-secret", "## You",
                               "\"attachments\""])
SHOW_TEXT = st.lists(SHOW_PIECES, max_size=12).map("".join)
# Metas as a store holds them: JSON the store wrote, and what another tool may have written instead (a damaged
# one names what the Markdown shows: see test_a_damaged_meta_that_shows_nothing_is_passed_over).
METAS = st.sampled_from([None, {}, {"usage": {"total_tokens": 5}, "cost": "0.1"}, {"interrupted": True},
                         {"incomplete": "the connection dropped"}, {"finish_reason": "length"},
                         {"finish_reason": "stop"}, {"interrupted": True, "incomplete": "interrupted"},
                         {"interrupted": False}, {"attachments": [{"name": "a.txt", "text": "body\n"}]},
                         {"attachments": []}, "raw:", "raw:{}", "raw:{\"interrupted\": tru", "raw:[\"interrupted\"]",
                         "raw:{\"note\": \"attachments\"}", "blob:{\"interrupted\": true}", "blob:", "blob:{}",
                         "raw:{\"incomplete\": \"x\"", "raw:{\"finish_reason\": \"length\"}",
                         "blob:{bad", {"model": "gpt-4o"}, {"model": "claude-4.5-sonnet", "finish_reason": "length"},
                         {"model": ""}, {"model": 5}, {"model": {"id": "x"}}, "raw:{\"model\": \"m\"}",
                         "blob:{\"model\": \"gemini-2.5-flash\", \"interrupted\": true}",
                         "raw:{\"model\": \"x\", \"incomplete\": \"y\""])
MESSAGES = st.lists(st.tuples(st.sampled_from(["user", "assistant", "system"]), SHOW_TEXT, METAS), max_size=8)
names = itertools.count()


def make_session(store: Store, messages: list, unsent: tuple[str, dict] | None = None, system: str | None = None,
                 title: str = "") -> str:
    name = f"s{next(names)}"
    info = store.create(name, model="m", system=system)
    if title:
        store.update(info.id, title=title)
    if messages:
        store.add_exchange(info.id, [Message(role, content, 0.0, meta if isinstance(meta, dict) else {})
                                     for role, content, meta in messages])
    ids = [row[0] for row in store._db.execute("SELECT id FROM messages WHERE session_id=? ORDER BY id", (info.id,))]
    for row_id, (_, _, meta) in zip(ids, messages, strict=True):
        if isinstance(meta, str):  # written by another tool: as it is, as text or as bytes
            kind, value = meta.split(":", 1)
            store._db.execute("UPDATE messages SET meta=? WHERE id=?",
                              (value if kind == "raw" else value.encode(), row_id))
    if unsent:
        store.add_unsent(info.id, UnsentMessage(unsent[0], meta=unsent[1]))
    return name


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(MESSAGES, st.one_of(st.none(), st.tuples(SHOW_TEXT, st.sampled_from([{}, {"attachments": [{"name": "p.md"}]}]))),
       st.one_of(st.none(), SHOW_TEXT), SHOW_TEXT, st.booleans())
def test_show_prints_what_the_simplest_way_prints(store, monkeypatch, messages, unsent, system, title, secret):
    forget_secrets()  # each example starts with none
    if secret:
        register_secret("sk-live-secret")
    assert_shown_as_the_reference(store, make_session(store, messages, unsent, system or None, title))


@pytest.mark.parametrize("tricky", ["\x1b[2J", "x-api-key: sk-abcdef", "\r\n", "👨\u200d👩",
                                    "Bearer abcdefghijklmnopqrstu", "\r"])
def test_a_long_session_that_needs_changing(store, tricky):
    """Sanitised and redacted in pieces (a long text, the piece boundaries cut after line breaks)."""
    messages = [("user" if n % 2 == 0 else "assistant",
                 f"message {n} " + "words " * 30 + (tricky if n % 300 == 7 else ""),
                 {"attachments": [{"name": "f.txt", "text": "x"}]} if n % 500 == 0 else {}) for n in range(2000)]
    assert_shown_as_the_reference(store, make_session(store, messages, ("not sent", {}), "be brief", "a title…"))


def test_messages_come_in_their_order(store):
    """Ids given out of order (the lowest and highest there are among them), another session's messages
    between: shown in the order of their ids."""
    info = store.create("ordered", model="m")
    other = store.create("other", model="m")
    for row_id, session in ((50, info), (10, other), (30, info), (20, info), (40, other), (-(2**63), info),
                            (2**63 - 1, info)):
        store._db.execute("INSERT INTO messages(id, session_id, role, content, created, meta) VALUES (?,?,?,?,?,?)",
                          (row_id, session.id, "user", f"message {row_id}", 0.0,
                           json.dumps({"interrupted": True}) if row_id == 30 else None))
    assert_shown_as_the_reference(store, "ordered")
    text = shown(store, "ordered", as_bytes=True)[0]
    assert [line for line in text.splitlines() if line.startswith("message")] == [
        f"message {-(2**63)}", "message 20", "message 30", "message 50", f"message {2**63 - 1}"]


@pytest.mark.parametrize("value", ["CAST('plain' AS BLOB)", "CAST(x'ff' AS TEXT)", "CAST(x'c3' AS TEXT) || 'a'",
                                   "'a' || char(0) || 'b'"])
def test_content_another_tool_wrote(store, value):
    """Not text, not UTF-8, a NUL: the text sanitised, or the error the simplest way meets."""
    name = make_session(store, [("user", "hello", None), ("assistant", "hi", {"interrupted": True})])
    store._db.execute(f"UPDATE messages SET content={value} WHERE role='user'")
    assert_shown_as_the_reference(store, name)


@pytest.mark.parametrize("encoding", ["latin-1", "ascii", "utf-16"])
def test_a_stream_in_another_encoding_gets_the_text(store, encoding):
    name = make_session(store, [("user", "café … 日本 👍", None), ("assistant", "ok", {"interrupted": True})])
    expected = reference_show(store, name)[0]
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="\n")
    sessions.show_session(store, name, Renderer(out=out, rich_output=False))
    out.flush()
    assert raw.getvalue() == expected.encode(encoding, "replace")


@pytest.mark.parametrize("meta", ["{bad", "5", '{"cost": 1,}'])
def test_a_damaged_meta_that_shows_nothing_is_passed_over(store, meta):
    """--show reads a meta only when its JSON names what the Markdown shows; loading the session (to resume or
    export it) reads them all, and refuses it."""
    name = make_session(store, [("user", "hello", None), ("assistant", "hi", None)])
    store._db.execute("UPDATE messages SET meta=? WHERE role='assistant'", (meta,))
    text, failed = shown(store, name)
    assert failed is None and "## You\n\nhello\n\n## Model\n\nhi\n" in text
    with pytest.raises(errors.StoreError, match="damaged message"):
        sessions.export_session(store, name, "md")


def test_an_attached_file_s_odd_name_is_one_line_in_history_show_and_exports(make_chat, fake, store):
    """A file's name may hold line breaks and controls: the Markdown names it on one line, made visible."""
    out = io.StringIO()
    chat = make_chat()
    repl = make_repl(chat, out)
    repl.attach([Attachment("two\nlines\t\x1b[2Jname.txt", "the body\n")])
    repl.send("look")
    cmd_history(repl, "")
    line = "*Attached: two^Jlines^I^[[2Jname.txt (9 B, ~10 tokens)*"
    assert line in out.getvalue().splitlines() and "\x1b" not in out.getvalue()
    shown = io.StringIO()
    sessions.show_session(store, chat.session.name, Renderer(out=shown, rich_output=False))
    assert line in shown.getvalue().splitlines()
    assert line in sessions.export_session(store, chat.session.name, "md").splitlines()


def test_a_message_stored_with_the_system_role_names_no_model(store):
    """Only replies have a model: --show and the exports agree on a system-role message that has one in its meta."""
    name = make_session(store, [("assistant", "", {"model": "gpt-4o"}), ("assistant", "", 'raw:{"model": "m"}'),
                                ("system", "", {"model": "gpt-4o"})])
    assert_shown_as_the_reference(store, name)
    out = io.StringIO()
    sessions.show_session(store, name, Renderer(out=out, rich_output=False))
    assert out.getvalue().count("## Model: ") == 2 and "## Model\n" in out.getvalue()
    assert sessions.export_session(store, name, "md").count("## Model: ") == 2
