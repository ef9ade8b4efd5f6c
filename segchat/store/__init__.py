"""Session persistence in one SQLite file: a durable transaction per turn, FTS5 search."""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from segchat.errors import SessionNotFound, StoreBusy, StoreError, UnsentTaken
from segchat.model.conversation import Conversation, Message, UnsentMessage
from segchat.private_files import private_dir
from segchat.store import ownership
from segchat.store.schema import aside_name, open_database, open_for_reading
from segchat.store.session_row import SessionInfo, check_name, figure, make_title

if TYPE_CHECKING:
    from segchat.private_files import Where

# A session's row with its counts of messages and of unsent ones: SessionInfo's fields, in order.
_INFO = ("SELECT s.id, s.name, s.title, s.model, s.system, s.created, s.updated, s.spent, s.balance, s.unpriced, "
         "s.message_count, s.profile, s.role, "
         "(SELECT count(*) FROM pending u WHERE u.session_id = s.id) FROM sessions s")
# What --list shows of every session that holds something, newest first (not the system prompt, which can be
# long). Unsent messages are counted in one grouped pass: the unsent table has no index by session, so a
# subquery per session would read all of it each time.
_LISTING = ("SELECT s.id, s.name, s.title, s.model, s.updated, s.spent, s.balance, s.unpriced, "
            "s.message_count, s.profile, coalesce(u.n, 0) "
            "FROM sessions s LEFT JOIN (SELECT session_id, count(*) AS n FROM pending GROUP BY session_id) u "
            "ON u.session_id = s.id WHERE s.message_count > 0 OR u.n IS NOT NULL "
            "ORDER BY s.updated DESC, s.id DESC")
# A message's model (its meta's "model", where that is text) read by SQLite's JSON functions, which ask only a
# meta that is valid JSON; one stored as bytes is read as text, as load() reads it.
_MODEL = ("CASE WHEN json_valid(CAST(meta AS TEXT)) THEN CASE json_type(CAST(meta AS TEXT), '$.model') "
          "WHEN 'text' THEN json_extract(CAST(meta AS TEXT), '$.model') END END")


