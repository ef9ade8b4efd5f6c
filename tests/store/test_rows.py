"""Store.load: each message as stored, its meta the JSON object stored with it; a message whose meta is not one
is the store's error, naming the session."""

from __future__ import annotations

import json

import pytest
from support.store_rows import DAMAGED, OBJECTS, insert

from segchat.errors import StoreError
from segchat.model.conversation import Message


def test_every_stored_object_comes_out_as_json_reads_it(store):
    info = store.create("odd")
    insert(store, info.id, OBJECTS)
    loaded = store.load(info.id).messages
    assert [(m.role, m.content, m.created) for m in loaded] == [(("user", "assistant")[n % 2], f"text {n}", float(n))
                                                                for n in range(len(OBJECTS))]
    expected = [json.loads(meta) if meta else {} for meta in OBJECTS]
    assert [json.dumps(m.meta, sort_keys=True) for m in loaded] == [json.dumps(e, sort_keys=True) for e in expected]
    assert loaded[9].meta == {"dup": 2} and loaded[11].meta == {"bytes": "a blob"}
    assert len({id(m.meta) for m in loaded}) == len(loaded)  # never one shared dict
    assert all(m.id is not None for m in loaded) and [m.id for m in loaded] == sorted(m.id for m in loaded)


@pytest.mark.parametrize("meta", DAMAGED, ids=lambda m: repr(m)[:20])
def test_a_meta_that_is_no_object_is_the_stores_error(store, meta):
    info, other = store.create("broken"), store.create("fine")
    insert(store, info.id, ["{}", meta, "{}"])
    insert(store, other.id, ["{}"])
    with pytest.raises(StoreError, match=r"session 'broken' in .* has a damaged message; the other sessions are "
                                         "unaffected"):
        store.load(info.id)
    assert len(store.load(other.id).messages) == 1


def test_a_long_session_loads_whole(store):
    info = store.create("long")
    messages = [Message(("user", "assistant")[n % 2], f"message {n}", float(n),
                        {"usage": {"total_tokens": n}} if n % 2 else {}) for n in range(3000)]
    store.add_exchange(info.id, messages)
    loaded = store.load(info.id).messages
    assert loaded == messages and [m.id for m in loaded] == [m.id for m in messages]
