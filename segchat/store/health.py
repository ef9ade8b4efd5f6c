"""How the session store is, read without changing it: for segchat --check."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from segchat.store.schema import connect_read_only

if TYPE_CHECKING:
    from segchat.private_files import Where


@dataclass(frozen=True, slots=True)
class Health:
    """A store's size in bytes, its count of sessions (None when it could not be read) and what is wrong with it
    (None: SQLite's quick_check finds nothing)."""

    size: int
    sessions: int | None
    problem: str | None


def health(path: Where, wait: float = 2.0) -> Health | None:
    """The store at path, checked with PRAGMA quick_check; None when there is none. Opened for reading only:
    nothing is created, set aside or upgraded (SQLite may leave a WAL store's -wal and -shm files, as for any
    reader)."""
    if not os.path.exists(path):
        return None
    size = os.path.getsize(path)
    try:
        db, _ = connect_read_only(path, wait)
        try:
            found = [str(row[0]) for row in db.execute("PRAGMA quick_check").fetchall()]
            if found != ["ok"]:
                return Health(size, None, "; ".join(found[:3]))
            sessions = db.execute("SELECT count(*) FROM sessions").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error as exc:
        return Health(size, None, str(exc))
    return Health(size, sessions, None)
