"""Slash commands about the conversation itself: its system prompt, model, settings, budget and last turns."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from segchat.config.settings import SAMPLING, check_sampling
from segchat.config.validate import is_model
from segchat.errors import ConfigError, UsageError
from segchat.figures import fmt_credits, fmt_spent, fmt_tokens
from segchat.text.redact import redact

if TYPE_CHECKING:
    from segchat.tui.commands.host import CommandHost


def cmd_help(host: CommandHost, arg: str) -> None:
    rows = [(f"/{c.name}" + (f" {c.args}" if c.args else ""),
             c.help + (f" (also {', '.join('/' + a for a in c.aliases)})" if c.aliases else ""))
            for c in host.registry.commands]
    host.renderer.table(("command", "what it does"), rows)
    host.renderer.notice("Enter sends · Alt-Enter (Esc Enter) adds a line · Ctrl-C cancels · Ctrl-D quits · "
                         "Ctrl-R searches history")


def cmd_system(host: CommandHost, arg: str) -> None:
    if not arg:
        system = host.chat.conversation.system
        host.renderer.plain(f"system prompt: {system}" if system else "no system prompt (set one: /system TEXT)")
        return
    host.chat.set_system(None if arg in ("-", "none") else arg)
    host.renderer.notice("system prompt cleared" if arg in ("-", "none") else "system prompt replaced")


def cmd_clear(host: CommandHost, arg: str) -> None:
    old = host.chat.session.name
    info = host.chat.new_session()
    host.renderer.notice(f"new conversation '{info.name}' (same system prompt); '{old}' stays saved")


def cmd_retry(host: CommandHost, arg: str) -> None:
    host.retry()


def cmd_quit(host: CommandHost, arg: str) -> None:
    host.quit()


def cmd_undo(host: CommandHost, arg: str) -> None:
    if host.chat.conversation.unsent is not None:
        host.chat.forget_unsent()
        host.renderer.notice("dropped the unsent message")
        return
    removed = host.chat.undo()
    if not removed:
        raise UsageError("nothing to undo")
    host.renderer.notice(f"removed the last exchange ({_preview(removed[0].content)})")


def cmd_edit(host: CommandHost, arg: str) -> None:
    chat = host.chat
    if chat.conversation.unsent is not None:
        last = chat.conversation.unsent.text
    else:
        message = chat.conversation.last("user")
        if message is None:
            raise UsageError("no message to edit yet")
        last = message.content
    edited = edit_in_editor(last)
    if edited is None or not edited.strip():
        host.renderer.notice("edit cancelled (empty text)")
        return
    host.retry(edited.rstrip("\n"))


def edit_in_editor(text: str) -> str | None:
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


def cmd_copy(host: CommandHost, arg: str) -> None:
    reply = host.chat.conversation.last("assistant")
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
    how = host.renderer.clipboard(text)
    if how is None:
        raise UsageError("the output is not a terminal, so there is no clipboard to send to")
    host.renderer.notice(f"sent {len(text)} characters to the terminal's clipboard ({how}); if nothing arrives, "
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


def cmd_model(host: CommandHost, arg: str) -> None:
    chat = host.chat
    if not arg:
        host.renderer.plain(f"model: {chat.model}{_window(chat.context_window)}")
        return
    notices = chat.set_model(arg)
    host.renderer.notice(f"model set to {arg}{_window(chat.context_window)} for the next turns")
    host.show_notices(notices)


def _window(window: int | None) -> str:
    return f" ({fmt_tokens(window)} context)" if window else ""


def model_choices(host: CommandHost) -> list[str]:
    """What Tab offers after /model: the ids the server lists that /model accepts (so none with a control or
    bidi character, which the menu would write to the terminal as they are) and that hide no secret; before the
    list came, or when none is left, the provider's suggestions (Segmind: segchat's catalogue), likewise."""
    provider = host.chat.provider

    def usable(ids: list[str]) -> list[str]:
        return [i for i in ids if is_model(i, provider.name) and redact(i) == i]

    return usable(host.model_ids) or usable(provider.suggestions())


def model_description(host: CommandHost, model: str) -> str:
    """What the menu shows beside an id Tab offers after /model: one line about the model, where the provider has
    one (Segmind: segchat's catalogue, or the user's [models] table)."""
    return host.chat.provider.describe(model)


def cmd_set(host: CommandHost, arg: str) -> None:
    chat = host.chat
    if not arg:
        rows = [(k, str(chat.settings.get(k, "(server default)"))) for k in SAMPLING]
        host.renderer.table(("setting", "value"), rows)
        return
    key, _, value = arg.partition(" ")
    if key not in SAMPLING:
        raise UsageError(f"unknown setting {key!r}; settable: {', '.join(SAMPLING)}")
    if value.strip() in ("", "default", "none"):
        chat.settings.pop(key, None)
        host.renderer.notice(f"{key} back to the server default")
        return
    try:
        number = check_sampling(key, value.strip())
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    chat.settings[key] = number
    host.renderer.notice(f"{key} = {number}")


def cmd_budget(host: CommandHost, arg: str) -> None:
    chat = host.chat
    if not chat.provider.has_credits:
        raise UsageError(f"the {chat.provider.name} provider has no credits, so there is no budget to set")
    if not arg:
        budget = fmt_credits(chat.max_credits) if chat.max_credits is not None else "none"
        spent = fmt_spent(chat.ledger.spent, chat.ledger.unpriced)
        host.renderer.plain(f"budget: {budget}; spent this session: {spent}")
        return
    if arg in ("none", "off"):
        chat.set_budget(None)
        host.renderer.notice("budget removed")
        return
    try:
        value = Decimal(arg)
        if not value.is_finite() or value < 0:
            raise InvalidOperation
    except InvalidOperation:
        raise UsageError(f"/budget takes a number of credits (or 'none'), not {arg!r}") from None
    chat.set_budget(value)
    host.renderer.notice(f"budget set to {fmt_credits(value)} credits "
                        f"(spent: {fmt_spent(chat.ledger.spent, chat.ledger.unpriced)})")


def cmd_credits(host: CommandHost, arg: str) -> None:
    if not host.chat.provider.has_credits:
        raise UsageError(f"/credits is for Segmind; the {host.chat.provider.name} provider has no credits")
    balance = host.chat.refresh_balance(host.run_request)
    host.renderer.plain(f"credits: {fmt_credits(balance.credits)}   free-credits: {fmt_credits(balance.free)}")


def cmd_trim(host: CommandHost, arg: str) -> None:
    chat = host.chat
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
        host.renderer.notice(f"dropping: {_preview(user.content)}")
    chat.trim(count)
    host.renderer.notice(f"dropped {len(pairs)} exchange(s); the system prompt stays")


def _preview(text: str, limit: int = 50) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit] + "…"
