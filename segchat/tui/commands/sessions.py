"""Slash commands about saved sessions and files: the handlers behind /sessions, /export and the like."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from segchat.errors import StoreError, UsageError

if TYPE_CHECKING:
    from segchat.tui.commands.host import Context


def cmd_history(ctx: Context, arg: str) -> None:
    from segchat.app import sessions

    conversation = ctx.chat.conversation
    if not conversation.messages and not conversation.system:
        ctx.renderer.notice("the conversation is empty")
        return
    ctx.renderer.page(sessions.export_markdown(ctx.chat.store.get(ctx.chat.session.id), conversation))


def cmd_save(ctx: Context, arg: str) -> None:
    from segchat.app import sessions

    if not arg:
        raise UsageError("usage: /save PATH")
    info = ctx.chat.store.get(ctx.chat.session.id)
    _write(ctx, Path(arg).expanduser(), sessions.export_markdown(info, ctx.chat.conversation))


def cmd_sessions(ctx: Context, arg: str) -> None:
    from segchat.app import sessions

    sessions.list_sessions(ctx.chat.store, ctx.renderer)


def cmd_resume(ctx: Context, arg: str) -> None:
    if not arg:
        raise UsageError("usage: /resume NAME")
    info = ctx.chat.store.find(arg)
    if info.profile != ctx.chat.config.profile:  # another server, maybe another key: not switched mid-chat
        where = f"profile '{info.profile}'" if info.profile else "the default settings"
        raise UsageError(f"session '{info.name}' belongs to {where}; continue it with: segchat --session {info.name}")
    ctx.resume(info)


def cmd_rename(ctx: Context, arg: str) -> None:
    if not arg:
        raise UsageError("usage: /rename NEW-NAME")
    ctx.chat.session = ctx.chat.store.rename(str(ctx.chat.session.id), arg)
    ctx.renderer.notice(f"session renamed to '{arg}'")


def cmd_export(ctx: Context, arg: str) -> None:
    from segchat.app import sessions

    chat = ctx.chat
    path = Path(arg).expanduser() if arg else Path(f"{chat.session.name}.md")
    fmt = "json" if path.suffix == ".json" else "md"
    _write(ctx, path, sessions.export_session(chat.store, str(chat.session.id), fmt))


def cmd_delete(ctx: Context, arg: str) -> None:
    if not arg:
        raise UsageError("usage: /delete NAME")
    info = ctx.chat.store.find(arg)
    if info.id == ctx.chat.session.id:
        raise UsageError("cannot delete the session in use; /clear or /resume another first")
    ctx.chat.store.delete(str(info.id))
    ctx.renderer.notice(f"deleted session '{info.name}' ({info.count} messages)")


def cmd_search(ctx: Context, arg: str) -> None:
    from segchat.app import sessions

    if not arg:
        raise UsageError("usage: /search TEXT")
    sessions.search_sessions(ctx.chat.store, arg, ctx.renderer)


def _write(ctx: Context, path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc.strerror}") from None
    ctx.renderer.notice(f"wrote {path}")


def session_names(ctx: Context) -> list[str]:
    return ctx.chat.store.names()
