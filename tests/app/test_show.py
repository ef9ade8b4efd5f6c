"""--show, /history and exports sanitise long text in pieces cut after line breaks: the same text as sanitising
it whole, wherever a cut falls (a CR before LF, a joiner before an emoji, a lone surrogate)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import segchat.text.sanitize as sanitize_module
from segchat import errors
from segchat.app import sessions, transcript
from segchat.figures import fmt_spent
from segchat.model.attachments import describe, of
from segchat.model.conversation import Conversation, Message, UnsentMessage
from segchat.store import Store
from segchat.text.redact import register_secret
from segchat.text.sanitize import safe, sanitize
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
    for message in conversation.messages:
        who = "You" if message.role == "user" else "Model (interrupted)" if message.interrupted else "Model"
        lines += [f"## {who}", "", message.content, "", *attached(message.meta)]
    if conversation.unsent:
        lines += ["## You (not sent)", "", conversation.unsent.text, "", *attached(conversation.unsent.meta)]
    return sanitize("\n".join(lines))


@settings(max_examples=400, deadline=None)
@given(TEXT, st.integers(1, 12))
def test_sanitising_in_pieces_is_sanitising_whole(text, piece):
    import segchat.text.sanitize as module

    saved, module._PIECE = module._PIECE, piece
    try:
        assert sanitize(text) == module._sanitize_piece(text)  # in pieces, as whole
    finally:
        module._PIECE = saved


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
    """Renderer.page renders once and hands exactly that to the pager."""
    monkeypatch.setenv("COLUMNS", "90")
    monkeypatch.setenv("LINES", "20")
    captured = []
    renderer = Renderer(out=io.StringIO(), rich_output=True)
    monkeypatch.setattr(renderer, "_pager", lambda text: captured.append(text) or True)
    text = sessions.export_markdown(store.create("h"), long_conversation("👍"))
    renderer.page(text)
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
