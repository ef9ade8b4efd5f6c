"""The turn engine: conversation + client + store + credits, with no UI."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Protocol, TypeVar

from segchat.config import Config
from segchat.conversation import Message
from segchat.errors import BudgetError, CreditsError, UsageError
from segchat.store import SessionInfo, Store

if TYPE_CHECKING:
    from segchat.client import ChatClient
    from segchat.wire import Balance, Reply

T = TypeVar("T")


class Runner(Protocol):
    """Runs a request function (given a cancel event); the REPL's runner shows a spinner and takes Ctrl-C."""

    def __call__(self, call: Callable[[threading.Event], T]) -> T: ...


def run_here(call: Callable[[threading.Event], T]) -> T:
    """Run a request in this thread (one-shot mode)."""
    return call(threading.Event())


def fmt_credits(value: Decimal | None) -> str:
    """Credits exactly as the server gave them (0.00042 stays 0.00042), or — when unknown."""
    if value is None:
        return "—"
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


@dataclass
class Turn:
    """What one exchange produced, for the UI to show."""

    reply: Reply
    cost: Decimal | None
    notices: list[str] = field(default_factory=list)


class Chat:
    """One session's conversation, sent turn by turn and saved as it happens."""

    def __init__(self, config: Config, client: ChatClient, store: Store, session: SessionInfo, *,
                 adopt_pending: bool = True) -> None:
        self.config, self.client, self.store = config, client, store
        self.ledger = Ledger()
        self.settings: dict[str, Any] = config.sampling()
        self.max_credits = config.max_credits
        self._tokens: tuple[Any, int] = (None, 0)
        self._enter(session, adopt_pending)

    @property
    def model(self) -> str:
        return self.client.model

    # -- turns --------------------------------------------------------------------------------

    def send(self, text: str | None, run: Runner = run_here) -> Turn:
        """Send text (or, with None, the pending message) with the whole conversation."""
        self._check_budget()
        notices = self._sync()
        if text is not None:
            self.forget_pending()
            self.conversation.pending = text
            self._pending_ids.append(self.store.add_pending(self.session.id, text))
        elif self.conversation.pending is None:
            raise UsageError("there is no unsent message to send again")
        payload, params = self.conversation.payload(), dict(self.settings)
        reply = self._request(run, payload, params)
        turn = self._commit(reply, self.conversation.pending, remove=0)
        turn.notices[:0] = notices
        return turn

    def regenerate(self, run: Runner = run_here, text: str | None = None) -> Turn:
        """Ask again for the last reply (to text instead, when given); the old exchange stays if this fails."""
        if self.conversation.pending is not None:
            return self.send(text, run)
        self._check_budget()
        if self.conversation.last("user") is None:
            raise UsageError("nothing to retry yet: send a message first")
        removed = self.conversation.pop_exchange()
        text = removed[0].content if text is None else text
        try:
            payload = self.conversation.payload() + [{"role": "user", "content": text}]
            reply = self._request(run, payload, dict(self.settings))
        except BaseException:
            self.conversation.messages += removed
            raise
        return self._commit(reply, text, remove=len(removed))

    def _request(self, run: Runner, payload: list[dict[str, str]], params: dict[str, Any]) -> Reply:
        try:
            return run(lambda cancel: self.client.complete(payload, params, cancel))
        except CreditsError as exc:
            balance = self.ledger.balance if self.ledger.balance is not None else self.store.last_balance()
            raise CreditsError(f"{exc}; last known balance: {fmt_credits(balance)}", exc.status) from None

    def _commit(self, reply: Reply, user_text: str, remove: int) -> Turn:
        now = time.time()
        cost = self.ledger.record(reply.credits)
        meta: dict[str, Any] = {"elapsed": round(reply.elapsed, 3), "model": self.client.model}
        for key, value in (("usage", reply.usage), ("finish_reason", reply.finish_reason),
                           ("incomplete", reply.incomplete), ("cost", cost)):
            if value is not None:
                meta[key] = str(value) if key == "cost" else value
        pair = [Message("user", user_text, now), Message("assistant", reply.content, now, meta)]
        fields: dict[str, Any] = {"spent": self.ledger.spent, "unpriced": self.ledger.unpriced,
                                  "model": self.client.model}
        if self.ledger.balance is not None:
            fields["balance"] = self.ledger.balance
        pending_id = self._pending_ids[-1] if remove == 0 and self._pending_ids else None
        self._known_last = self.store.add_exchange(self.session.id, pair, pending_id=pending_id,
                                                   replace_last=remove, **fields)
        if pending_id is not None:
            self._pending_ids.pop()
        self.conversation.messages += pair
        self.conversation.pending = None
        return Turn(reply, cost, self._notices(reply))

    def _notices(self, reply: Reply) -> list[str]:
        notes = []
        if reply.credits_raw is not None:
            notes.append(f"the server sent an unparsable x-remaining-credits header: {reply.credits_raw[:40]!r}; "
                         "credits stay unknown")
        if reply.incomplete:
            notes.append(f"reply incomplete: {reply.incomplete}")
        if reply.finish_reason == "length":
            notes.append("reply cut at max_tokens (raise it with /set max_tokens N)")
        balance = self.ledger.balance
        if balance is not None and balance < self.config.low_credit_warning and not self.ledger.warned_low:
            self.ledger.warned_low = True
            notes.append(f"low credits: {fmt_credits(balance)} left "
                         f"(warning below {fmt_credits(self.config.low_credit_warning)})")
        share = self.context_tokens() / self.config.context_window
        if share >= self.config.context_warning:
            notes.append(f"the conversation fills {share:.0%} of the {self.config.context_window:,}-token context; "
                         "/trim N drops the oldest exchanges")
        return notes

    def _check_budget(self) -> None:
        if self.max_credits is not None and self.ledger.spent >= self.max_credits:
            raise BudgetError(f"this session has spent {fmt_credits(self.ledger.spent)} credits, reaching its "
                              f"budget of {fmt_credits(self.max_credits)}; raise it with /budget N or --max-credits N")

    def _sync(self) -> list[str]:
        """Take in turns another segchat appended to this session since we last looked."""
        last = self.store.last_message_id(self.session.id)
        if last == self._known_last:
            return []
        fresh = self.store.load(self.session.id)
        added = len(fresh.messages) - len(self.conversation.messages)
        self.conversation.messages = fresh.messages
        self._known_last = last
        return [f"session '{self.session.name}' was changed by another segchat; "
                f"continuing from its latest state ({added:+d} messages)"]

    def forget_pending(self) -> None:
        if self._pending_ids:
            self.store.drop_pending(self._pending_ids)
            self._pending_ids.clear()
        self.conversation.pending = None

    # -- state the UI shows and changes -------------------------------------------------------

    def context_tokens(self) -> int:
        """The server's own count after the last reply when it gave one, else an estimate.

        The toolbar asks on every keypress, so the estimate is cached until the conversation changes.
        """
        c = self.conversation
        last = c.messages[-1] if c.messages else None
        usage = last.meta.get("usage") if last is not None and last.role == "assistant" else None
        if isinstance(usage, dict) and c.pending is None:
            total, prompt, completion = (usage.get(k) for k in ("total_tokens", "prompt_tokens", "completion_tokens"))
            if isinstance(total, int):
                return total
            if isinstance(prompt, int) and isinstance(completion, int):
                return prompt + completion
        key = (id(c), len(c.messages), id(last), c.system, c.pending)
        if self._tokens[0] != key:
            self._tokens = (key, c.estimate_tokens())
        return self._tokens[1]

    def undo(self) -> list[Message]:
        """Remove the last exchange, here and in the store."""
        removed = self.conversation.pop_exchange()
        if removed:
            self.store.remove_messages(self.session.id, len(removed))
            self._known_last = self.store.last_message_id(self.session.id)
        return removed

    def trim(self, count: int) -> list[Message]:
        """Drop the count oldest exchanges, here and in the store."""
        removed = self.conversation.drop_oldest(count)
        if removed:
            self.store.remove_messages(self.session.id, len(removed), oldest=True)
            self._known_last = self.store.last_message_id(self.session.id)
        return removed

    def refresh_balance(self, run: Runner = run_here) -> Balance:
        """Ask for the account's credits; a turn that finished meanwhile has the newer figure."""
        mark = self.ledger.records
        balance = run(lambda cancel: self.client.balance(cancel))
        if self.ledger.records == mark:
            self.ledger.observe(balance.credits)
        return balance

    def set_system(self, text: str | None) -> None:
        self.conversation.system = text or None
        self.store.update(self.session.id, system=text or None)

    def set_model(self, slug: str) -> None:
        self.client.model = slug
        self.store.update(self.session.id, model=slug)

    def switch(self, session: SessionInfo) -> None:
        """Continue another session from here on, leaving this one."""
        if session.id != self.session.id:
            self.close()
        self._enter(session, adopt_pending=True)

    def _enter(self, session: SessionInfo, adopt_pending: bool) -> None:
        """Load session. adopt_pending takes over its unsent message (the REPL offers it, and a new
        message replaces it); a one-shot question leaves it stored for the next chat to offer.
        """
        self.session = session
        self.conversation = self.store.load(session.id)
        self.ledger.spent, self.ledger.unpriced = session.spent or Decimal(0), session.unpriced
        self._known_last = self.store.last_message_id(session.id)
        self._pending_ids = [pid for pid, _ in self.store.pending(session.id)] if adopt_pending else []
        if not adopt_pending:
            self.conversation.pending = None

    def close(self) -> None:
        """Leave the session; one that never got a message is not kept (no empty clutter in --list)."""
        self.store.delete_if_empty(self.session.id)

    def new_session(self, name: str | None = None) -> SessionInfo:
        """A fresh conversation with the same system prompt; the old one stays saved."""
        info = self.store.create(name, model=self.client.model, system=self.conversation.system)
        self.switch(info)
        return info
