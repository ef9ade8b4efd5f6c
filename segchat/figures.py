"""How figures are written: credits exactly as the server gave them (marked when some are unknown), token counts
as context windows are quoted."""

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


def fmt_tokens(count: int) -> str:
    """Token counts as context windows are quoted: 131072 is 128K, 128000 and 200000 are 128K and 200K, 1048576
    and 1000000 are 1M.

    A count that is a whole number of decimal or binary thousands (or millions) is written so; any other count in
    binary thousands to one decimal (5600 is 5.5K), or in millions to two (1050000 is 1.05M).
    """
    if count < 1024:
        return str(count)
    if count >= 10**6:
        whole = next((count // size for size in (2**20, 10**6) if count % size == 0), None)
        return f"{whole}M" if whole is not None else f"{count / 10**6:.2f}".rstrip("0").rstrip(".") + "M"
    whole = next((count // size for size in (1000, 1024) if count % size == 0), None)
    return f"{whole}K" if whole is not None else f"{count / 1024:.1f}".removesuffix(".0") + "K"
