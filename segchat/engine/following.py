"""The session a chat is in, kept in step with the store: entering, switching, other processes' changes."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from segchat.errors import SessionNotFound, StoreError
from segchat.model.turn import Notice

if TYPE_CHECKING:
    from segchat.config.settings import Config
    from segchat.model.conversation import Conversation, Message
    from segchat.model.ledger import Ledger
    from segchat.providers.base import Provider
    from segchat.store import Store
    from segchat.store.session_row import SessionInfo

T = TypeVar("T")


class Following:
    """What Chat does to stay in its session; it relies on these attributes of the chat."""

    config: Config
    provider: Provider
    store: Store
    session: SessionInfo
    conversation: Conversation
    ledger: Ledger
    role: str | None
    unsaved: list[Message]
    _known_last: int

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
                                     profile=self.config.profile)
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

    def forget_unsent(self) -> None:
        unsent = self.conversation.unsent
        if unsent is not None and unsent.id is not None:
            self.store.drop_unsent([unsent.id])
        self.conversation.unsent = None

    # -- state the UI shows and changes -------------------------------------------------------

    def switch(self, session: SessionInfo) -> None:
        """Continue another session from here on, leaving this one."""
        if session.id != self.session.id:
            self.close()
        self._enter(session, adopt_unsent=True)

    def _enter(self, session: SessionInfo, adopt_unsent: bool) -> None:
        """Load session. adopt_unsent takes over its unsent message (the REPL offers it, and a new
        message replaces it); a one-shot question leaves it stored for the next chat to offer.
        """
        self.session, self.role = session, session.role
        self.conversation = self.store.load(session.id, adopt=adopt_unsent)
        if self.conversation.unsent is not None and self.conversation.unsent.id is not None:
            self.store.claim_unsent([self.conversation.unsent.id])
        self.ledger.spent, self.ledger.unpriced = session.spent or Decimal(0), session.unpriced
        self._known_last = self.store.last_message_id(session.id)
        self.unsaved = []

    def close(self) -> None:
        """Leave the session; one that never got a message is not kept (no empty clutter in --list)."""
        self._store(lambda: self.store.delete_if_empty(self.session.id))

    def new_session(self, name: str | None = None) -> SessionInfo:
        """A fresh conversation with the same system prompt; the old one stays saved."""
        info = self.store.create(name, model=self.provider.model, system=self.conversation.system,
                                 profile=self.config.profile)
        self.switch(info)
        return info
