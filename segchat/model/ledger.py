"""The credit ledger of a session: balances the server reports, what each turn cost, and the budget check."""

from __future__ import annotations

from decimal import Decimal

from segchat.errors import BudgetError, UnsureBudgetError


class Ledger:
    """Credits as the server reports them; Decimal because costs are tiny fractions."""

    def __init__(self) -> None:
        self.balance: Decimal | None = None
        self.spent = Decimal(0)
        self.unpriced = 0  # turns whose cost could not be known
        self.warned_low = False
        self.records = 0  # turns recorded; lets a slow balance fetch see it was overtaken
        self.started = 0  # turns sent: a fetch that overlapped one may already include its charge
        self.flying = 0  # turns sent and not yet answered
        self.rate: Decimal | None = None  # the fewest credits per token a turn has cost: what one turn can explain
        self.others = False  # the last cost was more than its tokens explain: other spending on the account

    def check(self, budget: Decimal | None, confirmed: bool = False) -> None:
        """Refuse a turn past the budget; with unknown costs, refuse unless the user confirmed."""
        if budget is None:
            return
        if self.spent >= budget:
            raise BudgetError(self.spent, budget)
        if self.unpriced and not confirmed:
            raise UnsureBudgetError(self.spent, budget, self.unpriced)

    def observe(self, balance: Decimal | None) -> None:
        """A balance seen outside a turn (start-up, /credits): it sets the base for the next cost."""
        if balance is not None:
            self.balance = balance

    def record(self, balance: Decimal | None, tokens: int | None = None,
               cost: Decimal | None = None) -> Decimal | None:
        """The cost of a turn whose response reported balance (and, where the server says it, its own cost);
        None when it cannot be known.

        A cost the server states is the turn's cost, whatever the balance did; without a reported balance, the
        balance known before goes down by it. Else the cost is the drop in the balance since the last one known.
        """
        before = self.balance
        self.records += 1
        self.others = False
        if balance is not None:
            self.balance = balance
        elif cost is not None and before is not None:
            self.balance = before - cost
        if cost is not None:
            return self._priced(cost, tokens, stated=True)
        if balance is None or before is None or balance > before:
            self.unpriced += 1  # no figure, no earlier one, or a top-up: never a negative cost
            return None
        return self._priced(before - balance, tokens)

    def settle(self, balance: Decimal, tokens: int | None = None) -> Decimal | None:
        """A turn recorded without a cost, priced by a balance fetched just after it."""
        before = self.balance
        if before is None or balance > before or not self.unpriced:
            return None
        self.balance, self.unpriced = balance, self.unpriced - 1
        return self._priced(before - balance, tokens)

    def _priced(self, cost: Decimal, tokens: int | None, stated: bool = False) -> Decimal:
        """cost added to what was spent. stated: the server said it (it is this turn's alone)."""
        self.spent += cost
        if tokens and cost > 0:
            # Twice the cheapest rate seen is more than this turn can explain: another client spent too.
            self.others = not stated and self.rate is not None and cost > 2 * self.rate * tokens
            self.rate = min(self.rate, cost / tokens) if self.rate is not None else cost / tokens
        return cost

    def fields(self) -> dict[str, object]:
        """What a session row keeps of the ledger."""
        fields: dict[str, object] = {"spent": self.spent, "unpriced": self.unpriced}
        if self.balance is not None:
            fields["balance"] = self.balance
        return fields
