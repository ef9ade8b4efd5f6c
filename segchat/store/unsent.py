"""Unsent messages in the store: written before they are sent, owned by the process that wrote them."""

from __future__ import annotations

import time

from segchat.store import ownership as owner
from segchat.store.meta import parse as parse_meta
from segchat.store.meta import text as meta_text

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing; checkers read it as True
if TYPE_CHECKING:
    import contextlib
    import sqlite3
    from typing import Any, Callable

    from segchat.model.conversation import UnsentMessage


class Unsent:
    """The unsent table's part of Store; it relies on the store's connection and transaction."""

    _db: sqlite3.Connection
    _tx: Callable[[], contextlib.AbstractContextManager[None]]

    def add_unsent(self, session_id: int, unsent: UnsentMessage) -> int:
        """Record a user message before it is sent, so a crash cannot lose it; this process owns it."""
        meta = meta_text(unsent.meta) if unsent.meta else None
        with self._tx():
            cur = self._db.execute("INSERT INTO unsent(session_id, content, created, owner, meta) VALUES (?,?,?,?,?)",
                                   (session_id, unsent.text, time.time(), owner.token(), meta))
        unsent.id = cur.lastrowid
        return unsent.id

    def unsent(self, session_id: int) -> list[UnsentMessage]:
        """Unsent messages this process may take: its own, and those whose writer has ended."""
        rows = self._db.execute("SELECT id, content, owner, meta FROM unsent WHERE session_id=? ORDER BY id",
                                (session_id,)).fetchall()
        if not rows:  # the usual case: no need for this process's token (socket) nor for UnsentMessage (dataclasses)
            return []
        from segchat.model.conversation import UnsentMessage

        me, unsent_messages = owner.token(), []
        for row_id, content, who, meta in rows:
            if who == me or not owner.alive(who):
                try:
                    unsent_messages.append(UnsentMessage(content, row_id, parse_meta(meta) if meta else {}))
                except ValueError:
                    unsent_messages.append(UnsentMessage(content, row_id))
        return unsent_messages

    def update_unsent(self, unsent_id: int, meta: dict[str, Any]) -> None:
        """An unsent message's record changed (a queued job's id), written durably."""
        with self._tx():
            self._db.execute("UPDATE unsent SET meta=? WHERE id=?",
                             (meta_text(meta) if meta else None, unsent_id))

    def claim_unsent(self, unsent_ids: list[int]) -> None:
        """Take over unsent messages left by an ended process."""
        with self._tx():
            self._db.executemany("UPDATE unsent SET owner=? WHERE id=?", [(owner.token(), i) for i in unsent_ids])

    def drop_unsent(self, unsent_ids: list[int]) -> None:
        with self._tx():
            self._db.executemany("DELETE FROM unsent WHERE id=?", [(i,) for i in unsent_ids])
