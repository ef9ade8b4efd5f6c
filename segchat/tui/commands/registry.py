"""Slash commands as one table: /help and Tab completion are generated from it."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable

from segchat.config.settings import SAMPLING
from segchat.errors import UsageError
from segchat.tui.commands import compose, conversation, sessions

if TYPE_CHECKING:
    from segchat.tui.commands.host import CommandHost


@dataclass(frozen=True)
class Command:
    name: str
    args: str
    help: str
    handler: Callable[[CommandHost, str], None]
    complete: Callable[[CommandHost], Iterable[str]] | None = None
    aliases: tuple[str, ...] = ()
    describe: Callable[[CommandHost, str], str] | None = None  # a line beside each completion in Tab's menu


class Registry:
    """Looks commands up by name or alias and runs them."""

    def __init__(self, commands: Iterable[Command]) -> None:
        self.commands = list(commands)
        self._by_name = {n: c for c in self.commands for n in (c.name, *c.aliases)}

    def names(self) -> list[str]:
        return list(self._by_name)

    def get(self, name: str) -> Command | None:
        return self._by_name.get(name)

    def dispatch(self, host: CommandHost, line: str) -> None:
        name, _, arg = line.strip()[1:].partition(" ")
        command = self._by_name.get(name)
        if command is None:
            close = difflib.get_close_matches(name, self.names(), n=1)
            hint = f"did you mean /{close[0]}? " if close else ""
            raise UsageError(f"unknown command /{name[:30]}; {hint}/help lists the commands "
                             "(to send a message starting with '/', start it with '//')")
        command.handler(host, arg.strip())


def build_registry() -> Registry:
    return Registry([
        Command("help", "", "Show this list.", conversation.cmd_help, aliases=("?",)),
        Command("system", "[TEXT]", "Show the system prompt, or replace it ('-' clears it).", conversation.cmd_system),
        Command("retry", "", "Send the unsent message again, or ask for a new last reply.", conversation.cmd_retry),
        Command("clear", "", "Start a new conversation with the same system prompt.", conversation.cmd_clear,
                aliases=("new",)),
        Command("undo", "", "Remove the last exchange.", conversation.cmd_undo),
        Command("edit", "", "Edit the last message in $EDITOR and send it again.", conversation.cmd_edit),
        Command("copy", "[code]", "Copy the last reply (or its last code block) to the clipboard.",
                conversation.cmd_copy, complete=lambda host: ["code"]),
        Command("model", "[ID]", "Show or switch the model for the next turns.", conversation.cmd_model,
                complete=conversation.model_choices, describe=conversation.model_description),
        Command("set", "[KEY VALUE]", "Show or change temperature, top_p, max_tokens.", conversation.cmd_set,
                complete=lambda host: list(SAMPLING)),
        Command("file", "[PATH…|clear]", "Attach files to the next message; list or drop them.", compose.cmd_file,
                complete=lambda host: ["clear"]),
        Command("role", "[NAME]", "Show the role, or switch to another (its system prompt and settings).",
                compose.cmd_role, complete=compose.role_names),
        Command("history", "", "Show the conversation so far.", sessions.cmd_history),
        Command("save", "PATH", "Write the conversation to a Markdown file.", sessions.cmd_save),
        Command("budget", "[N|none]", "Show or set the most credits this session may spend.", conversation.cmd_budget),
        Command("credits", "", "Ask the server for the account's credits.", conversation.cmd_credits),
        Command("trim", "N", "Drop the N oldest exchanges (the system prompt stays).", conversation.cmd_trim),
        Command("sessions", "", "List saved sessions, newest first.", sessions.cmd_sessions),
        Command("resume", "NAME", "Continue a saved session.", sessions.cmd_resume, complete=sessions.session_names),
        Command("rename", "NAME", "Rename this session.", sessions.cmd_rename),
        Command("export", "[PATH]", "Write this session to PATH (.md or .json).", sessions.cmd_export),
        Command("delete", "NAME", "Delete a saved session.", sessions.cmd_delete, complete=sessions.session_names),
        Command("search", "TEXT", "Find messages in all sessions.", sessions.cmd_search),
        Command("quit", "", "Leave segchat.", conversation.cmd_quit, aliases=("exit",)),
    ])

