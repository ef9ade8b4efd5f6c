"""How credit figures are written: exactly as the server gave them, marked when some are unknown."""

from __future__ import annotations

from decimal import Decimal


def fmt_credits(value: Decimal | None) -> str:
    """Credits exactly as the server gave them (0.00042 stays 0.00042), or — when unknown."""
    if value is None:
        return "—"
    if not value.is_finite():
        return "?"
    if value and not -12 <= value.adjusted() <= 12:  # an absurd figure stays short: never a million digits
        return format(value, ".3E")
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def fmt_spent(spent: Decimal | None, unpriced: int) -> str:
    """Known spend, with "+ ?" when some turns' cost could not be measured."""
    return with_unpriced(fmt_credits(spent), unpriced)


def with_unpriced(shown: str, unpriced: int) -> str:
    """A spend as fmt_credits() shows it, marked when some turns' cost is unknown: "?" when nothing is known."""
    if unpriced and shown in ("—", "0"):  # unknown, or zero: no cost known at all
        return "?"
    return shown + (" + ?" if unpriced else "")
