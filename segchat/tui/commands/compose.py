"""Slash commands that shape what is sent next: /file attaches files, /role switches the system prompt."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from segchat.config import roles
from segchat.errors import UsageError
from segchat.model import attachments

if TYPE_CHECKING:
    from segchat.tui.commands.host import CommandHost


def cmd_file(host: CommandHost, arg: str) -> None:
    if not arg:
        if not host.attached:
            host.renderer.plain("nothing attached (attach with /file PATH…; /file clear drops them)")
        for item in host.attached:
            host.renderer.plain(attachments.describe(item))
        return
    if arg.strip() == "clear":
        dropped, host.attached[:] = len(host.attached), []
        host.renderer.notice(f"dropped {dropped} attachment(s)")
        return
    try:
        names = shlex.split(arg)
    except ValueError as exc:
        raise UsageError(f"/file: {exc} (quote names with spaces)") from None
    if "-" in names:
        raise UsageError("/file - would read standard input, which is the terminal here; give a file name")
    host.attach([attachments.read(name) for name in names])  # all or nothing: one bad file attaches none


def cmd_role(host: CommandHost, arg: str) -> None:
    path = host.chat.config.path
    if path is None:
        raise UsageError("roles live beside the config file, and there is none")
    if not arg:
        name = host.chat.role
        if name is None:
            host.renderer.plain(f"no role (roles in {roles.folder(path)}: {', '.join(roles.names(path)) or 'none'})")
        else:
            host.renderer.plain(f"role: {name}")
        return
    role = roles.load(path, arg)
    notices = host.chat.set_role(role)
    host.renderer.notice(f"role '{role.name}': {role.first_line[:80]}")
    host.show_notices(notices)


def role_names(host: CommandHost) -> list[str]:
    path = host.chat.config.path
    return roles.names(path) if path is not None else []
