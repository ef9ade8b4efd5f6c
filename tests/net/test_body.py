"""Request bodies: the bytes httpx's json= would send, with each message a conversation keeps encoded once."""

from __future__ import annotations

import math

import pytest
from httpx._content import encode_json
from hypothesis import given
from hypothesis import strategies as st

from segchat.net import body as body_module
from segchat.net.body import Encoder

TEXT = st.text(st.sampled_from(["a", " ", "\n", '"', "\\", "\x00", "\x1f", "é", "日", "👍", "\u2028", "\ud800"]),
               max_size=6)
MESSAGE = st.one_of(
    st.fixed_dictionaries({"role": st.sampled_from(["system", "user", "assistant"]), "content": TEXT}),
    st.fixed_dictionaries({"content": TEXT, "role": st.just("user")}),  # the same fields in another order
    st.dictionaries(TEXT, st.one_of(TEXT, st.integers(), st.none(), st.lists(TEXT, max_size=2)), max_size=3))
VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), TEXT)
BODY = st.tuples(st.lists(MESSAGE, max_size=6), st.dictionaries(st.sampled_from(["model", "temperature", "top_p",
                                                                                  "max_tokens", "stream"]),
                                                                 VALUES, max_size=3), st.booleans())


def httpx_bytes(value) -> bytes:
    return b"".join(encode_json(value)[1])


def outcome(encode, value):
    """The bytes, or the kind of error (a lone surrogate cannot be UTF-8)."""
    try:
        return encode(value)
    except ValueError as exc:
        return type(exc)


def make(messages, params, messages_first):
    return {"messages": messages, **params} if messages_first else {**params, "messages": messages}


@given(st.lists(BODY, min_size=1, max_size=4))
def test_bodies_are_what_httpx_json_sends(bodies):
    """Body after body through one encoder (a later one often repeats an earlier one's messages)."""
    encoder = Encoder()
    previous: list = []
    for messages, params, messages_first in bodies:
        body = make(previous + messages, params, messages_first)
        assert outcome(encoder.encode, body) == outcome(httpx_bytes, body)
        previous = body["messages"]


def test_a_message_sent_before_is_not_encoded_again(monkeypatch):
    encoder = Encoder()
    history = [{"role": "user" if n % 2 == 0 else "assistant", "content": f"message {n} " * 50} for n in range(40)]
    encoder.encode({"messages": history, "temperature": 0.5})
    encoded = []
    monkeypatch.setattr(body_module, "dumps", lambda value: encoded.append(value) or httpx_bytes(value))
    turn = {"messages": [*history, {"role": "user", "content": "one more"}], "temperature": 0.5}
    assert encoder.encode(turn) == httpx_bytes(turn)
    assert encoded == [{"role": "user", "content": "one more"}, "messages", "temperature", 0.5]


def test_only_the_last_body_is_kept():
    """A message dropped from the conversation (undone, regenerated) is let go."""
    encoder = Encoder()
    encoder.encode({"messages": [{"role": "user", "content": "old " * 1000}]})
    encoder.encode({"messages": [{"role": "user", "content": "new"}]})
    assert list(encoder._known) == [(("role", "user"), ("content", "new"))]


@pytest.mark.parametrize("body", [{"messages": [{"role": "user", "content": "hi"}], "temperature": math.nan},
                                  {"messages": [{"role": "user", "content": "hi", "weight": math.inf}]}])
def test_nan_is_refused_as_httpx_refuses_it(body):
    with pytest.raises(ValueError):
        httpx_bytes(body)
    with pytest.raises(ValueError):
        Encoder().encode(body)


@pytest.mark.parametrize("body", [{"messages": "not a list"}, {1: "a", "messages": []}, ["messages"], None, "text",
                                  {"prompt": "no messages"}])
def test_other_shapes_are_encoded_whole(body):
    assert Encoder().encode(body) == httpx_bytes(body)


def test_messages_learnt_ahead_are_not_encoded_with_the_body(monkeypatch):
    """What the REPL does while the user types: the next body encodes only what came since."""
    encoder = Encoder()
    history = [{"role": "user", "content": "question"}, {"role": "assistant", "content": "answer " * 100}]
    encoder.learn(history)
    encoded = []
    monkeypatch.setattr(body_module, "dumps", lambda value: encoded.append(value) or httpx_bytes(value))
    turn = {"messages": [*history, {"role": "user", "content": "next"}]}
    assert encoder.encode(turn) == httpx_bytes(turn)
    assert encoded == [{"role": "user", "content": "next"}, "messages"]


def test_only_text_fields_are_kept():
    """{1: "x"} and {True: "x"} compare equal as keys, and are not the same JSON: neither is kept."""
    encoder = Encoder()
    for body in ({"messages": [{1: "x"}]}, {"messages": [{True: "x"}]}, {"messages": [{"role": 1}]},
                 {"messages": [{"role": True}]}):
        assert encoder.encode(body) == httpx_bytes(body)
    assert encoder._known == {}
