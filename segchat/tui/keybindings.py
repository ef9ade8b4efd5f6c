"""Key bindings for the chat prompt."""

from __future__ import annotations

from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent


def build_key_bindings() -> KeyBindings:
    """Enter sends (the prompt's default); these add the rest."""
    kb = KeyBindings()

    @kb.add("escape", "enter")
    def _newline(event: KeyPressEvent) -> None:
        """Alt-Enter (Esc Enter) inserts a newline instead of sending."""
        event.current_buffer.insert_text("\n")

    return kb
