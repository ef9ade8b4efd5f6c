"""Store.load reads each meta with json's scanner and holds the collector off: the messages, and the errors,
are those of json.loads, row by row."""

from __future__ import annotations

import gc
import math

import pytest
from support.store_rows import DAMAGED, GOOD, insert, reference_load, same

from segchat.errors import StoreError
from segchat.model.conversation import Message


def test_every_meta_comes_out_as_json_loads_makes_it(store):
    info = store.create("odd")
    insert(store, info.id, GOOD)
    loaded, expected = store.load(info.id).messages, reference_load(store, info.id)
    assert [(m.id, m.role, m.content, m.created) for m in loaded] == [(m.id, m.role, m.content, m.created)
                                                                      for m in expected]
    for got, want in zip(loaded, expected, strict=True):
        assert type(got.meta) is type(want.meta) and same(got.meta, want.meta), (got.meta, want.meta)
    assert math.isnan(loaded[12].meta) and loaded[14].meta == {"dup": 2} and loaded[16].meta == {"bytes": "a blob"}
    metas = [m.meta for m in loaded]
    assert len({id(m) for m in metas if m == {}}) == sum(1 for m in metas if m == {})  # never one shared dict


@pytest.mark.parametrize("meta", DAMAGED)
def test_a_damaged_meta_is_the_same_error(store, meta):
    info = store.create("broken")
    insert(store, info.id, ["{}", meta, "{}"])
    with pytest.raises(StoreError) as new:
        store.load(info.id)
    with pytest.raises(StoreError) as old:
        reference_load(store, info.id)
    assert str(new.value) == str(old.value) and "session 'broken'" in str(new.value)


def test_a_meta_json_cannot_take_fails_the_same_way(store):
    info = store.create("deep")
    insert(store, info.id, ["[" * 100_000 + "]" * 100_000])
    with pytest.raises(RecursionError):
        reference_load(store, info.id)
    with pytest.raises(RecursionError):
        store.load(info.id)


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_left_as_it_was(store, enabled):
    info = store.create("gc")
    insert(store, info.id, ["{}", "{bad"])
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        with pytest.raises(StoreError):
            store.load(info.id)
        assert gc.isenabled() is enabled
        store._db.execute("DELETE FROM messages WHERE meta='{bad'")
        assert len(store.load(info.id).messages) == 1
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_a_long_session_loads_whole(store):
    info = store.create("long")
    messages = [Message(("user", "assistant")[n % 2], f"message {n}", float(n),
                        {"usage": {"total_tokens": n}} if n % 2 else {}) for n in range(3000)]
    store.add_exchange(info.id, messages)
    assert store.load(info.id).messages == messages == reference_load(store, info.id)
