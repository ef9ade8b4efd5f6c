"""Session management shared by the command line flags and the REPL commands."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from segchat.app import transcript
from segchat.app.transcript import model_of, when
from segchat.config.validate import is_any_model
from segchat.errors import StoreError
from segchat.figures import fmt_credits, fmt_spent
from segchat.model.conversation import NOT_WHOLE_MARKS, Conversation, UnsentMessage, shortfall
from segchat.store import Store
from segchat.store.session_row import SessionInfo, check_name, figure
from segchat.text.sanitize import sanitize
from segchat.ui import wording
from segchat.ui.render import Renderer

if TYPE_CHECKING:
    from pathlib import Path

LIST_HEADERS = ("name", "id", "title", "model", "messages", "last used", "spent", "balance")


def list_sessions(store: Store, renderer: Renderer) -> None:
    """Newest first, a line each on a terminal (a title too long is cut short: --show has it whole); plain
    tab-separated columns when piped. A session without credits (its spend is None) leaves spent and balance
    empty."""
    rows = [(name, sid, title or ("(an unsent message)" if unsent else "(untitled)"),
             model_of(model, profile), f"{count} + {unsent} unsent" if unsent else count, when(updated),
             *(("", "") if spent is None and balance is None and not unpriced
               else (fmt_spent(figure(spent), unpriced), fmt_credits(figure(balance)))))
            for sid, name, title, model, updated, spent, balance, unpriced, count, profile, unsent in store.listing()]
    if not rows:
        renderer.notice("no saved sessions yet")
        return
    renderer.table(LIST_HEADERS, rows, shorten=LIST_HEADERS.index("title"))


def show_session(store: Store, ref: str, renderer: Renderer) -> None:
    """The session's Markdown, sanitised as export_markdown() does, then printed as any text is: redaction
    reads the visible text (a header's value after a control character is then seen whole)."""
    info = store.find(ref)
    unsent_messages = store.unsent(info.id)
    with_models = store.mixes_models(info.id)  # the store's answer: no meta is read here for it
    pieces = transcript.pieces(info, info.system, store.messages(info.id, transcript.SHOWN, models=with_models),
                               unsent_messages[-1] if unsent_messages else None, with_models=with_models)
    renderer.plain([sanitize(piece) for piece in pieces])


def export_session(store: Store, ref: str, fmt: str) -> str:
    info = store.find(ref)
    conversation = store.load(info.id)
    if fmt == "json":
        return export_json(info, conversation)
    if fmt == "md":
        return export_markdown(info, conversation)
    raise StoreError(f"unknown export format {fmt!r}: use md or json")


def export_json(info: SessionInfo, conversation: Conversation) -> str:
    data: dict[str, Any] = conversation.to_dict()
    data.update(name=info.name, title=info.title, model=info.model, created=info.created,
                spent=None if info.spent is None else str(info.spent))
    # ensure_ascii: control characters stay escaped, so `cat` of the file is harmless.
    return json.dumps(data, ensure_ascii=True, indent=1) + "\n"


def export_markdown(info: SessionInfo, conversation: Conversation) -> str:
    # Markdown goes to terminals and to files that get cat'ed: stored text is made inert here too.
    return "".join(sanitize(piece) for piece in transcript.of_conversation(info, conversation))


def import_session(store: Store, path: Path, name: str | None = None) -> SessionInfo:
    try:
        data = json.loads(path.read_text("utf-8-sig"))  # an editor's BOM is not a reason to refuse
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise StoreError(f"{path} is not a segchat JSON export: {exc}") from None
    except RecursionError:
        raise StoreError(f"{path} is not a segchat JSON export: it is nested too deeply to read") from None
    if not isinstance(data, dict):
        raise StoreError(f"{path} is not a segchat JSON export: expected an object")
    try:
        conversation = Conversation.from_dict(data)
    except ValueError as exc:
        raise StoreError(f"{path} is not a segchat JSON export: {exc}") from None
    wanted = name or data.get("name")
    wanted = check_name(wanted) if isinstance(wanted, str) else None
    if wanted is not None and wanted in store.names():
        wanted = _free_name(store, f"{wanted[:40]}-imported-{time.strftime('%Y%m%d%H%M%S')}")
    model, title, spent = (str(data.get(k) or "") for k in ("model", "title", "spent"))
    if model and not is_any_model(model):
        raise StoreError(f"{path}: {model[:60]!r} is not a model id; fix or remove the file's \"model\"")
    # An export of a session without credits says so: its spent is null.
    info = store.create(wanted, model=model, system=conversation.system, credits=figure(spent) is not None)
    fields: dict[str, Any] = {"title": title[:200]} if title else {}
    if (value := figure(spent)) is not None:  # the export wrote it as the store keeps it
        fields["spent"] = value
    if conversation.messages:
        store.add_exchange(info.id, conversation.messages, **fields)
    elif fields:
        store.update(info.id, **fields)
    if conversation.unsent:
        store.add_unsent(info.id, UnsentMessage(conversation.unsent.text, meta=conversation.unsent.meta))
    return store.get(info.id)


def _free_name(store: Store, base: str) -> str:
    taken = set(store.names())
    return next(n for n in (base, *(f"{base}-{i}" for i in range(2, 10**6))) if n not in taken)


def search_sessions(store: Store, text: str, renderer: Renderer) -> None:
    hits = store.search(text, NOT_WHOLE_MARKS)
    if not hits:
        renderer.notice(f"no messages match {text!r}")
        return
    rows = []
    for name, role, match, meta in hits:
        mark = wording.shortfall(shortfall(meta)) if role == "assistant" else ""
        rows.append((name, f"{role} ({mark})" if mark else role, match))
    renderer.table(("session", "role", "match"), rows)
