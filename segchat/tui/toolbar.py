"""The bottom toolbar: model, credits and spend (where the provider has them), session, context."""

from __future__ import annotations

from typing import Callable

from prompt_toolkit.application import get_app

from segchat.engine.chat import Chat
from segchat.figures import fmt_credits, fmt_spent, fmt_tokens
from segchat.text.sanitize import sanitize

Fragments = list[tuple[str, str]]
SEP = ("class:bottom-toolbar.sep", " │ ")


def _columns() -> int:
    try:
        return get_app().output.get_size().columns
    except Exception:  # no terminal to ask: assume room enough
        return 200


def make_toolbar(chat: Chat, columns: Callable[[], int] = _columns) -> Callable[[], Fragments]:
    """A closure prompt_toolkit calls on every redraw; it only reads state.

    When the labelled form does not fit the terminal, the labels go and the figures stay.
    """

    def toolbar() -> Fragments:
        ledger, config = chat.ledger, chat.config
        low = ledger.balance is not None and ledger.balance < config.low_credit_warning
        tokens, window = chat.context_tokens(), chat.context_window
        share = tokens / window if window else 0.0
        budget = f"/{fmt_credits(chat.max_credits)}" if chat.max_credits is not None else ""
        plain, warn = "class:bottom-toolbar", "class:bottom-toolbar.low"
        fields = [("class:bottom-toolbar.model", "", sanitize(chat.model))]
        if chat.provider.has_credits:
            fields += [(warn if low else plain, "credits ", _fit(fmt_credits(ledger.balance))),
                       (plain, "spent ", _fit(fmt_spent(ledger.spent, ledger.unpriced)) + _fit(budget))]
        fields += [
            (plain, "session ", sanitize(chat.session.name)),
            (warn if share >= config.context_warning else plain, "ctx ",
             f"{fmt_tokens(tokens)}/{fmt_tokens(window)} {share:.0%}" if window else fmt_tokens(tokens)),
        ]
        labelled = sum(len(label) + len(value) + 3 for _, label, value in fields)
        keep_labels = labelled <= columns()
        out: Fragments = [("class:bottom-toolbar", " ")]
        for index, (style, label, value) in enumerate(fields):
            if index:
                out.append(SEP)
            out.append((style, (label if keep_labels else "") + value))
        return out

    return toolbar


def _fit(figure: str, width: int = 14) -> str:
    """An enormous figure must not push the rest of the bar off screen."""
    return figure if len(figure) <= width else figure[: width - 1] + "…"
