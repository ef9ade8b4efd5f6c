"""A session as Markdown, made in pieces that each end a line: for --show, /history and exports."""

from __future__ import annotations

import time

from segchat.errors import StoreError
from segchat.figures import fmt_spent

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing; checkers read it as True
if TYPE_CHECKING:
    from typing import Any, Iterable

    from segchat.model.conversation import Conversation, UnsentMessage
    from segchat.store.session_row import SessionInfo

PIECE = 65536  # characters in a piece, about: each piece keeps its own (often ASCII) string width


def when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))


def model_of(model: str, profile: str | None) -> str:
    """The model, and the profile it was used through when that is not the default."""
    return f"{model} ({profile})" if profile else model


def of_conversation(info: SessionInfo, conversation: Conversation) -> list[str]:
    """The pieces of a conversation held in memory."""
    items = ((m.role, m.content, m.meta or None) for m in conversation.messages)
    return pieces(info, conversation.system, items, conversation.unsent)


def of_rows(info: SessionInfo, rows: Iterable[tuple[str, str, str | None]], unsent: UnsentMessage | None) -> list[str]:
    """The pieces of stored rows (role, content, meta as JSON), as the same conversation loaded would give.

    Markdown shows only two things of a message's meta, so only a meta naming one of them is parsed (the
    store writes keys as they are, never escaped): a long session is shown without building a message per row.
    """
    items = ((role, content, shown_meta(info, meta)) for role, content, meta in rows)
    return pieces(info, info.system, items, unsent)


def shown_meta(info: SessionInfo, meta: Any) -> dict[str, Any] | None:
    """A stored meta as of_rows() reads it: None when it names neither thing Markdown shows."""
    if not meta or (isinstance(meta, str) and '"attachments"' not in meta and '"interrupted"' not in meta):
        return None
    import json  # here: a listing, which imports this module, does without it

    try:  # a meta stored as bytes (another tool's write) is read as loading the session reads it
        value = json.loads(meta)
    except (ValueError, TypeError):
        value = None
    if not isinstance(value, dict):
        raise StoreError(f"session '{info.name}' has a damaged message; the other sessions are unaffected")
    return value


def pieces(info: SessionInfo, system: str | None, items: Iterable[tuple[str, str, dict[str, Any] | None]],
           unsent: UnsentMessage | None) -> list[str]:
    """Raw (unsanitised) Markdown in pieces of about PIECE characters; joined, they are the whole text.
    items: (role, content, meta), meta None when it has nothing to show (the usual case, and the quick one).

    A long text in one string is as wide as its widest character: one emoji makes every character four
    bytes. In pieces, the rest of the text stays narrow, and each piece is sanitised and printed quickly.
    """
    lines = head(info, system)
    groups, size = [lines], 0
    add = lines.extend
    for role, content, meta in items:
        if size > PIECE:
            lines, size = [], 0
            groups.append(lines)
            add = lines.extend
        if meta is None:  # the usual message, written out here: a long session has thousands
            add(("## You" if role == "user" else "## Model", "", content, ""))
        else:
            add(message(role, content, meta))
        size += len(content) + 16
    if unsent:
        lines += unsent_part(unsent)
    # Every piece but the last ends with the line break that "\n".join of all the lines puts there.
    return [*("\n".join(group) + "\n" for group in groups[:-1]), "\n".join(groups[-1])]


def head(info: SessionInfo, system: str | None) -> list[str]:
    """The lines before the messages: title, the session's figures, the system prompt."""
    lines = [f"# {info.title or info.name}", "",
             f"Session `{info.name}`, model `{model_of(info.model, info.profile)}`, started {when(info.created)}, "
             f"{fmt_spent(info.spent, info.unpriced)} credits spent.", ""]
    if system:
        lines += ["## System", "", system, ""]
    return lines


def message(role: str, content: str, meta: dict[str, Any] | None) -> list[str]:
    """A message's lines, as pieces() writes them; meta as shown_meta() gives it."""
    if meta is None:
        return ["## You" if role == "user" else "## Model", "", content, ""]
    who = "You" if role == "user" else "Model (interrupted)" if meta.get("interrupted") else "Model"
    return [f"## {who}", "", content, "", *(_attached(meta) if meta.get("attachments") else ())]


def unsent_part(unsent: UnsentMessage) -> list[str]:
    return ["## You (not sent)", "", unsent.text, "", *_attached(unsent.meta)]


def _attached(meta: dict[str, Any]) -> list[str]:
    """Attached files named compactly: the files travel in JSON exports, not in the Markdown."""
    from segchat.model.attachments import describe, of

    return [f"*Attached: {describe(item)}*" for item in of(meta)] + ([""] if meta.get("attachments") else [])
