"""The conversation model: payload order, exchanges, and a lossless JSON round trip."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from segchat.model.conversation import Conversation, Message, UnsentMessage


def convo() -> Conversation:
    return Conversation("be brief", [Message("user", "hi", 1.0), Message("assistant", "hello", 2.0, {"cost": "0.01"}),
                                     Message("user", "and?", 3.0), Message("assistant", "more", 4.0)])


def test_payload_is_the_whole_conversation_system_first():
    c = convo()
    c.unsent = UnsentMessage("next")
    assert c.payload() == [
        {"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"}, {"role": "user", "content": "and?"},
        {"role": "assistant", "content": "more"}, {"role": "user", "content": "next"}]


def test_no_system_message_when_unset():
    assert Conversation(None, [Message("user", "x")]).payload() == [{"role": "user", "content": "x"}]


def test_exchanges_pop_and_drop():
    c = convo()
    assert [(u.content, r.content) for u, r in c.exchanges()] == [("hi", "hello"), ("and?", "more")]
    removed = c.pop_exchange()
    assert [m.content for m in removed] == ["and?", "more"]
    c.messages += removed
    gone = c.drop_oldest(1)
    assert [m.content for m in gone] == ["hi", "hello"] and c.system == "be brief"
    assert [m.content for m in c.messages] == ["and?", "more"]


def test_estimate_grows_with_text():
    small, big = Conversation(None, [Message("user", "x")]), Conversation(None, [Message("user", "x" * 4000)])
    assert big.estimate_tokens() > 900 > small.estimate_tokens()


messages = st.builds(Message, st.sampled_from(["user", "assistant"]), st.text(),
                     st.one_of(st.none(), st.floats(min_value=0, max_value=1e10)),
                     st.dictionaries(st.text(max_size=5), st.one_of(st.text(), st.integers())))


@given(st.one_of(st.none(), st.text(min_size=1)), st.lists(messages),
       st.one_of(st.none(), st.builds(UnsentMessage, st.text())))
def test_json_round_trip_is_lossless(system, msgs, unsent):
    original = Conversation(system, msgs, unsent)
    again = Conversation.from_dict(json.loads(json.dumps(original.to_dict(), ensure_ascii=True)))
    assert again == original


@pytest.mark.parametrize("data, needle", [
    ([], "object"),
    ({"messages": {}}, "list"),
    ({"messages": [{"role": "robot", "content": "x"}]}, "role"),
    ({"messages": [{"role": "user", "content": 5}]}, "text"),
    ({"version": 99}, "newer"),
    ({"system": 3}, "system"),
])
def test_invalid_data_is_rejected(data, needle):
    with pytest.raises(ValueError, match=needle):
        Conversation.from_dict(data)


def test_a_message_compares_by_value_its_stored_id_aside():
    a, b = Message("user", "hi", 1.0, {"k": 1}, id=3), Message("user", "hi", 1.0, {"k": 1}, id=4)
    assert a == b and a != Message("user", "hi", 1.0, {"k": 2}) and (a == "x") is False
    assert repr(a) == "Message(role='user', content='hi', created=1.0, meta={'k': 1}, id=3)"
    assert Message("user", "x").meta == {} and Message("user", "x").meta is not Message("user", "x").meta
    assert Message("user", "x", None, None).meta is None  # an explicit meta is kept as given
    with pytest.raises(TypeError):
        hash(a)
    match a:
        case Message("user", text, _, meta):
            assert (text, meta) == ("hi", {"k": 1})
    a.meta = {"new": True}
    assert a.meta == {"new": True} and a.to_dict()["meta"] == {"new": True}


def test_the_unsent_message_is_not_counted_in_the_history():
    """The toolbar's figure is the history: a message that was cancelled (kept unsent for /retry) is not in it."""
    c = Conversation("be brief", [Message("user", "hi"), Message("assistant", "hello", meta={})])
    before = c.context_tokens()
    c.unsent = UnsentMessage("x" * 4000)
    assert c.context_tokens() == before
    c.messages[-1].meta["usage"] = {"total_tokens": 42}
    c.messages.append(Message("user", "more"))  # a new last message: the cache key changes
    c.messages.append(Message("assistant", "sure", meta={"usage": {"total_tokens": 57}}))
    assert c.context_tokens() == 57  # the server's count, unsent message or not
