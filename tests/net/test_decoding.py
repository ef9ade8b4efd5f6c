"""Parsing what the server sends, without any HTTP."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from email.utils import formatdate

import pytest

from segchat.errors import AmbiguousError, BadResponseError, Cancelled
from segchat.net import decoding
from segchat.net.http import retry_after
from segchat.net.sse import sse_events


@pytest.mark.parametrize("raw, value", [
    ("9.9875", Decimal("9.9875")), (" 0.00042 ", Decimal("0.00042")), ("abc", None), ("", None), (None, None),
    ("NaN", None), ("Infinity", None), (3, Decimal(3)), (True, None), (0.1, Decimal("0.1"))])
def test_parse_credits(raw, value):
    assert decoding.parse_credits(raw) == value


def test_retry_after_forms():
    assert retry_after("2") == 2.0
    assert retry_after("-5") is None and retry_after("soon") is None and retry_after(None) is None
    future = retry_after(formatdate(time.time() + 30, usegmt=True))
    assert future is not None and 25 < future <= 31


def test_error_detail_shapes():
    assert decoding.error_detail(b'{"error": "Invalid key"}') == "Invalid key"
    assert decoding.error_detail(b'{"error": {"message": "nested"}}') == "nested"
    assert decoding.error_detail(b"<html><script>x()</script><h1>Bad Gateway</h1></html>") == "Bad Gateway"
    assert decoding.error_detail(b"") == "(empty body)"
    assert decoding.error_detail(b"x" * 500).endswith("…") and len(decoding.error_detail(b"x" * 500)) == 201


def test_completion_requires_text():
    body = {"choices": [{"message": {"content": "hi"}, "finish_reason": "length"}], "usage": {"total_tokens": 3}}
    reply = decoding.completion(json.dumps(body).encode(), 200)
    assert (reply.content, reply.finish_reason, reply.usage) == ("hi", "length", {"total_tokens": 3})
    for bad in ({"choices": "x"}, [], {"choices": [{"message": {"content": ["a"]}}]}):
        with pytest.raises(BadResponseError):
            decoding.completion(json.dumps(bad).encode(), 200)


def test_sse_events_split_on_newlines_only():
    chunks = [b'data: {"a": "x\xe2\x80', b'\xa8y"}\r\n\r\n', b": comment\n\nevent: error\ndata: 1\ndata: 2\n\n"]
    assert list(sse_events(chunks)) == [("message", '{"a": "x\u2028y"}'), ("error", "1\n2")]


def _events(count, then=None):
    for _ in range(count):
        yield "message", json.dumps({"choices": [{"delta": {"content": "ab"}}]})
    if then is not None:
        raise then


def test_stream_passes_each_piece_on_and_keeps_text_when_cut_off():
    seen = []
    reply = decoding.stream(_events(2, AmbiguousError("the connection dropped")), 200, seen.append)
    assert seen == ["ab", "ab"] and reply.content == "abab" and reply.streamed
    assert reply.incomplete == "the connection dropped"


def test_a_cancelled_stream_carries_what_arrived():
    with pytest.raises(Cancelled) as info:
        decoding.stream(_events(3, KeyboardInterrupt()), 200)
    assert info.value.partial == "ababab"


def test_a_cut_before_any_text_is_the_error_itself():
    with pytest.raises(AmbiguousError):
        decoding.stream(_events(0, AmbiguousError("dropped")), 200)


def test_stream_with_nothing_is_an_error():
    with pytest.raises(BadResponseError, match="ended before"):
        decoding.stream(iter([]), 200)
