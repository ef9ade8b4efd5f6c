"""Slash commands about saved sessions and files: the handlers behind /sessions, /export and the like."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from segchat.app import sessions
from segchat.errors import StoreError, UsageError
from segchat.ui.pager import page

if TYPE_CHECKING:
    from segchat.tui.commands.host import CommandHost


def cmd_history(host: CommandHost, arg: str) -> None:
    conversation = host.chat.conversation
    if not conversation.messages and not conversation.system:
        host.renderer.notice("the conversation is empty")
        return
    page(host.renderer, sessions.export_markdown(host.chat.store.get(host.chat.session.id), conversation))


def cmd_save(host: CommandHost, arg: str) -> None:
    if not arg:
        raise UsageError("usage: /save PATH")
    info = host.chat.store.get(host.chat.session.id)
    _write(host, Path(arg).expanduser(), sessions.export_markdown(info, host.chat.conversation))


def cmd_sessions(host: CommandHost, arg: str) -> None:
    sessions.list_sessions(host.chat.store, host.renderer)


def cmd_resume(host: CommandHost, arg: str) -> None:
    if not arg:
        raise UsageError("usage: /resume NAME")
    info = host.chat.store.find(arg)
    if info.profile != host.chat.config.profile:  # another server, maybe another key: not switched mid-chat
        where = f"profile '{info.profile}'" if info.profile else "the default settings"
        raise UsageError(f"session '{info.name}' belongs to {where}; continue it with: segchat --session {info.name}")
    host.resume(info)


def cmd_rename(host: CommandHost, arg: str) -> None:
    if not arg:
        raise UsageError("usage: /rename NEW-NAME")
    host.chat.session = host.chat.store.rename(str(host.chat.session.id), arg)
    host.renderer.notice(f"session renamed to '{arg}'")


def cmd_export(host: CommandHost, arg: str) -> None:
    chat = host.chat
    path = Path(arg).expanduser() if arg else Path(f"{chat.session.name}.md")
    fmt = "json" if path.suffix == ".json" else "md"
    _write(host, path, sessions.export_session(chat.store, str(chat.session.id), fmt))


def cmd_delete(host: CommandHost, arg: str) -> None:
    if not arg:
        raise UsageError("usage: /delete NAME")
    info = host.chat.store.find(arg)
    if info.id == host.chat.session.id:
        raise UsageError("cannot delete the session in use; /clear or /resume another first")
    host.chat.store.delete(str(info.id))
    host.renderer.notice(f"deleted session '{info.name}' ({info.count} messages)")


def cmd_search(host: CommandHost, arg: str) -> None:
    if not arg:
        raise UsageError("usage: /search TEXT")
    sessions.search_sessions(host.chat.store, arg, host.renderer)


def _write(host: CommandHost, path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc.strerror}") from None
    host.renderer.notice(f"wrote {path}")


def session_names(host: CommandHost) -> list[str]:
    return host.chat.store.names()
