"""Credits as the server reports them: the ledger of a session's spend, and how figures are written."""

from __future__ import annotations

from dataclasses import dataclass
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
    if unpriced and not spent:
        return "?"
    return fmt_credits(spent) + (" + ?" if unpriced else "")


@dataclass
class Ledger:
    """Credits as the server reports them; Decimal because costs are tiny fractions."""

    balance: Decimal | None = None
    spent: Decimal = Decimal(0)
    unpriced: int = 0  # turns whose cost could not be known
    warned_low: bool = False
    records: int = 0  # turns recorded; lets a slow balance fetch see it was overtaken

    def observe(self, balance: Decimal | None) -> None:
        """A balance seen outside a turn (start-up, /credits): it sets the base for the next cost."""
        if balance is not None:
            self.balance = balance

    def record(self, balance: Decimal | None) -> Decimal | None:
        """The cost of a turn whose response reported balance; None when it cannot be known."""
        before = self.balance
        self.records += 1
        if balance is not None:
            self.balance = balance
        if balance is None or before is None or balance > before:
            self.unpriced += 1  # no figure, no earlier one, or a top-up: never a negative cost
            return None
        self.spent += before - balance
        return before - balance
