"""The turn engine: conversation + provider + store + credits, returning data and notice codes, no UI text.

A Chat is in one session and keeps it in step with the store: entering, switching, and taking in what other
segchat processes changed (turns appended, a rename, a deletion).
"""

from __future__ import annotations

import copy
import sqlite3
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from segchat.config.settings import SAMPLING, Config, check_sampling
from segchat.config.validate import check_model
from segchat.errors import (
    APIError,
    Cancelled,
    ConfigError,
    ContextError,
    ContextTooLong,
    CreditsError,
    JobFailed,
    SessionNotFound,
    StoreBusy,
    StoreError,
    UnsentTaken,
    UsageError,
)
from segchat.figures import fmt_credits
from segchat.model.attachments import Attachment, fits
from segchat.model.call import Call
from segchat.model.conversation import Conversation, Message, UnsentMessage, sent
from segchat.model.ledger import Ledger
from segchat.model.reply import Balance, Reply
from segchat.model.turn import Notice, Runner, Turn, run_here
from segchat.net.pacing import Pacer
from segchat.text.redact import hide_secrets, redact
from segchat.text.sanitize import whole_text

if TYPE_CHECKING:
    from segchat.config.roles import Role
    from segchat.providers.base import Provider
    from segchat.store import Store
    from segchat.store.session_row import SessionInfo

T = TypeVar("T")