class Store:
    """Opens (creating if needed) the session database at path.

    A file that is not a readable database is moved aside, never overwritten,
    and the reason is left in notices for the caller to show.

    A write queues behind another process's: one that keeps what was paid for (a reply, a queued job's id, a
    price) for wait seconds; one that comes before a request is sent (a new session, an unsent message, its claim)
    only for wait_before_sending, so that a store another process holds is told before anything is paid for that
    could not be saved. StoreBusy when the wait runs out.
    read_only: only reads will be made (listing, showing, searching, exporting): a store that exists is opened
    for reading, so one on a read-only file, directory or file system can be read.
    """

    def __init__(self, path: Where, *, wait: float = 10.0, wait_before_sending: float = 3.0,
                 read_only: bool = False) -> None:
        self.path, self.wait, self.wait_before_sending = path, wait, wait_before_sending
        self.notices: list[str] = []
        if read_only:
            try:
                reading = open_for_reading(path, wait, self.notices)
            except sqlite3.OperationalError as exc:
                raise StoreError(f"cannot open the session store {path}: {exc}") from None
            if reading is not None:
                self._db = reading
                return
        directory = os.path.dirname(os.fspath(path))
        try:
            private_dir(directory)
        except OSError as exc:
            raise StoreError(f"cannot create the directory for the session store {directory}: "
                             f"{exc.strerror}") from None
        try:
            self._db = open_database(self.path, self.wait)
        except OSError as exc:
            raise StoreError(f"cannot create the session store {path}: {exc.strerror}") from None
        except sqlite3.OperationalError as exc:
            # Locked, unreadable, no room: the data may be fine, so it stays where it is.
            raise StoreError(f"cannot open the session store {path}: {exc}") from None
        except sqlite3.DatabaseError as exc:  # not a database, or a damaged one
            aside = aside_name(path)
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.replace(f"{path}{suffix}", f"{aside}{suffix}")
            self.notices.append(f"the session store {path} could not be read ({exc}); it was moved to {aside} "
                                "and a new store was started")
            self._db = open_database(self.path, self.wait)

    @contextlib.contextmanager
    def _tx(self, wait: float | None = None) -> Iterator[None]:
        """One write transaction. BEGIN IMMEDIATE takes the write lock up front, so two processes queue instead of
        failing halfway; StoreBusy when another holds it for longer than wait (by default self.wait)."""
        wait = self.wait if wait is None else wait
        self._db.execute(f"PRAGMA busy_timeout={round(wait * 1000)}")
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:  # the low byte: the primary result code
                raise
            raise StoreBusy(os.fspath(self.path), wait) from None
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()

    def check_not_busy(self) -> None:
        """Take the write lock and let it go, as a write before sending would: StoreBusy when another process
        holds it for longer than wait_before_sending. For a run that asks the server before its first write."""
        with self._tx(self.wait_before_sending):
            pass

    def create(self, name: str | None = None, *, model: str = "", system: str | None = None,
               profile: str | None = None, role: str | None = None, credits: bool = True) -> SessionInfo:
        """A new session; credits: its provider has credits, so its spend starts at 0 (else it has none: None)."""
        now = time.time()
        with self._tx(self.wait_before_sending):
            if name is None:
                name = self._fresh_name()
            check_name(name)
            if self._db.execute("SELECT 1 FROM sessions WHERE name=?", (name,)).fetchone():
                raise StoreError(f"a session named '{name}' already exists")
            cur = self._db.execute(
                "INSERT INTO sessions(name, model, system, created, updated, spent, profile, role) "
                "VALUES (?,?,?,?,?,?,?,?)", (name, model, system, now, now, "0" if credits else None, profile, role))
        return self.get(cur.lastrowid)

    def _fresh_name(self) -> str:
        base = time.strftime("%Y%m%d-%H%M")
        name, n = base, 1
        while self._db.execute("SELECT 1 FROM sessions WHERE name=?", (name,)).fetchone():
            n += 1
            name = f"{base}-{n}"
        return name

    def exists(self, session_id: int) -> bool:
        return self._db.execute("SELECT 1 FROM sessions WHERE id=?", (session_id,)).fetchone() is not None

    def get(self, session_id: int) -> SessionInfo:
        row = self._db.execute(_INFO + " WHERE s.id=?", (session_id,)).fetchone()
        if row is None:
            raise SessionNotFound(f"no session with id {session_id}")
        return _info(row)

    def find(self, ref: str) -> SessionInfo:
        """A session by name, or by id; unknown ones name the closest matches."""
        row = self._db.execute(_INFO + " WHERE s.name=?", (ref,)).fetchone()
        if row is None and ref.isascii() and ref.isdigit():
            row = self._db.execute(_INFO + " WHERE s.id=?", (int(ref),)).fetchone()
        if row is not None:
            return _info(row)
        names = [r[0] for r in self._db.execute("SELECT name FROM sessions")]
        close = difflib.get_close_matches(ref, names, n=3, cutoff=0.5)
        close += [n for n in names if ref.lower() in n.lower() and n not in close][: 3 - len(close)]
        hint = f"; did you mean: {', '.join(close)}?" if close else "; see segchat --list"
        raise SessionNotFound(f"no session named '{ref[:70]}'{hint}")

    def latest(self) -> SessionInfo | None:
        """The most recently used session that holds something (a process killed at once leaves an empty one)."""
        row = self._db.execute(_INFO + " WHERE EXISTS (SELECT 1 FROM messages WHERE session_id = s.id) OR EXISTS "
                               "(SELECT 1 FROM pending WHERE session_id = s.id) "
                               "ORDER BY s.updated DESC, s.id DESC LIMIT 1").fetchone()
        return _info(row) if row else None

    def listing(self) -> list[tuple]:
        """Sessions holding a message or an unsent one, newest first, as rows of (id, name, title, model, updated,
        spent, balance, unpriced, message count, profile, unsent count), the figures as stored."""
        return self._db.execute(_LISTING).fetchall()

    def last_balance(self) -> Decimal | None:
        """The newest credit balance any session recorded."""
        row = self._db.execute("SELECT balance FROM sessions WHERE balance IS NOT NULL "
                               "ORDER BY updated DESC LIMIT 1").fetchone()
        return Decimal(row[0]) if row else None

    def names(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT name FROM sessions ORDER BY updated DESC")]

    def rename(self, ref: str, new: str) -> SessionInfo:
        info = self.find(ref)
        check_name(new)
        with self._tx():
            if self._db.execute("SELECT 1 FROM sessions WHERE name=? AND id<>?", (new, info.id)).fetchone():
                raise StoreError(f"a session named '{new}' already exists")
            self._db.execute("UPDATE sessions SET name=? WHERE id=?", (new, info.id))
        return self.get(info.id)

    def delete(self, ref: str) -> SessionInfo:
        info = self.find(ref)
        with self._tx():
            self._db.execute("DELETE FROM messages WHERE session_id=?", (info.id,))
            self._db.execute("DELETE FROM sessions WHERE id=?", (info.id,))
        return info

    def delete_if_empty(self, session_id: int) -> bool:
        """Drop a session that holds no message and no unsent one (opened, then left)."""
        with self._tx():
            cur = self._db.execute(
                "DELETE FROM sessions WHERE id=? AND NOT EXISTS (SELECT 1 FROM messages WHERE session_id=?) "
                "AND NOT EXISTS (SELECT 1 FROM pending WHERE session_id=?)", (session_id,) * 3)
        return cur.rowcount > 0

    def update(self, session_id: int, **fields: Any) -> None:
        """Set session columns (system, model, spent, balance, title)."""
        allowed = {"system", "model", "spent", "balance", "title", "unpriced", "profile", "role"}
        if not fields or set(fields) - allowed:
            raise ValueError(f"cannot update {sorted(set(fields) - allowed)}")
        values = [str(v) if isinstance(v, Decimal) else v for v in fields.values()]
        with self._tx(self.wait_before_sending):
            self._db.execute(f"UPDATE sessions SET {', '.join(f'{k}=?' for k in fields)}, updated=? WHERE id=?",
                             (*values, time.time(), session_id))

    # -- unsent messages: written before they are sent, owned by the process that wrote them --------

    def add_unsent(self, session_id: int, unsent: UnsentMessage) -> int:
        """Record a user message before it is sent, so a crash cannot lose it; this process owns it."""
        meta = _meta_json(unsent.meta) if unsent.meta else None
        with self._tx(self.wait_before_sending):
            cur = self._db.execute("INSERT INTO pending(session_id, content, created, owner, meta) VALUES (?,?,?,?,?)",
                                   (session_id, unsent.text, time.time(), ownership.token(), meta))
        unsent.id = cur.lastrowid
        return unsent.id

    def unsent(self, session_id: int) -> list[UnsentMessage]:
        """Unsent messages this process may take, oldest first: its own, and those whose writer has ended."""
        me = ownership.token()
        rows = self._db.execute("SELECT id, content, owner, meta FROM pending WHERE session_id=? ORDER BY id",
                                (session_id,))
        return [UnsentMessage(content, row_id, _unsent_meta(meta)) for row_id, content, who, meta in rows
                if who == me or not ownership.alive(who)]

    def update_unsent(self, unsent_id: int, meta: dict[str, Any]) -> None:
        """An unsent message's record changed (a queued job's id), written durably."""
        with self._tx():
            self._db.execute("UPDATE pending SET meta=? WHERE id=?", (_meta_json(meta) if meta else None, unsent_id))

    def claim_unsent(self, unsent_ids: list[int]) -> list[int]:
        """Take over unsent messages that are this process's or were left by an ended one; the ids now this
        process's. One still there and owned by a live process (another segchat claimed it first), or gone (its
        reply is stored), is left alone: the owner is read and changed under one write lock, so of two processes
        claiming at once only one gets it.
        """
        me, claimed = ownership.token(), []
        with self._tx(self.wait_before_sending):
            for unsent_id in unsent_ids:
                row = self._db.execute("SELECT owner FROM pending WHERE id=?", (unsent_id,)).fetchone()
                if row is None or (row[0] != me and ownership.alive(row[0])):
                    continue
                self._db.execute("UPDATE pending SET owner=? WHERE id=?", (me, unsent_id))
                claimed.append(unsent_id)
        return claimed

    def drop_unsent(self, unsent_ids: list[int]) -> None:
        with self._tx(self.wait_before_sending):
            self._db.executemany("DELETE FROM pending WHERE id=?", [(i,) for i in unsent_ids])

    # -- messages -----------------------------------------------------------------------------

    def load(self, session_id: int, *, adopt: bool = True) -> Conversation:
        """The whole conversation; with adopt, the newest unsent message this process may take over.

        Each message's meta is the JSON object stored with it; one that is not (damaged, or written so by
        another tool) raises the store's error naming the session.
        """
        info = self.get(session_id)
        rows = self._db.execute("SELECT id, role, content, created, meta FROM messages WHERE session_id=? "
                                "ORDER BY id", (session_id,))
        messages = [Message(role, content, created, self._read_meta(meta, info.name), row_id)
                    for row_id, role, content, created, meta in rows]
        unsent_messages = self.unsent(session_id) if adopt else []
        return Conversation(info.system, messages, unsent_messages[-1] if unsent_messages else None)

    def messages(self, session_id: int, marks: tuple[str, ...], *, models: bool = False
                 ) -> list[tuple[str, str, dict[str, Any]]]:
        """A session's messages as (role, content, meta), oldest first, for showing a long one without making a
        Message of each. Only a meta whose stored JSON text holds one of marks (or that is stored as bytes) is
        read, as load reads it; the others, which mostly hold a reply's figures, are {}, or with models, for a
        reply, {"model": its model} (read by SQLite, see _MODEL) where it names one."""
        name = self.get(session_id).name
        model_column = f"CASE WHEN role = 'assistant' THEN {_MODEL} END" if models else "NULL"
        rows = self._db.execute(f"SELECT role, content, meta, {model_column} FROM messages WHERE session_id=? "
                                "ORDER BY id", (session_id,))
        return [(role, content, self._read_meta(meta, name) if _is_marked(meta, marks)
                 else {} if model is None else {"model": model})
                for role, content, meta, model in rows]

    def mixes_models(self, session_id: int) -> bool:
        """Whether the session's replies came from more than one model (their meta's "model", where it is text).

        --show asks before it shows a long session, so no meta is read in Python for it, and few by SQLite's JSON
        functions: the first reply's model is read, then any reply whose meta does not hold it as the store writes
        it ("model": "<slug>") is read to see if its model is another. A meta that is no JSON object names none.
        """
        replies = "FROM messages WHERE session_id=? AND role='assistant'"
        first = self._db.execute(f"SELECT model FROM (SELECT id, {_MODEL} AS model {replies}) "
                                 "WHERE model IS NOT NULL ORDER BY id LIMIT 1", (session_id,)).fetchone()
        if first is None:
            return False
        written = '"model": ' + json.dumps(first[0])  # as _meta_json writes it
        return self._db.execute(f"SELECT 1 {replies} AND instr(CAST(meta AS TEXT), ?) = 0 AND {_MODEL} <> ? "
                                "LIMIT 1", (session_id, written, first[0])).fetchone() is not None

    def _read_meta(self, stored: str | bytes | None, session_name: str) -> dict[str, Any]:
        """A message's stored meta: {} when there is none, the store's error when it is no JSON object."""
        if not stored:
            return {}
        try:
            meta = json.loads(stored)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than json reads
            raise self._damaged(session_name) from None
        if not isinstance(meta, dict):
            raise self._damaged(session_name)
        return meta

    def _damaged(self, name: str) -> StoreError:
        return StoreError(f"session '{name}' in {self.path} has a damaged message; the other sessions are unaffected")

    def last_message_id(self, session_id: int) -> int:
        row = self._db.execute("SELECT max(id) FROM messages WHERE session_id=?", (session_id,)).fetchone()
        return row[0] or 0

    def add_exchange(self, session_id: int, messages: list[Message], *, unsent_id: int | None = None,
                     replace: list[int] | None = None, **fields: Any) -> int:
        """Append a user message and its reply in one durable transaction; returns the last id.

        replace names messages (by id) to drop in the same transaction: a regenerated reply.
        unsent_id names the unsent message these answer, deleted in the same transaction; when it is no longer
        there (another segchat stored its reply), UnsentTaken is raised and nothing is stored.
        Each message gets its row id once the transaction is committed.
        """
        values = {k: str(v) if isinstance(v, Decimal) else v for k, v in fields.items()}
        ids = []
        with self._tx():
            if replace:
                self._remove(session_id, replace)
            for message in messages:
                ids.append(self._db.execute(
                    "INSERT INTO messages(session_id, role, content, created, meta) VALUES (?,?,?,?,?)",
                    (session_id, message.role, message.content, message.created,
                     _meta_json(message.meta) if message.meta else None)).lastrowid)
            if unsent_id is not None and not self._db.execute("DELETE FROM pending WHERE id=?", (unsent_id,)).rowcount:
                raise UnsentTaken(f"unsent message {unsent_id} was answered by another segchat")
            title_row = self._db.execute("SELECT title FROM sessions WHERE id=?", (session_id,)).fetchone()
            if "title" not in values and title_row and not title_row[0] and messages:
                values["title"] = make_title(messages[0].content)
            sets = "".join(f", {k}=?" for k in values)
            self._db.execute(f"UPDATE sessions SET updated=?{sets} WHERE id=?",
                             (time.time(), *values.values(), session_id))
        for message, row_id in zip(messages, ids, strict=True):  # only once stored: a rollback leaves them unsaved
            message.id = row_id
        return ids[-1] if ids else 0

    def retitle(self, session_id: int, first_message: str) -> None:
        """The title made again from the session's first message (empty when none is left)."""
        title = make_title(first_message) if first_message else ""
        with self._tx():
            self._db.execute("UPDATE sessions SET title=? WHERE id=?", (title, session_id))

    def reprice(self, session_id: int, message: Message | None, **fields: Any) -> None:
        """A turn priced after it was saved: its meta and the session's spend, in one transaction."""
        values = [str(v) if isinstance(v, Decimal) else v for v in fields.values()]
        with self._tx():
            if message is not None and message.id is not None:
                self._db.execute("UPDATE messages SET meta=? WHERE id=?",
                                 (_meta_json(message.meta), message.id))
            if fields:
                self._db.execute(f"UPDATE sessions SET {', '.join(f'{k}=?' for k in fields)} WHERE id=?",
                                 (*values, session_id))

    def remove_messages(self, session_id: int, ids: list[int]) -> None:
        """Delete these messages of a session (undo, trim): by id, so another process's turns stay."""
        with self._tx():
            self._remove(session_id, ids)

    def _remove(self, session_id: int, ids: list[int]) -> None:
        self._db.executemany("DELETE FROM messages WHERE id=? AND session_id=?", [(i, session_id) for i in ids])

    def search(self, text: str, marks: tuple[str, ...] = (), limit: int = 50) -> list[tuple[str, str, str, dict]]:
        """(session name, role, snippet, meta) of messages containing every word of text; meta is read only when
        its stored JSON text holds one of marks (else {}), as messages() reads it."""
        words = [w for w in re.findall(r"\w+", text) if w]
        if not words:
            return []
        query = " ".join('"' + w.replace('"', '""') + '"' for w in words)
        # Newest first by the index's own rowid (the message id): FTS5 then walks its matches in that order and
        # stops at the limit, instead of finding, joining and cutting a snippet for every match before sorting.
        rows = self._db.execute(
            "SELECT s.name, m.role, snippet(messages_fts, 0, '[', ']', '…', 12), m.meta FROM messages_fts "
            "JOIN messages m ON m.id = messages_fts.rowid JOIN sessions s ON s.id = m.session_id "
            "WHERE messages_fts MATCH ? ORDER BY messages_fts.rowid DESC LIMIT ?", (query, limit))
        return [(name, role, snippet, self._read_meta(meta, name) if _is_marked(meta, marks) else {})
                for name, role, snippet, meta in rows]


def _is_marked(stored: str | bytes | None, marks: tuple[str, ...]) -> bool:
    """Whether a stored meta is to be read where only some are: its JSON text holds one of marks, or it is stored
    as bytes (which only reading tells)."""
    return bool(stored) and (type(stored) is bytes or any(mark in stored for mark in marks))


def _info(row: tuple) -> SessionInfo:
    """A SessionInfo from a row of _INFO, its figures read."""
    return SessionInfo(*row[:7], figure(row[7]), figure(row[8]), *row[9:])


def _meta_json(meta: dict[str, Any]) -> str:
    """A meta as the store keeps it: JSON text with no raw control character (ensure_ascii)."""
    return json.dumps(meta, ensure_ascii=True)


def _unsent_meta(stored: str | bytes | None) -> dict[str, Any]:
    """An unsent message's stored meta; a damaged one is left out, keeping the message."""
    try:
        meta = json.loads(stored) if stored else {}
    except (ValueError, RecursionError):
        return {}
    return meta if isinstance(meta, dict) else {}
