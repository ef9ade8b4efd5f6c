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


@pytest.mark.parametrize("metas, mixed", [
    ([{"model": "gpt-4o"}, {"model": "gpt-4o", "interrupted": True}, {}], False),
    ([{"model": "gpt-4o"}, {"model": "claude-4.5-sonnet"}], True),
    ([{}, {"model": "gpt-4o"}, {"model": "o3"}], True),
    ([{"model": "gpt-4o"}, {"usage": {"total_tokens": 5}, "model": "gpt-4o"}], False),  # written in another order
    ([{"model": "gpt-4o"}, {"model": 5}, {"model": {"id": "o3"}}, {"model": None}], False),  # no text, no model
    ([{"model": "gpt-4o"}, {"model": "gpt-4o-mini"}], True), ([{"model": "é"}, {"model": "e"}], True),
    ([{"model": ""}, {"model": "gpt-4o"}], True), ([], False), ([{}, {}], False)])
def test_whether_a_session_s_replies_came_from_more_than_one_model(store, metas, mixed):
    info, other = store.create("s"), store.create("other")
    store.add_exchange(info.id, [m for n, meta in enumerate(metas)
                                 for m in (Message("user", f"q{n}", meta={"model": "not a reply's"}),
                                           Message("assistant", f"a{n}", meta=meta))])
    store.add_exchange(other.id, [Message("user", "q"), Message("assistant", "a", meta={"model": "elsewhere"})])
    assert store.mixes_models(info.id) is mixed


@pytest.mark.parametrize("meta", [*OBJECTS, *DAMAGED, '{"model": "a", "x": NaN}'], ids=lambda m: repr(m)[:20])
def test_the_models_are_asked_of_any_stored_meta_without_an_error(store, meta):
    """A meta that is no JSON object names no model (loading the session is what refuses it)."""
    info = store.create("odd")
    insert(store, info.id, ["{}", meta, "{}", '{"model": "m"}'])
    assert store.mixes_models(info.id) is False
    insert(store, info.id, ["{}", meta, "{}", b'{"model": "in a blob"}'])
    assert store.mixes_models(info.id) is True


def test_messages_with_models_give_each_reply_s_model_without_reading_its_meta(store):
    info = store.create("s")
    insert(store, info.id, ['{"model": "asked"}', '{"model": "gpt-4o", "cost": "0.1"}', None,
                            '{"model": "o3", "interrupted": true}', "{}", '{"model": 5}', "{}", b'{"model": "blob"}',
                            "{}", "{bad"])
    marks = ('"interrupted"',)
    assert [meta for _, _, meta in store.messages(info.id, marks, models=True)] == [
        {}, {"model": "gpt-4o"}, {}, {"model": "o3", "interrupted": True}, {}, {}, {}, {"model": "blob"}, {}, {}]
    assert [meta for _, _, meta in store.messages(info.id, marks)] == [
        {}, {}, {}, {"model": "o3", "interrupted": True}, {}, {}, {}, {"model": "blob"}, {}, {}]  # bytes: read