class Chat:
    """One session's conversation, sent turn by turn and saved as it happens."""

    session: SessionInfo  # these three set by _enter, as a session is entered
    conversation: Conversation
    _known_last: int  # the id of the session's last stored message, when we last looked

    def __init__(self, config: Config, provider: Provider, store: Store, session: SessionInfo, *,
                 adopt_unsent: bool = True, store_first: bool = False) -> None:
        """store_first: a message is sent only once it is stored (a one-shot, which ends with its turn: a reply to
        a message the store could not take would be paid for and then lost). Without it, what the store cannot
        take is kept here, shown, and saved with the next message."""
        self.config, self.provider, self.store, self.store_first = config, provider, store, store_first
        self.ledger = Ledger()
        self.pacer = Pacer(config.rpm)  # every turn this chat sends, paced to the configured rate
        self.settings: dict[str, Any] = config.sampling()
        self.max_credits = config.max_credits if provider.has_credits else None
        self.unsaved: list[Message] = []  # turns shown but not yet stored; written with the next save
        self.role: str | None = None
        self.served_window: int | None = None  # as the server states it: learn_window(), or its refusal
        self._noted: set[str] = set()  # the models whose unknown window was told (model_notices)
        self._overflow_allowed: str | None = None  # the model the user chose to send to although over its window
        self._enter(session, adopt_unsent)

    @property
    def model(self) -> str:
        return self.provider.model

    @property
    def context_window(self) -> int | None:
        """The window of the model in use that the meter, the warning, the file check and the check before sending
        use: the server's word, else the context_window of the config's [models."SLUG"] table for the model, else
        the profile's context_window, else what the provider knows of the model without asking (Segmind: segchat's
        catalogue), else None (unknown)."""
        if self.served_window:
            return self.served_window
        own = self.config.model_settings(self.provider.model)
        if own is not None and own.context_window is not None:
            return own.context_window
        if self.config.context_window or self.provider.asks_window:
            return self.config.context_window
        return self.provider.context_window()

    def model_notices(self) -> list[Notice]:
        """What to tell about the model in use before sending to it: that nothing states its window (a slug segchat's
        catalogue does not know, sent as it is; said once a model), and that the conversation is already longer than
        its window."""
        notices = []
        model, window = self.provider.model, self.context_window
        if window is None and not self.provider.asks_window and model not in self._noted:
            self._noted.add(model)
            notices.append(Notice("model_not_in_catalogue", {"model": model}))
        tokens = self.context_tokens()
        if window is not None and tokens > window:
            notices.append(Notice("context_too_long", {"model": model, "tokens": tokens, "window": window}))
        return notices

    def allow_overflow(self) -> None:
        """Send to the model in use although the conversation looks longer than its window (the count is an
        estimate: the server decides), until the model changes."""
        self._overflow_allowed = self.provider.model

    def _check_window(self, text: str) -> None:
        """ContextTooLong when the conversation and text look longer than the window of the model in use (unless
        the user chose to send to it all the same)."""
        window, model = self.context_window, self.provider.model
        tokens = self.context_tokens() + len(text) // 4
        if window is not None and tokens > window and self._overflow_allowed != model:
            raise ContextTooLong(model, tokens, window)

    def learn_window(self, run: Runner = run_here) -> int | None:
        """Ask the provider for the served model's window (a request, where the server must be asked)."""
        model = self.provider.model
        window = run(lambda call: self.provider.context_window(call))
        if self.provider.model == model:  # not meanwhile switched to another model
            self.served_window = window
        return window

    # -- the session, kept in step with the store (other segchats may change it) ----------------

    def _enter(self, session: SessionInfo, adopt_unsent: bool) -> None:
        """Load session. adopt_unsent takes over its unsent message (the REPL offers it, and a new
        message replaces it); a one-shot question leaves it stored for the next chat to offer.
        One with a queued job is claimed by recover(), which the UI calls next.
        """
        self.session, self.role = session, session.role
        self.conversation = self.store.load(session.id, adopt=adopt_unsent)
        unsent = self.conversation.unsent
        if unsent is not None and unsent.id is not None and not unsent.meta.get("job") \
                and not self.store.claim_unsent([unsent.id]):
            self.conversation.unsent = None  # another segchat took it over at the same moment: it is that one's
        self.ledger.spent, self.ledger.unpriced = session.spent or Decimal(0), session.unpriced
        # The last message loaded, not the store's last: what another segchat appends meanwhile is taken in by _sync.
        loaded = self.conversation.messages
        self._known_last = (loaded[-1].id or 0) if loaded else 0
        self.unsaved = []

    def switch(self, session: SessionInfo) -> None:
        """Continue another session from here on, leaving this one."""
        if session.id != self.session.id:
            self.close()
        self._enter(session, adopt_unsent=True)

    def new_session(self, name: str | None = None) -> SessionInfo:
        """A fresh conversation with the same system prompt; the old one stays saved."""
        info = self.store.create(name, model=self.provider.model, system=self.conversation.system,
                                 profile=self.config.profile, credits=self.provider.has_credits)
        self.switch(info)
        return info

    def close(self) -> None:
        """Leave the session; one that never got a message is not kept (no empty clutter in --list)."""
        self._store(lambda: self.store.delete_if_empty(self.session.id))

    def forget_unsent(self) -> None:
        """Drop the unsent message, here and in the store."""
        unsent = self.conversation.unsent
        if unsent is not None and unsent.id is not None:
            self.store.drop_unsent([unsent.id])
        self.conversation.unsent = None

    def _sync(self) -> list[Notice]:
        """Take in turns another segchat appended to this session since we last looked; notice a rename
        or a deletion by another segchat (the conversation is then saved again, nothing lost).
        """
        try:
            info = self.store.get(self.session.id)
        except SessionNotFound:
            restored = self._restore()
            return [restored] if restored is not None else []
        except (StoreError, sqlite3.Error):
            return []
        notices = []
        if info.name != self.session.name:
            notices.append(Notice("renamed_elsewhere", {"old": self.session.name, "new": info.name}))
            self.session = info
        last = self._store(lambda: self.store.last_message_id(self.session.id), self._known_last)
        if last == self._known_last or self.unsaved:
            return notices
        fresh = self.store.load(self.session.id, adopt=False)
        added = len(fresh.messages) - len(self.conversation.messages)
        self.conversation.messages = fresh.messages
        self._known_last = last
        return [*notices, Notice("synced", {"session": self.session.name, "added": added})]

    def _restore(self) -> Notice | None:
        """This session was deleted by another segchat: save the conversation again, under its name if free."""
        try:
            if self.store.exists(self.session.id):
                return None
            name = self.session.name if self.session.name not in self.store.names() else None
            info = self.store.create(name, model=self.provider.model, system=self.conversation.system,
                                     profile=self.config.profile, credits=self.provider.has_credits)
            kept = [m for m in self.conversation.messages if m.role != "system"]
            self._known_last = self.store.add_exchange(info.id, kept, **self._ledger_fields()) if kept else 0
            unsent = self.conversation.unsent
            if unsent is not None:
                self.store.add_unsent(info.id, unsent)
        except (StoreError, sqlite3.Error, OSError):
            return None
        old, self.session, self.unsaved = self.session.name, self.store.get(info.id), []
        return Notice("restored", {"old": old, "new": self.session.name})

    def _ledger_fields(self) -> dict[str, Any]:
        return {"model": self.provider.model, **(self.ledger.fields() if self.provider.has_credits else {})}

    def _store(self, action: Callable[[], T], fallback: Any = None) -> T:
        """A store call whose failure must not stop the turn: the reply is worth more than the bookkeeping."""
        try:
            return action()
        except (StoreError, sqlite3.Error, OSError):
            return fallback

    # -- turns --------------------------------------------------------------------------------

    def send(self, text: str | None, run: Runner = run_here, files: list[Attachment] | None = None,
             confirmed: bool = False) -> Turn:
        """Send text with files (or, with None, the unsent message) and the whole conversation.

        confirmed: the user agreed to send although some costs are unknown and a budget is set.
        """
        self.ledger.check(self.max_credits, confirmed)
        notices = self._sync()
        if text is not None:
            self._check_window(text)
            self.check_fits(files or [], text)
            unsent = UnsentMessage(text, meta={"attachments": [f.to_dict() for f in files]} if files else {})
            self._keep_unsent(unsent)
            self.conversation.unsent = unsent
        elif self.conversation.unsent is None:
            raise UsageError("there is no unsent message to send again")
        else:
            self._check_window(self.conversation.unsent.text)
        unsent = self.conversation.unsent
        assert unsent is not None
        reply = self._request(run, self.conversation.payload(), unsent)
        turn = self._commit(reply, unsent, replace=[])
        turn.notices[:0] = notices
        return turn

    def _keep_unsent(self, unsent: UnsentMessage) -> None:
        """Store unsent in place of the unsent message there was, before it is sent. The one there was must go
        first, or the turn stops here; so must the new one with store_first (nothing was sent, StoreBusy when
        another process holds the store). Without it, the turn goes on, and what the store could not take is kept
        and saved with the next message."""
        try:
            self.forget_unsent()
            if self.store_first:
                self.store.add_unsent(self.session.id, unsent)
            else:
                self._store(lambda: self.store.add_unsent(self.session.id, unsent))
        except StoreBusy as exc:
            raise exc.before_sending() from None
        except (StoreError, sqlite3.Error, OSError) as exc:
            if not self.store_first:
                raise
            raise StoreError(f"the session store cannot keep your message ({exc}); nothing was sent") from None

    def recover(self, run: Runner = run_here, unsent: UnsentMessage | None = None) -> Turn | None:
        """Fetch the reply of an unsent message's queued job (the conversation's, or the one given), not paying again.

        None when there is no job to ask about; a job that failed or is unknown leaves the message unsent.
        The message is claimed first: UnsentTaken when another segchat claimed it, or stored its reply, first
        (nothing is stored twice; its exchange is taken in here).
        """
        unsent = unsent or self.conversation.unsent
        if unsent is None or not unsent.meta.get("job") or not self.provider.recovers_jobs:
            return None
        if unsent.id is not None and not self.store.claim_unsent([unsent.id]):
            self._taken(unsent)
        reply = self._request(run, [], unsent)
        turn = self._commit(reply, unsent, replace=[])
        turn.notices.insert(0, Notice("recovered"))
        return turn

    def _taken(self, unsent: UnsentMessage) -> None:
        """Another segchat answers unsent: it is no longer ours, and what that one stored is taken in."""
        if self.conversation.unsent is unsent:
            self.conversation.unsent = None
        self._sync()
        raise UnsentTaken(f"another segchat answers the message {unsent.text[:40]!r}")

    def stranded(self) -> list[UnsentMessage]:
        """Unsent messages of this session with a queued job, left by processes that have ended."""
        return [d for d in self._store(lambda: self.store.unsent(self.session.id), []) if d.meta.get("job")]

    def regenerate(self, run: Runner = run_here, text: str | None = None, confirmed: bool = False) -> Turn:
        """Ask again for the last reply (to text instead, when given); the old exchange stays if this fails."""
        if self.conversation.unsent is not None:
            return self.send(text, run, confirmed=confirmed)
        self.ledger.check(self.max_credits, confirmed)
        if self.conversation.last("user") is None:
            raise UsageError("nothing to retry yet: send a message first")
        self._check_window("" if text is None else text)
        removed = self.conversation.pop_exchange()
        files = {"attachments": removed[0].meta["attachments"]} if removed[0].meta.get("attachments") else {}
        unsent = UnsentMessage(removed[0].content if text is None else text, meta=files)
        try:
            asked = {"role": "user", "content": sent(unsent.text, unsent.meta)}
            reply = self._request(run, [*self.conversation.payload(), asked], unsent)
        except BaseException:
            self.conversation.messages += removed
            raise
        return self._commit(reply, unsent, replace=[m.id for m in removed if m.id is not None])

    def _request(self, run: Runner, payload: list[dict[str, str]], unsent: UnsentMessage) -> Reply:
        params, started = dict(self.settings), time.monotonic()
        self.ledger.started += 1
        self.ledger.flying += 1
        try:
            reply = run(lambda call: self._ask(payload, params, call, unsent))
        except Cancelled as exc:
            if not exc.partial.strip():  # nothing worth keeping arrived: the message stays unsent
                raise
            # Streamed text the user has seen stays, marked: /retry asks for a whole new reply.
            reply = Reply(exc.partial, streamed=True, interrupted=True, incomplete="interrupted")
        except CreditsError as exc:
            balance = self.ledger.balance if self.ledger.balance is not None else self.store.last_balance()
            raise CreditsError(f"{exc}; last known balance: {fmt_credits(balance)}", exc.status) from None
        except ContextError as exc:
            if exc.window is not None:  # the server said its window: the meter uses it from now on
                self.served_window = exc.window
            raise
        finally:
            self.ledger.flying -= 1
        reply.elapsed = time.monotonic() - started
        return reply

    def _ask(self, payload: list[dict[str, str]], params: dict[str, Any], call: Call, unsent: UnsentMessage) -> Reply:
        """The provider's answer; a message whose job is queued already is asked about, not sent again (nor
        paced: asking sends nothing new). A new send waits for the pacer first."""
        job = unsent.meta.get("job")
        call.on_job = lambda found: self._note_job(unsent, found)
        call.warms_up = self.provider.warms_up
        try:
            if job and self.provider.recovers_jobs:
                return self.provider.resume(job, call)
            self.pacer.wait(call)
            return self.provider.complete(payload, params, call)
        except JobFailed:
            self._note_job(unsent, None)  # nothing to fetch: the message is unsent, as any other
            raise

    def _note_job(self, unsent: UnsentMessage, job: dict[str, str] | None) -> None:
        """Keep (or drop) a queued job's id with its message, on disk before the first poll."""
        if job is None:
            unsent.meta.pop("job", None)
        else:
            unsent.meta["job"] = job
        if unsent.id is not None:
            self._store(lambda: self.store.update_unsent(unsent.id, unsent.meta))

    def _commit(self, reply: Reply, unsent: UnsentMessage, replace: list[int]) -> Turn:
        """Keep the reply first (in memory, then on disk); figures and notices only after.

        What the server sent is kept without a key segchat was given: the reply's text with hide_secrets(), its
        finish reason and what cut it short with redact(). Here, once, and not in the store: the conversation in
        memory is what is stored, shown (/history, /copy), exported and sent back to the server, so it is the
        same text everywhere, and the store keeps what it is given.
        """
        now = time.time()
        reply.content = hide_secrets(whole_text(reply.content))  # whole: a lone surrogate would be unstorable
        reply.finish_reason = redact(reply.finish_reason) if reply.finish_reason is not None else None
        reply.incomplete = redact(reply.incomplete) if reply.incomplete is not None else None
        meta: dict[str, Any] = {"elapsed": round(reply.elapsed, 3), "model": self._model_asked(unsent)}
        # The reasoning is kept with the reply (JSON exports carry it), never in its content: payload() sends
        # only the content back, as the servers that reason ask.
        for key, value in (("usage", reply.usage), ("finish_reason", reply.finish_reason),
                           ("incomplete", reply.incomplete), ("interrupted", reply.interrupted or None),
                           ("reasoning", hide_secrets(whole_text(reply.reasoning)) or None)):
            if value is not None:
                meta[key] = value
        kept = {k: v for k, v in unsent.meta.items() if k != "job"}  # the job is done with once answered
        pair = [Message("user", unsent.text, now, kept), Message("assistant", reply.content, now, meta)]
        self.conversation.messages += pair
        self.conversation.unsent = None
        ledger = copy.copy(self.ledger)  # as it was, should another segchat have stored this exchange first
        cost = self.ledger.record(reply.credits, reply.tokens, reply.cost) if self.provider.has_credits else None
        if cost is not None:
            meta["cost"] = str(cost)
        fields = self._ledger_fields()
        notices: list[Notice] = []
        try:
            self._known_last = self.store.add_exchange(self.session.id, [*self.unsaved, *pair],
                                                       unsent_id=unsent.id, replace=replace, **fields)
            self.unsaved = []
        except UnsentTaken:
            self.conversation.messages = self.conversation.messages[:-2]
            self.ledger = ledger
            self._taken(unsent)
        except (StoreError, sqlite3.Error, OSError) as exc:
            self.unsaved += pair
            restored = self._restore()
            if restored is not None:
                notices.append(restored)
            else:
                notices.append(Notice("not_saved", {"reason": str(exc), "count": len(self.unsaved) // 2}))
        turn = Turn(reply, cost, notices, saved=not self.unsaved)
        turn.notices += self._notices(reply)
        return turn

    def _model_asked(self, unsent: UnsentMessage) -> str:
        """The model a reply came from: the one its queued job was sent to (before a /model since), else this one."""
        job = unsent.meta.get("job")
        model = job.get("model") if isinstance(job, dict) else None
        return model if isinstance(model, str) and model else self.provider.model

    def _notices(self, reply: Reply) -> list[Notice]:
        notes = []
        if reply.credits_raw is not None:
            notes.append(Notice("bad_credits_header", {"raw": redact(reply.credits_raw)[:40]}))
        if self.ledger.others:
            notes.append(Notice("other_spending"))
        if reply.interrupted:
            notes.append(Notice("interrupted"))
        elif reply.incomplete:
            notes.append(Notice("incomplete", {"reason": reply.incomplete}))
        if reply.finish_reason == "length":  # segchat's max_tokens, or a limit of the server's own
            notes.append(Notice("cut_at_max_tokens" if self.settings.get("max_tokens") is not None
                                else "cut_at_server_limit"))
        balance = self.ledger.balance
        if balance is not None and balance < self.config.low_credit_warning and not self.ledger.warned_low:
            self.ledger.warned_low = True
            notes.append(Notice("low_credits", {"balance": balance, "threshold": self.config.low_credit_warning}))
        window = self.context_window
        share = self.context_tokens() / window if window else 0.0
        if window and share >= self.config.context_warning:
            notes.append(Notice("context_full", {"share": share, "window": window}))
        return notes

    def check_fits(self, files: list[Attachment], text: str = "") -> None:
        """Refuse files that would overflow the context window, naming the one that tips it over."""
        fits(files, self.context_tokens() + len(text) // 4, self.context_window)

    def context_tokens(self) -> int:
        return self.conversation.context_tokens()

    def undo(self) -> list[Message]:
        """Remove the last exchange of this conversation, here and (by id) in the store; the title follows."""
        removed = self.conversation.pop_exchange()
        try:
            self._forget(removed)
        except BaseException:  # the store refused: so does the chat, nothing half done
            self.conversation.messages += removed
            raise
        if removed:
            first = self.conversation.first("user")
            self._store(lambda: self.store.retitle(self.session.id, first.content if first else ""))
        return removed

    def trim(self, count: int) -> list[Message]:
        """Drop the count oldest exchanges, in the store first, then here."""
        self._forget([m for pair in self.conversation.exchanges()[:count] for m in pair if m is not None])
        return self.conversation.drop_oldest(count)

    def _forget(self, removed: list[Message]) -> None:
        ids = [m.id for m in removed if m.id is not None]
        self.unsaved = [m for m in self.unsaved if all(m is not r for r in removed)]
        if ids:
            self.store.remove_messages(self.session.id, ids)
            self._known_last = self.store.last_message_id(self.session.id)  # our own change, not another's

    def refresh_balance(self, run: Runner = run_here) -> Balance:
        """Ask for the account's credits; a turn that finished meanwhile has the newer figure."""
        if not self.provider.has_credits:
            raise UsageError(f"the {self.provider.name} provider has no credits to ask for")
        mark, flying = (self.ledger.records, self.ledger.started), self.ledger.flying
        balance = run(lambda call: self.provider.balance(call))
        # A clean base only when no turn was on its way, before or during the fetch (it may hold the charge).
        if (self.ledger.records, self.ledger.started) == mark and not flying:
            self.ledger.observe(balance.credits)
        return balance

    def settle(self, turn: Turn, run: Runner = run_here) -> None:
        """Price a turn whose answer carried no usable balance, with one balance fetch after it; called once the
        reply is on screen and saved: a slow fetch can delay the cost line, never the reply."""
        if not self.provider.has_credits or turn.cost is not None or turn.reply.credits is not None \
                or self.ledger.balance is None:
            return
        try:
            balance = run(lambda call: self.provider.balance(call)).credits
        except (APIError, Cancelled):
            return
        if balance is None or (cost := self.ledger.settle(balance, turn.reply.tokens)) is None:
            return
        turn.cost = cost
        if self.ledger.others:
            turn.notices.append(Notice("other_spending"))
        reply = self.conversation.messages[-1] if self.conversation.messages else None
        if reply is not None and reply.role == "assistant":
            reply.meta["cost"] = str(cost)
        self._store(lambda: self.store.reprice(self.session.id, reply, **self._ledger_fields()))

    def set_system(self, text: str | None) -> None:
        self.store.update(self.session.id, system=text or None)
        self.conversation.system = text or None

    def set_role(self, role: Role) -> list[Notice]:
        """Switch to a role mid-session: its system prompt and its sampling settings and model; what to tell about
        its model (model_notices) when it is another."""
        wanted = role.settings.get("profile")
        if wanted is not None and wanted != self.config.profile:
            raise UsageError(f"role '{role.name}' uses profile '{wanted}'; start it with segchat --role {role.name} "
                             "(a profile is chosen when a session starts)")
        try:  # checked like the same settings anywhere else, before anything changes
            sampling = {k: check_sampling(k, v, in_toml=True) for k, v in role.settings.items() if k in SAMPLING}
            model = check_model(role.settings.get("model", self.provider.model), self.provider.name)
        except ConfigError as exc:
            raise UsageError(f"role '{role.name}': {exc}") from None
        self.store.update(self.session.id, system=role.system, role=role.name, model=model)
        switched = model != self.provider.model
        if switched:
            self._use_model(model)
        self.conversation.system, self.role = role.system, role.name
        self.settings.update(sampling)
        return self.model_notices() if switched else []

    def set_model(self, model: str) -> list[Notice]:
        """Switch model; its window is known at once, or (where the server must be asked) by learn_window(). What
        to tell about the new model: model_notices()."""
        checked = check_model(model, self.provider.name)
        self.store.update(self.session.id, model=checked)  # the store first: a failure there changes nothing
        self._use_model(checked)
        return self.model_notices()

    def _use_model(self, model: str) -> None:
        """Ask model from now on: the window the server stated and an overflow allowed were the last model's."""
        self.provider.model, self.served_window, self._overflow_allowed = model, None, None

    def set_budget(self, value: Decimal | None) -> None:
        if value is not None and not self.provider.has_credits:
            raise UsageError(f"a budget needs credits, and the {self.provider.name} provider has none")
        self.max_credits = value
