"""Slash commands as one table: /help and Tab completion are generated from it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from segchat.config.settings import SAMPLING, check_sampling
from segchat.errors import ConfigError, UsageError
from segchat.figures import fmt_credits, fmt_spent
from segchat.tui.commands import compose as cc
from segchat.tui.commands import sessions as sc

if TYPE_CHECKING:
    from segchat.tui.commands.host import Context



@dataclass(frozen=True)
class Command:
    name: str
    args: str
    help: str
    handler: Callable[[Context, str], None]
    complete: Callable[[Context], Iterable[str]] | None = None
    aliases: tuple[str, ...] = ()


class Registry:
    """Looks commands up by name or alias and runs them."""

    def __init__(self, commands: Iterable[Command]) -> None:
        self.commands = list(commands)
        self._by_name = {n: c for c in self.commands for n in (c.name, *c.aliases)}

    def names(self) -> list[str]:
        return list(self._by_name)

    def get(self, name: str) -> Command | None:
        return self._by_name.get(name)

    def dispatch(self, ctx: Context, line: str) -> None:
        name, _, arg = line.strip()[1:].partition(" ")
        command = self._by_name.get(name)
        if command is None:
            import difflib

            close = difflib.get_close_matches(name, self.names(), n=1)
            hint = f"did you mean /{close[0]}? " if close else ""
            raise UsageError(f"unknown command /{name[:30]}; {hint}/help lists the commands "
                             "(to send a message starting with '/', start it with '//')")
        command.handler(ctx, arg.strip())


# -- conversation ------------------------------------------------------------------------------

def cmd_help(ctx: Context, arg: str) -> None:
    rows = [(f"/{c.name}" + (f" {c.args}" if c.args else ""),
             c.help + (f" (also {', '.join('/' + a for a in c.aliases)})" if c.aliases else ""))
            for c in ctx.registry.commands]
    ctx.renderer.table(("command", "what it does"), rows)
    ctx.renderer.notice("Enter sends · Alt-Enter (Esc Enter) adds a line · Ctrl-C cancels · Ctrl-D quits · "
                         "Ctrl-R searches history")


def cmd_system(ctx: Context, arg: str) -> None:
    if not arg:
        system = ctx.chat.conversation.system
        ctx.renderer.plain(f"system prompt: {system}" if system else "no system prompt (set one: /system TEXT)")
        return
    ctx.chat.set_system(None if arg in ("-", "none") else arg)
    ctx.renderer.notice("system prompt cleared" if arg in ("-", "none") else "system prompt replaced")


def cmd_clear(ctx: Context, arg: str) -> None:
    old = ctx.chat.session.name
    info = ctx.chat.new_session()
    ctx.renderer.notice(f"new conversation '{info.name}' (same system prompt); '{old}' stays saved")


def cmd_retry(ctx: Context, arg: str) -> None:
    ctx.retry()


def cmd_quit(ctx: Context, arg: str) -> None:
    ctx.quit()


def cmd_undo(ctx: Context, arg: str) -> None:
    if ctx.chat.conversation.unsent is not None:
        ctx.chat.forget_unsent()
        ctx.renderer.notice("dropped the unsent message")
        return
    removed = ctx.chat.undo()
    if not removed:
        raise UsageError("nothing to undo")
    ctx.renderer.notice(f"removed the last exchange ({_preview(removed[0].content)})")


def cmd_edit(ctx: Context, arg: str) -> None:
    chat = ctx.chat
    if chat.conversation.unsent is not None:
        last = chat.conversation.unsent.text
    else:
        message = chat.conversation.last("user")
        if message is None:
            raise UsageError("no message to edit yet")
        last = message.content
    edited = edit_in_editor(last)
    if edited is None or not edited.strip():
        ctx.renderer.notice("edit cancelled (empty text)")
        return
    ctx.retry(edited.rstrip("\n"))


def edit_in_editor(text: str) -> str | None:
    import shlex
    import subprocess
    import tempfile

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False, encoding="utf-8") as handle:
        handle.write(text)
    try:
        try:
            command = shlex.split(editor)
        except ValueError as exc:
            raise UsageError(f"cannot read the editor command {editor!r} ({exc}); check the quoting in "
                             "$VISUAL or $EDITOR") from None
        if not command:
            raise UsageError("$VISUAL or $EDITOR is empty; set it to an editor")
        result = subprocess.run([*command, handle.name])
        if result.returncode != 0:
            raise UsageError(f"the editor ({editor}) exited with status {result.returncode}; nothing sent")
        try:
            return Path(handle.name).read_text("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(f"the editor saved text that is not UTF-8 (byte {exc.start}); nothing sent") from None
    except (FileNotFoundError, PermissionError):
        raise UsageError(f"cannot run the editor {editor!r}; set $EDITOR") from None
    finally:
        os.unlink(handle.name)


def cmd_copy(ctx: Context, arg: str) -> None:
    reply = ctx.chat.conversation.last("assistant")
    if reply is None:
        raise UsageError("no reply to copy yet")
    text = reply.content
    if arg == "code":
        blocks = code_blocks(text)
        if not blocks:
            raise UsageError("the last reply has no code block")
        text = blocks[-1]
    elif arg:
        raise UsageError("usage: /copy or /copy code")
    how = ctx.renderer.clipboard(text)
    if how is None:
        raise UsageError("the output is not a terminal, so there is no clipboard to send to")
    ctx.renderer.notice(f"sent {len(text)} characters to the terminal's clipboard ({how}); if nothing arrives, "
                        "allow clipboard access (OSC 52) in your terminal"
                        + ("; in tmux: tmux set -g set-clipboard on" if "tmux" in how else ""))


def code_blocks(markdown: str) -> list[str]:
    """The contents of fenced code blocks, in order."""
    blocks: list[str] = []
    current: list[str] | None = None
    fence = ""
    for line in markdown.split("\n"):
        stripped = line.lstrip()
        if current is None and stripped[:3] in ("```", "~~~"):
            fence, current = stripped[:3], []
        elif current is not None and stripped.startswith(fence):
            blocks.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def cmd_model(ctx: Context, arg: str) -> None:
    if not arg:
        ctx.renderer.plain(f"model: {ctx.chat.model}")
        return
    ctx.chat.set_model(arg)
    ctx.renderer.notice(f"model set to {arg} for the next turns")


def cmd_set(ctx: Context, arg: str) -> None:
    chat = ctx.chat
    if not arg:
        rows = [(k, str(chat.settings.get(k, "(server default)"))) for k in SAMPLING]
        ctx.renderer.table(("setting", "value"), rows)
        return
    key, _, value = arg.partition(" ")
    if key not in SAMPLING:
        raise UsageError(f"unknown setting {key!r}; settable: {', '.join(SAMPLING)}")
    if value.strip() in ("", "default", "none"):
        chat.settings.pop(key, None)
        ctx.renderer.notice(f"{key} back to the server default")
        return
    try:
        number = check_sampling(key, value.strip())
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    chat.settings[key] = number
    ctx.renderer.notice(f"{key} = {number}")


def cmd_budget(ctx: Context, arg: str) -> None:
    chat = ctx.chat
    if not chat.provider.has_credits:
        raise UsageError(f"the {chat.provider.name} provider has no credits, so there is no budget to set")
    if not arg:
        budget = fmt_credits(chat.max_credits) if chat.max_credits is not None else "none"
        spent = fmt_spent(chat.ledger.spent, chat.ledger.unpriced)
        ctx.renderer.plain(f"budget: {budget}; spent this session: {spent}")
        return
    if arg in ("none", "off"):
        chat.set_budget(None)
        ctx.renderer.notice("budget removed")
        return
    try:
        value = Decimal(arg)
        if not value.is_finite() or value < 0:
            raise InvalidOperation
    except InvalidOperation:
        raise UsageError(f"/budget takes a number of credits (or 'none'), not {arg!r}") from None
    chat.set_budget(value)
    ctx.renderer.notice(f"budget set to {fmt_credits(value)} credits "
                        f"(spent: {fmt_spent(chat.ledger.spent, chat.ledger.unpriced)})")


def cmd_credits(ctx: Context, arg: str) -> None:
    if not ctx.chat.provider.has_credits:
        raise UsageError(f"/credits is for Segmind; the {ctx.chat.provider.name} provider has no credits")
    balance = ctx.chat.refresh_balance(ctx.run_request)
    ctx.renderer.plain(f"credits: {fmt_credits(balance.credits)}   free-credits: {fmt_credits(balance.free)}")


def cmd_trim(ctx: Context, arg: str) -> None:
    chat = ctx.chat
    try:
        count = int(arg)
        if count < 1:
            raise ValueError
    except ValueError:
        raise UsageError("usage: /trim N (drop the N oldest exchanges)") from None
    pairs = chat.conversation.exchanges()[:count]
    if not pairs:
        raise UsageError("there are no exchanges to drop")
    for user, _ in pairs:
        ctx.renderer.notice(f"dropping: {_preview(user.content)}")
    chat.trim(count)
    ctx.renderer.notice(f"dropped {len(pairs)} exchange(s); the system prompt stays")


def _preview(text: str, limit: int = 50) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit] + "…"


def build_registry() -> Registry:
    return Registry([
        Command("help", "", "Show this list.", cmd_help, aliases=("?",)),
        Command("system", "[TEXT]", "Show the system prompt, or replace it ('-' clears it).", cmd_system),
        Command("retry", "", "Send the unsent message again, or ask for a new last reply.", cmd_retry),
        Command("clear", "", "Start a new conversation with the same system prompt.", cmd_clear, aliases=("new",)),
        Command("undo", "", "Remove the last exchange.", cmd_undo),
        Command("edit", "", "Edit the last message in $EDITOR and send it again.", cmd_edit),
        Command("copy", "[code]", "Copy the last reply (or its last code block) to the clipboard.", cmd_copy,
                complete=lambda ctx: ["code"]),
        Command("model", "[ID]", "Show or switch the model for the next turns.", cmd_model,
                complete=lambda ctx: ctx.model_ids or ctx.chat.provider.suggestions()),
        Command("set", "[KEY VALUE]", "Show or change temperature, top_p, max_tokens.", cmd_set,
                complete=lambda ctx: list(SAMPLING)),
        Command("file", "[PATH…|clear]", "Attach files to the next message; list or drop them.", cc.cmd_file,
                complete=lambda ctx: ["clear"]),
        Command("role", "[NAME]", "Show the role, or switch to another (its system prompt and settings).",
                cc.cmd_role, complete=cc.role_names),
        Command("history", "", "Show the conversation so far.", sc.cmd_history),
        Command("save", "PATH", "Write the conversation to a Markdown file.", sc.cmd_save),
        Command("budget", "[N|none]", "Show or set the most credits this session may spend.", cmd_budget),
        Command("credits", "", "Ask the server for the account's credits.", cmd_credits),
        Command("trim", "N", "Drop the N oldest exchanges (the system prompt stays).", cmd_trim),
        Command("sessions", "", "List saved sessions, newest first.", sc.cmd_sessions),
        Command("resume", "NAME", "Continue a saved session.", sc.cmd_resume, complete=sc.session_names),
        Command("rename", "NAME", "Rename this session.", sc.cmd_rename),
        Command("export", "[PATH]", "Write this session to PATH (.md or .json).", sc.cmd_export),
        Command("delete", "NAME", "Delete a saved session.", sc.cmd_delete, complete=sc.session_names),
        Command("search", "TEXT", "Find messages in all sessions.", sc.cmd_search),
        Command("quit", "", "Leave segchat.", cmd_quit, aliases=("exit",)),
    ])

