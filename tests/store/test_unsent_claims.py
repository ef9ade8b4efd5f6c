"""An unsent message is answered once: a claim only one process gets, and a commit that finds it gone stores nothing."""

from __future__ import annotations

import pytest

from segchat.errors import UnsentTaken
from segchat.model.conversation import Message, UnsentMessage
from segchat.store import Store, ownership

HOST = ownership.token().rsplit(":", 2)[0]
LIVE = f"{HOST}:1:?"  # pid 1 runs as long as the machine does
ENDED = f"{HOST}:999999999:1"  # no process has that pid


def exchange(text: str) -> list[Message]:
    return [Message("user", text, 1.0), Message("assistant", f"echo: {text}", 1.0)]


def left_by(store: Store, owner: str) -> tuple[int, int]:
    info = store.create("s")
    unsent_id = store.add_unsent(info.id, UnsentMessage("shared question", meta={"job": {"request_id": "r"}}))
    store._db.execute("UPDATE pending SET owner=? WHERE id=?", (owner, unsent_id))
    return info.id, unsent_id


def test_a_message_left_by_an_ended_process_is_claimed_once(store):
    _, unsent_id = left_by(store, ENDED)
    assert store.claim_unsent([unsent_id]) == [unsent_id]
    assert store.claim_unsent([unsent_id]) == [unsent_id]  # this process's already: still its own
    store._db.execute("UPDATE pending SET owner=? WHERE id=?", (LIVE, unsent_id))  # as another process's claim
    assert store.claim_unsent([unsent_id]) == []
    owner = store._db.execute("SELECT owner FROM pending WHERE id=?", (unsent_id,)).fetchone()[0]
    assert owner == LIVE


def test_a_message_whose_reply_is_stored_cannot_be_claimed(store):
    session_id, unsent_id = left_by(store, ENDED)
    store.add_exchange(session_id, exchange("shared question"), unsent_id=unsent_id)
    assert store.claim_unsent([unsent_id]) == []


def test_the_second_reply_to_one_unsent_message_stores_nothing(store):
    session_id, unsent_id = left_by(store, ENDED)
    other = Store(store.path)  # another process's connection to the same file
    try:
        other.add_exchange(session_id, exchange("shared question"), unsent_id=unsent_id)
        late = exchange("shared question")
        with pytest.raises(UnsentTaken):
            store.add_exchange(session_id, late, unsent_id=unsent_id, title="never written")
    finally:
        other.close()
    rows = store._db.execute("SELECT role, content FROM messages WHERE session_id=? ORDER BY id", (session_id,))
    assert rows.fetchall() == [("user", "shared question"), ("assistant", "echo: shared question")]
    assert [m.id for m in late] == [None, None]  # not stored, so no row id
    assert store.get(session_id).title == "shared question" and store.unsent(session_id) == []


def test_an_exchange_without_an_unsent_message_needs_none(store):
    info = store.create("s")
    assert store.add_exchange(info.id, exchange("a")) > 0
