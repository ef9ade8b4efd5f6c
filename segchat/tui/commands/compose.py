"""Slash commands that shape what is sent next: /file attaches files, /role switches the system prompt."""

from __future__ import annotations

from typing import TYPE_CHECKING

from segchat.errors import UsageError
from segchat.model import attachments

if TYPE_CHECKING:
    from segchat.tui.commands.host import Context


def cmd_file(ctx: Context, arg: str) -> None:
    if not arg:
        if not ctx.attached:
            ctx.renderer.plain("nothing attached (attach with /file PATH…; /file clear drops them)")
        for item in ctx.attached:
            ctx.renderer.plain(attachments.describe(item))
        return
    if arg.strip() == "clear":
        dropped, ctx.attached[:] = len(ctx.attached), []
        ctx.renderer.notice(f"dropped {dropped} attachment(s)")
        return
    import shlex

    try:
        names = shlex.split(arg)
    except ValueError as exc:
        raise UsageError(f"/file: {exc} (quote names with spaces)") from None
    if "-" in names:
        raise UsageError("/file - would read standard input, which is the terminal here; give a file name")
    ctx.attach([attachments.read(name) for name in names])  # all or nothing: one bad file attaches none


def cmd_role(ctx: Context, arg: str) -> None:
    from segchat.config import roles  # a role's TOML front matter: parsed only when one is used

    path = ctx.chat.config.path
    if path is None:
        raise UsageError("roles live beside the config file, and there is none")
    if not arg:
        name = ctx.chat.role
        if name is None:
            ctx.renderer.plain(f"no role (roles in {roles.folder(path)}: {', '.join(roles.names(path)) or 'none'})")
        else:
            ctx.renderer.plain(f"role: {name}")
        return
    role = roles.load(path, arg)
    ctx.chat.set_role(role)
    ctx.renderer.notice(f"role '{role.name}': {role.first_line[:80]}")


def role_names(ctx: Context) -> list[str]:
    from segchat.config import roles

    path = ctx.chat.config.path
    return roles.names(path) if path is not None else []
