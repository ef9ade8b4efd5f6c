"""Tab completion of slash commands and their arguments, from the command table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from segchat.text.sanitize import safe

if TYPE_CHECKING:
    from segchat.tui.commands.host import CommandHost


def describe(host: CommandHost, text: str, word: str) -> str:
    """The line Tab's menu shows beside word, a completion of text (the command's describe(), made safe); "" for
    none."""
    name, space, _ = text[1:].partition(" ")
    command = host.registry.get(name) if text.startswith("/") and space else None
    if command is None or command.describe is None:
        return ""
    return safe(command.describe(host, word)).replace("\n", " ")


def suggest(host: CommandHost, text: str) -> tuple[list[str], int]:
    """Candidates for the text before the cursor, and how many characters they replace."""
    if not text.startswith("/") or "\n" in text:
        return [], 0
    name, space, arg = text[1:].partition(" ")
    registry = host.registry
    if not space:
        return sorted(f"/{n}" for n in registry.names() if n.startswith(name)), len(text)
    command = registry.get(name)
    if command is None or command.complete is None:
        return [], 0
    return [c for c in command.complete(host) if c.startswith(arg) and c != arg], len(arg)


class SlashCompleter(Completer):
    def __init__(self, host: CommandHost) -> None:
        self.host = host

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        text = document.text_before_cursor
        words, replace = suggest(self.host, text)
        for word in words:
            yield Completion(word, start_position=-replace, display_meta=describe(self.host, text, word) or None)
