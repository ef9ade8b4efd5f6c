"""Each session's stored message count (schema 3) stays the count of its messages, whatever changes them."""

from __future__ import annotations

import sqlite3

from hypothesis import given, settings
from hypothesis import strategies as st
from support.store_rows import listed

from segchat.model.conversation import Message, UnsentMessage
from segchat.store import Store
from segchat.store.schema import MIGRATIONS

DRIFT = ("SELECT s.name, s.message_count, (SELECT count(*) FROM messages WHERE session_id = s.id) FROM sessions s "
         "WHERE s.message_count <> (SELECT count(*) FROM messages WHERE session_id = s.id)")


def pair(n: int) -> list[Message]:
    return [Message("user", f"question {n}"), Message("assistant", f"answer {n}")]


def test_a_version_2_store_gains_the_counts_of_its_messages(tmp_path):
    path = tmp_path / "v2.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(f"BEGIN;{MIGRATIONS[1]}{MIGRATIONS[2]}PRAGMA user_version=2;COMMIT;")
    for n, (name, messages, unsent) in enumerate([("three", 3, 0), ("empty", 0, 0), ("unsent", 0, 1), ("one", 1, 1)]):
        db.execute("INSERT INTO sessions(name, model, created, updated) VALUES (?, 'm', 1, ?)", (name, n))
        for k in range(messages):
            db.execute("INSERT INTO messages(session_id, role, content) VALUES (?, 'user', ?)", (n + 1, f"m{k}"))
        for _ in range(unsent):
            db.execute("INSERT INTO pending(session_id, content, created) VALUES (?, 'left', 1)", (n + 1,))
    db.close()
    store = Store(path)
    assert store._db.execute(DRIFT).fetchall() == []
    assert [(s.name, s.count, s.unsent) for s in listed(store)] == [("one", 1, 1), ("unsent", 0, 1), ("three", 3, 0)]
    store.add_exchange(store.find("three").id, pair(9))
    assert store.find("three").count == 5


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(st.tuples(st.sampled_from(["add", "regenerate", "undo", "delete", "unsent", "other"]),
                                st.integers(0, 2)), max_size=25))
def test_counts_follow_every_change_of_messages(tmp_path_factory, steps):
    path = tmp_path_factory.mktemp("counts") / "s.db"
    store, other = Store(path), Store(path)  # another process's store on the same file
    ids = [store.create(f"s{n}").id for n in range(3)]
    try:
        for n, (step, which) in enumerate(steps):
            session = ids[which]
            if session is None:
                continue
            held = [m.id for m in store.load(session).messages]
            if step == "add":
                store.add_exchange(session, pair(n))
            elif step == "regenerate" and held:
                store.add_exchange(session, [Message("assistant", f"again {n}")], replace=held[-1:])
            elif step == "undo" and held:
                store.remove_messages(session, held[-2:])
            elif step == "delete":
                store.delete(f"s{which}")
                ids[which] = None
            elif step == "unsent":
                store.add_unsent(session, UnsentMessage(f"draft {n}"))
            elif step == "other":
                other.add_exchange(session, pair(n))
            assert store._db.execute(DRIFT).fetchall() == []
        assert [s.count for s in listed(store)] == [len(store.load(s.id).messages) for s in listed(store)]
    finally:
        store.close()
        other.close()
