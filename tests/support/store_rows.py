"""Stored rows as tests make and read them."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from segchat.store.schema import MIGRATIONS

# Metas another tool may have stored: each a JSON object, and what json.loads makes of it.
OBJECTS = [None, "", "{}", '{"cost": "0.01", "usage": {"prompt_tokens": 5, "total_tokens": 9}}',
           ' {"padded": true} ', '{"trailing": 1}\n', "\t{}",
           '{"nested": [1, [2, {"deep": null}]], "u": "\\u00e9\\ud83d\\ude00 \\u0000"}',
           '{"inf": Infinity, "neg": -Infinity}', '{"dup": 1, "dup": 2}',
           '{"big": 123456789012345678901234567890, "float": 1e400}', b'{"bytes": "a blob"}',
           json.dumps({"attachments": [{"name": "a.py", "text": "x" * 10000}], "interrupted": True})]
# Metas that are no JSON object: damaged text, and JSON of another kind.
DAMAGED = ["{bad", "\ufeff{}", '{"a": 1}{"b": 2}', "[", '{"a": 1,}', "{'single': 1}", '"unterminated',
           '{"a": "\x01 raw control"}', "tru", "1 2", "5", '"text"', "[1, 2]", "null", "NaN", b"{bad",
           "[" * 100_000 + "]" * 100_000]


def listed(store):
    """The sessions --list shows, in its order, as SessionInfo records."""
    return [store.get(row[0]) for row in store.listing()]


def insert(store, session_id: int, metas: list) -> None:
    for n, meta in enumerate(metas):
        store._db.execute("INSERT INTO messages(session_id, role, content, created, meta) VALUES (?,?,?,?,?)",
                          (session_id, ("user", "assistant")[n % 2], f"text {n}", float(n), meta))


def version_1_store(path: Path, name: str, model: str, message: str) -> sqlite3.Connection:
    """A store as the first schema wrote it, holding one session (name, model) with one user message; the
    connection stays open for more rows, and the caller closes it."""
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(f"BEGIN;{MIGRATIONS[1]}PRAGMA user_version=1;COMMIT;")
    db.execute("INSERT INTO sessions(name, model, created, updated) VALUES (?, ?, 1, 1)", (name, model))
    db.execute("INSERT INTO messages(session_id, role, content) VALUES (1, 'user', ?)", (message,))
    return db
