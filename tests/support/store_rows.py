"""Stored rows as tests make and read them."""

from __future__ import annotations

import json

from segchat.model.conversation import Message


def listed(store):
    """The sessions --list shows, in its order, as SessionInfo records."""
    return [store.get(row[0]) for row in store.listing()]


GOOD = [None, "", "{}", '{"cost": "0.01", "usage": {"prompt_tokens": 5, "total_tokens": 9}}', ' {"padded": true} ',
        '{"trailing": 1}\n', "\t{}", '{"nested": [1, [2, {"deep": null}]], "u": "\\u00e9\\ud83d\\ude00 \\u0000"}',
        "5", '"text"', "[1, 2]", "null", "NaN", '{"inf": Infinity, "neg": -Infinity}', '{"dup": 1, "dup": 2}',
        '{"big": 123456789012345678901234567890, "float": 1e400}', b'{"bytes": "a blob"}',
        json.dumps({"attachments": [{"name": "a.py", "text": "x" * 10000}], "interrupted": True})]


DAMAGED = ["{bad", "\ufeff{}", '{"a": 1}{"b": 2}', "[", '{"a": 1,}', "{'single': 1}", '"unterminated',
           '{"a": "\x01 raw control"}', "tru", "1 2"]


def insert(store, session_id: int, metas: list) -> None:
    for n, meta in enumerate(metas):
        store._db.execute("INSERT INTO messages(session_id, role, content, created, meta) VALUES (?,?,?,?,?)",
                          (session_id, ("user", "assistant")[n % 2], f"text {n}", float(n), meta))


def reference_load(store, session_id: int) -> list[Message]:
    """The loop load had: each row read plainly, json.loads for its meta, the store's error for a damaged one."""
    name = store.get(session_id).name
    messages = []
    for row_id, role, content, created, meta in store._db.execute(
            "SELECT id, role, content, created, meta FROM messages WHERE session_id=? ORDER BY id", (session_id,)):
        try:
            messages.append(Message(role, content, created, json.loads(meta) if meta else {}, id=row_id))
        except ValueError:
            raise store._damaged(name) from None
    return messages


def same(a, b) -> bool:
    """Equal, NaN included (json.loads gives nan for NaN, which equals nothing)."""
    return json.dumps(a, sort_keys=True, default=repr) == json.dumps(b, sort_keys=True, default=repr) or a == b
