"""Slash commands about saved sessions and files: the handlers behind /sessions, /export and the like."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from segchat import sessions
from segchat.errors import StoreError, UsageError

if TYPE_CHECKING:
    from segchat.repl import Repl


def cmd_history(repl: Repl, arg: str) -> None:
    conversation = repl.chat.conversation
    if not conversation.messages and not conversation.system:
        repl.renderer.notice("the conversation is empty")
        return
    repl.renderer.page(sessions.export_markdown(repl.chat.store.get(repl.chat.session.id), conversation))


def cmd_save(repl: Repl, arg: str) -> None:
    if not arg:
        raise UsageError("usage: /save PATH")
    info = repl.chat.store.get(repl.chat.session.id)
    _write(repl, Path(arg).expanduser(), sessions.export_markdown(info, repl.chat.conversation))


def cmd_sessions(repl: Repl, arg: str) -> None:
    sessions.list_sessions(repl.chat.store, repl.renderer)


def cmd_resume(repl: Repl, arg: str) -> None:
    if not arg:
        raise UsageError("usage: /resume NAME")
    repl.resume(repl.chat.store.find(arg))


def cmd_rename(repl: Repl, arg: str) -> None:
    if not arg:
        raise UsageError("usage: /rename NEW-NAME")
    repl.chat.session = repl.chat.store.rename(str(repl.chat.session.id), arg)
    repl.renderer.notice(f"session renamed to '{arg}'")


def cmd_export(repl: Repl, arg: str) -> None:
    chat = repl.chat
    path = Path(arg).expanduser() if arg else Path(f"{chat.session.name}.md")
    fmt = "json" if path.suffix == ".json" else "md"
    _write(repl, path, sessions.export_session(chat.store, str(chat.session.id), fmt))


def cmd_delete(repl: Repl, arg: str) -> None:
    if not arg:
        raise UsageError("usage: /delete NAME")
    info = repl.chat.store.find(arg)
    if info.id == repl.chat.session.id:
        raise UsageError("cannot delete the session in use; /clear or /resume another first")
    repl.chat.store.delete(str(info.id))
    repl.renderer.notice(f"deleted session '{info.name}' ({info.count} messages)")


def cmd_search(repl: Repl, arg: str) -> None:
    if not arg:
        raise UsageError("usage: /search TEXT")
    sessions.search_sessions(repl.chat.store, arg, repl.renderer)


def _write(repl: Repl, path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc.strerror}") from None
    repl.renderer.notice(f"wrote {path}")


def session_names(repl: Repl) -> list[str]:
    return repl.chat.store.names()
