"""The bottom toolbar: model, credits, spend, session and context, as a function of state."""

from __future__ import annotations

from typing import Callable

from segchat.chat import Chat, fmt_credits, fmt_spent
from segchat.render import sanitize

Fragments = list[tuple[str, str]]


def fmt_tokens(count: int) -> str:
    """Token counts as context windows are quoted: 131072 is 128K."""
    if count < 1024:
        return str(count)
    return f"{count / 1024:.1f}".removesuffix(".0") + "K"


def make_toolbar(chat: Chat) -> Callable[[], Fragments]:
    """A closure prompt_toolkit calls on every redraw; it only reads state."""

    def toolbar() -> Fragments:
        ledger, config = chat.ledger, chat.config
        low = ledger.balance is not None and ledger.balance < config.low_credit_warning
        tokens = chat.context_tokens()
        share = tokens / config.context_window
        budget = f" / {fmt_credits(chat.max_credits)}" if chat.max_credits is not None else ""
        sep = ("class:bottom-toolbar.sep", " │ ")
        return [
            ("class:bottom-toolbar.model", f" {sanitize(chat.model)}"), sep,
            ("class:bottom-toolbar.low" if low else "class:bottom-toolbar", f"credits {fmt_credits(ledger.balance)}"),
            sep, ("class:bottom-toolbar", f"spent {fmt_spent(ledger.spent, ledger.unpriced)}{budget}"), sep,
            ("class:bottom-toolbar", f"session {sanitize(chat.session.name)}"), sep,
            ("class:bottom-toolbar.low" if share >= config.context_warning else "class:bottom-toolbar",
             f"ctx {fmt_tokens(tokens)}/{fmt_tokens(config.context_window)} ({share:.0%}) "),
        ]

    return toolbar
