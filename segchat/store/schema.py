"""The session database: its versioned schema, and how a file is opened, checked and upgraded."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING

from segchat.errors import StoreError
from segchat.private_files import private_file

if TYPE_CHECKING:
    from segchat.private_files import Where

SCHEMA_VERSION = 3

_V1 = """
CREATE TABLE IF NOT EXISTS sessions(
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, title TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '', system TEXT, created REAL NOT NULL, updated REAL NOT NULL,
    spent TEXT, balance TEXT, unpriced INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS messages(
    id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')), content TEXT NOT NULL,
    created REAL, meta TEXT);
CREATE INDEX IF NOT EXISTS messages_by_session ON messages(session_id, id);
CREATE TABLE IF NOT EXISTS pending(
    id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    content TEXT NOT NULL, created REAL NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(content, content='messages', content_rowid='id');
CREATE TRIGGER IF NOT EXISTS messages_ai AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END;
CREATE TRIGGER IF NOT EXISTS messages_ad AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content); END;
"""
# Version 2: which process owns an unsent message (pid and start time), its record; each session's profile, role.
_V2 = """
ALTER TABLE pending ADD COLUMN owner TEXT;
ALTER TABLE pending ADD COLUMN meta TEXT;
ALTER TABLE sessions ADD COLUMN profile TEXT;
ALTER TABLE sessions ADD COLUMN role TEXT;
"""
# Version 3: each session's count of messages, kept by triggers, so that listing sessions reads no message.
_V3 = """
ALTER TABLE sessions ADD COLUMN message_count INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET message_count = (SELECT count(*) FROM messages WHERE session_id = sessions.id);
CREATE TRIGGER IF NOT EXISTS messages_counted AFTER INSERT ON messages BEGIN
    UPDATE sessions SET message_count = message_count + 1 WHERE id = new.session_id; END;
CREATE TRIGGER IF NOT EXISTS messages_uncounted AFTER DELETE ON messages BEGIN
    UPDATE sessions SET message_count = message_count - 1 WHERE id = old.session_id; END;
"""
# Schema version -> the script that brings the previous version up to it.
MIGRATIONS = {1: _V1, 2: _V2, 3: _V3}
# An index earlier builds made beside the versions (for --show's SQL), which nothing uses now. Dropped outside the
# versions too, so that those builds still open the store (they make it again, and it goes again).
_OLD_INDEXES = ("messages_unplain",)


def open_database(path: Where, wait: float) -> sqlite3.Connection:
    """The store at path, created, checked to be segchat's and brought up to SCHEMA_VERSION."""
    if not os.path.exists(path):
        private_file(path)
    db = sqlite3.connect(path, timeout=wait, isolation_level=None, check_same_thread=False)
    try:
        version = _version(db, path)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # a turn reported saved survives power loss
        db.execute("PRAGMA foreign_keys=ON")
        for step in range(version + 1, SCHEMA_VERSION + 1):
            # One transaction per migration step; executescript keeps BEGIN...END triggers whole.
            try:
                db.executescript(f"BEGIN IMMEDIATE;{MIGRATIONS[step]}PRAGMA user_version={step};COMMIT;")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        for index in _OLD_INDEXES:
            if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", (index,)).fetchone():
                db.execute(f"DROP INDEX {index}")
        db.execute("SELECT count(*) FROM sessions").fetchone()
    except BaseException:
        db.close()
        raise
    return db


def open_for_reading(path: Where, wait: float, notices: list[str]) -> sqlite3.Connection | None:
    """The store at path opened for reading only: nothing is created or written, so a store on a read-only file,
    directory or file system opens. None where it can only be opened by open_database: it is not there yet, it is
    not a readable database (open_database sets a damaged one aside), or it needs an upgrade (an older schema).

    A WAL store's readers share its -shm file, which SQLite cannot make in a directory it cannot write: the file is
    then read as immutable. No other process can be writing it then (a writer needs that file too), but a writer
    that was killed may have left its last changes in the -wal file, which are not read: notices says so.
    """
    if not os.path.exists(path):
        return None
    try:
        db, immutable = connect_read_only(path, wait)
    except sqlite3.DatabaseError:
        return None
    if immutable:
        with contextlib.suppress(OSError):
            if os.path.getsize(f"{path}-wal"):
                notices.append(f"the newest changes to the session store ({path}-wal) cannot be read while its "
                               "directory is read-only; what is shown may miss them")
    try:
        if _version(db, path) < SCHEMA_VERSION:
            db.close()
            return None
        db.execute("SELECT count(*) FROM sessions").fetchone()
    except sqlite3.DatabaseError:
        db.close()
        return None
    except BaseException:
        db.close()
        raise
    return db


def connect_read_only(path: Where, wait: float) -> tuple[sqlite3.Connection, bool]:
    """A connection that can only read the store at path (which exists), and whether it reads it as immutable:
    a WAL store's readers share its -shm file, which SQLite cannot make in a directory it cannot write. A file
    that cannot be read raises sqlite3's error."""
    uri = f"{Path(path).absolute().as_uri()}?mode=ro"
    db = sqlite3.connect(uri, uri=True, timeout=wait, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA user_version").fetchone()  # where a -shm that cannot be made shows
        return db, False
    except sqlite3.OperationalError as exc:
        db.close()
        if exc.sqlite_errorcode != sqlite3.SQLITE_CANTOPEN:
            raise
    return sqlite3.connect(f"{uri}&immutable=1", uri=True, timeout=wait, isolation_level=None,
                           check_same_thread=False), True


def _version(db: sqlite3.Connection, path: Where) -> int:
    """The schema version of the store db, checked before anything is written: a database of another program's,
    or of a newer segchat, is refused."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version == 0:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        if tables:  # it is someone else's file
            raise StoreError(f"{path} is another program's SQLite database (tables: "
                             f"{', '.join(tables[:5])[:120]}); segchat leaves it alone: move it away, "
                             "or set XDG_DATA_HOME to use another directory")
    if version > SCHEMA_VERSION:
        raise StoreError(f"{path} was written by a newer segchat (schema {version}); upgrade segchat to open it")
    return version


def aside_name(path: Where) -> str:
    """A name for a damaged store that no earlier one has taken, even within the same second."""
    path = os.fspath(path)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1, 1000):
        aside = f"{path}.corrupt-{stamp}" + (f"-{n}" if n > 1 else "")
        if not any(os.path.lexists(f"{aside}{suffix}") for suffix in ("", "-wal", "-shm")):
            return aside
    raise StoreError(f"cannot find a free name beside {path} to move the damaged store to")
