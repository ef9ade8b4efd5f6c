"""A session as Markdown, the one writer of it for --show, /history and exports: raw (unsanitised) text in
pieces that each end a line."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from segchat.figures import fmt_spent
from segchat.model.attachments import describe, of
from segchat.model.conversation import NOT_WHOLE_MARKS, shortfall
from segchat.ui import wording

if TYPE_CHECKING:
    from collections.abc import Iterable

    from segchat.model.conversation import Conversation, UnsentMessage
    from segchat.store.session_row import SessionInfo

PIECE = 65536  # characters in a piece, about
# What in a message's stored meta (its JSON text) the Markdown shows: attached files, a reply not whole.
SHOWN = ('"attachments"', *NOT_WHOLE_MARKS)


def when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))


def model_of(model: str, profile: str | None) -> str:
    """The model, and the profile it was used through when that is not the default."""
    return f"{model} ({profile})" if profile else model


def of_conversation(info: SessionInfo, conversation: Conversation) -> list[str]:
    """The pieces of a conversation held in memory."""
    models = {m.meta["model"] for m in conversation.messages
              if m.role == "assistant" and isinstance(m.meta.get("model"), str)}
    messages = ((m.role, m.content, m.meta) for m in conversation.messages)
    return pieces(info, conversation.system, messages, conversation.unsent, with_models=len(models) > 1)


def pieces(info: SessionInfo, system: str | None, messages: Iterable[tuple[str, str, dict[str, Any]]],
           unsent: UnsentMessage | None, *, with_models: bool = False) -> list[str]:
    """The session's Markdown in pieces of about PIECE characters; joined, they are the whole text, which does
    not end in a line break. messages: (role, content, meta); of a meta only what SHOWN marks is read, and with
    with_models (the session's replies came from more than one model) a reply's model, which its heading names.

    A long text in one string is as wide as its widest character: one emoji makes every character four
    bytes. In pieces, the rest of the text stays narrow, and each piece is sanitised and printed on its own.
    """
    lines = head(info, system)
    groups, size = [lines], 0
    for role, content, meta in messages:
        if size > PIECE:
            lines, size = [], 0
            groups.append(lines)
        lines += message_lines(role, content, meta, with_model=with_models)
        size += len(content) + 16
    if unsent:
        lines += unsent_lines(unsent)
    # Every piece but the last ends with the line break that "\n".join of all the lines puts there.
    return [*("\n".join(group) + "\n" for group in groups[:-1]), "\n".join(groups[-1])]


def head(info: SessionInfo, system: str | None) -> list[str]:
    """The lines before the messages: title, the session's figures, the system prompt."""
    spent = "" if info.spent is None and not info.unpriced else \
        f", {fmt_spent(info.spent, info.unpriced)} credits spent"  # none: a provider without credits
    lines = [f"# {info.title or info.name}", "",
             f"Session `{info.name}`, model `{model_of(info.model, info.profile)}`, started {when(info.created)}"
             f"{spent}.", ""]
    if system:
        lines += ["## System", "", system, ""]
    return lines


def message_lines(role: str, content: str, meta: dict[str, Any], *, with_model: bool = False) -> list[str]:
    """A message's lines: its heading (a reply that is not whole says so; with_model, it names its model), its
    text, the files it had attached."""
    who = "You" if role == "user" else model_heading(meta, with_model=with_model and role == "assistant")
    lines = [f"## {who}", "", content, ""]
    if meta.get("attachments"):
        lines += _attached(meta)
    return lines


def model_heading(meta: dict[str, Any], *, with_model: bool = False) -> str:
    """"Model", or for a reply that is not whole "Model (cut off)" and the like; with_model, with the model the
    reply came from, where its meta says: "Model: gpt-4o", "Model: gpt-4o (cut off)"."""
    mark = wording.shortfall(shortfall(meta))
    model = meta.get("model") if with_model else None
    who = f"Model: {model}" if isinstance(model, str) and model else "Model"
    return f"{who} ({mark})" if mark else who


def unsent_lines(unsent: UnsentMessage) -> list[str]:
    return ["## You (not sent)", "", unsent.text, "", *_attached(unsent.meta)]


def _attached(meta: dict[str, Any]) -> list[str]:
    """Attached files named compactly, and a blank line: the files travel in JSON exports, not in the Markdown."""
    if not meta.get("attachments"):
        return []
    return [*(f"*Attached: {describe(item)}*" for item in of(meta)), ""]
