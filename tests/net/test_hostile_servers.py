"""Hostile input from the server: time, depth, numbers, shapes and secrets in what reaches the user (redaction and
the sanitiser themselves: tests/text)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.timing import timed

from segchat.errors import BadResponseError
from segchat.figures import fmt_credits
from segchat.net import decoding
from segchat.net.sse import sse_events
from segchat.text.excerpt import EXCERPT_WINDOW, excerpt
from segchat.text.redact import register_secret

BIG = 500_000


@pytest.fixture
def secret():
    key = "SG_0123456789abcdefXYZ"
    register_secret(key)
    return key


# 1. An excerpt of untrusted text costs linear time -------------------------------------------------------------

@pytest.mark.parametrize("body", [
    b"<" * BIG, (b"<script" * BIG)[:BIG], b"<script>" * (BIG // 8), b"<style>" * (BIG // 7), b"<!--" * (BIG // 4),
    b"<a>x" * (BIG // 4), b"<p " + b"a" * BIG, b"x" * BIG, b"<script>" + b"</scrip" * (BIG // 7)])
def test_excerpt_of_500kb_hostile_body_takes_milliseconds(body):
    text, seconds = timed(decoding.excerpt, body)
    assert seconds < 1.0, seconds  # a quadratic regex takes minutes on 500 KB of "<"
    assert isinstance(text, str) and len(text) <= 201


def test_excerpt_reads_only_the_start_of_a_body():
    assert excerpt(b" " * 70_000 + b"late words") == "(no text in the first 64 KiB)"
    assert excerpt(b"<p>early</p>" + b"<" * BIG).startswith("early")


def test_html_is_still_reduced_to_its_text():
    page = (b"<html><head><style>p{}</style><SCRIPT type=x>if (a<b) x()</Script ></head>"
            b"<body><!-- a > b --><h1>Bad\nGateway</h1><p>nginx</body></html>")
    assert excerpt(page) == "Bad Gateway nginx"
    assert excerpt(b"<html><script>never closed " + b"x" * 100) == "(empty body)"


# 2. Deeply nested JSON -----------------------------------------------------------------------------------------

DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 100_000 + b"1" + b"}" * 100_000


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT])
@pytest.mark.parametrize("parse", [decoding.completion, decoding.balance, decoding.parse_json])
def test_deep_json_is_a_parse_error_not_a_recursion_error(parse, body):
    with pytest.raises(BadResponseError, match="could not parse") as info:
        parse(body, 502)
    assert info.value.status == 502


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT])
def test_deep_json_error_body_gives_an_excerpt(body):
    detail = decoding.error_detail(body)
    assert detail.startswith(body[:20].decode()) and len(detail) <= 201


def test_deep_json_in_a_stream():
    with pytest.raises(BadResponseError, match=r"could not parse .* nested too deeply") as info:
        decoding.stream(iter([("message", DEEP.decode())]), 200)
    assert info.value.status == 200
    ok = json.dumps({"choices": [{"delta": {"content": "kept"}}]})
    reply = decoding.stream(iter([("message", ok), ("message", DEEP.decode())]), 200)
    assert reply.content == "kept" and "could not parse" in reply.incomplete
    reply = decoding.stream(iter([("message", ok), ("error", DEEP.decode())]), 200)
    assert reply.content == "kept" and reply.incomplete.startswith("the stream reported an error: [[[")


# 3. Numbers from outside are range-checked ---------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    "1e999999999", "-1e999999999", "9" * 5000, "-" + "9" * 5000, "0." + "0" * 4000 + "1", "1e-999999999",
    "0E-1000000", "NaN", "-NaN", "sNaN", "Infinity", "-Infinity", "inf", "1e16", "-1e16", "1000000000000001",
    10**400, -(10**400), 10**16, 1e300, -1e300, float("inf"), float("nan"), 5e-324, [], {}, True])
def test_absurd_credits_are_unknown(raw):
    value, seconds = timed(decoding.parse_credits, raw)
    assert value is None
    assert seconds < 1.0  # an exact figure of a billion digits would take minutes


@pytest.mark.parametrize("raw, value", [
    ("-0.5", Decimal("-0.5")), ("0", Decimal(0)), ("1e15", Decimal(10**15)), ("-1e15", -Decimal(10**15)),
    ("0.000000000000000000000000000001", Decimal("1e-30")), (12, Decimal(12)), (-3, Decimal(-3)),
    (2.5, Decimal("2.5")), (" 9.9875 ", Decimal("9.9875"))])
def test_sane_credits_including_an_overdraft_are_kept(raw, value):
    assert decoding.parse_credits(raw) == value


@settings(max_examples=300)
@given(st.one_of(st.text(max_size=80), st.decimals().map(str), st.integers().map(str),
                 st.builds(lambda m, e: f"{m}e{e}", st.integers(-10**6, 10**6), st.integers(-10**9, 10**9))))
def test_parsed_credits_are_small_enough_to_print_and_add(raw):
    value = decoding.parse_credits(raw)
    if value is not None:
        assert abs(value) <= 10**15
        assert len(fmt_credits(value)) <= 50
        assert (value * 2).adjusted() <= 16  # plain arithmetic on it stays small


HUGE = "9" * 400


def test_completion_keeps_only_sane_token_counts():
    body = ('{"choices": [{"message": {"content": "hi"}}], "usage": {"prompt_tokens": %s, "completion_tokens": 5, '
            '"total_tokens": -1, "cached": true, "cost": 0.5, "big": 1000000000, "details": {"x": 1}}}' % HUGE)
    assert decoding.completion(body.encode(), 200).usage == {"completion_tokens": 5}
    body = '{"choices": [{"message": {"content": "hi"}}], "usage": {"prompt_tokens": %s}}' % HUGE
    assert decoding.completion(body.encode(), 200).usage is None


def test_stream_keeps_only_sane_token_counts():
    events = [("message", '{"choices": [{"delta": {"content": "hi"}, "finish_reason": "stop"}]}'),
              ("message", '{"choices": [], "usage": {"prompt_tokens": %s, "completion_tokens": 7}}' % HUGE),
              ("message", "[DONE]")]
    assert decoding.stream(iter(events), 200).usage == {"completion_tokens": 7}


# 4. Reply shapes -----------------------------------------------------------------------------------------------

def _body(content, **extra):
    return json.dumps({"id": "chatcmpl-marker", "choices": [{"message": {"content": content}}], **extra}).encode()


def test_content_as_text_blocks_is_read_as_text():
    blocks = [{"type": "text", "text": "Hello, "}, {"type": "reasoning", "reasoning": "hidden"},
              {"type": "text", "text": "world"}, {"text": "!"}]
    assert decoding.completion(_body(blocks), 200).content == "Hello, world!"


@pytest.mark.parametrize("content", [
    5, {"text": "x"}, [1], ["text"], [{"type": "text", "text": 5}], [{"type": "text"}], [{"type": 3}]])
def test_other_content_shapes_are_bad_responses_with_status_and_excerpt(content):
    with pytest.raises(BadResponseError, match="not text") as info:
        decoding.completion(_body(content), 203)
    assert info.value.status == 203 and "chatcmpl-marker" in str(info.value)


@pytest.mark.parametrize("content", [None, "", " \n", [], [{"type": "image_url", "image_url": {"url": "x"}}]])
def test_content_that_holds_no_text_is_no_reply(content):
    with pytest.raises(BadResponseError, match=r"^the server sent no reply text \(no stop reason given\)$") as info:
        decoding.completion(_body(content), 203)
    assert info.value.status == 203


def _delta(content):
    return "message", json.dumps({"choices": [{"delta": {"content": content}}]})


def test_stream_deltas_with_text_blocks_are_read_as_text():
    seen: list[str] = []
    events = [("message", json.dumps({"choices": [{"delta": {"role": "assistant", "content": None}}]})),
              _delta([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]), _delta("c"),
              _delta([{"type": "thinking", "thinking": "hmm"}]), _delta([]), ("message", "[DONE]")]
    reply = decoding.stream(iter(events), 200, seen.append)
    assert reply.content == "abc" and seen == ["ab", "c"] and reply.incomplete is None


@pytest.mark.parametrize("content", [5, {"a": 1}, [1], [{"type": "text", "text": None}]])
def test_stream_deltas_of_other_shapes_are_reported(content):
    with pytest.raises(BadResponseError, match="not text") as info:
        decoding.stream(iter([_delta(content)]), 200)
    assert info.value.status == 200
    reply = decoding.stream(iter([_delta("kept"), _delta(content), _delta("lost")]), 200)
    assert reply.content == "kept" and "not text" in reply.incomplete


def _sse(events: list[tuple[str, str]], eol: bytes) -> bytes:
    out = b""
    for name, data in events:
        if name != "message":
            out += b"event: " + name.encode() + eol
        out += b"".join(b"data: " + line.encode() + eol for line in data.split("\n")) + eol
    return out


SSE_EVENTS = [("message", '{"a": "x\u2028y"}'), ("message", "🙂 é \u0085"), ("error", "1\n2"), ("message", "[DONE]")]


@pytest.mark.parametrize("eol", [b"\r", b"\n", b"\r\n"])
def test_sse_any_line_ending(eol):
    raw = b": comment" + eol + _sse(SSE_EVENTS, eol)
    assert list(sse_events([raw])) == SSE_EVENTS
    assert list(sse_events([raw[i:i + 1] for i in range(len(raw))])) == SSE_EVENTS  # byte by byte


def test_sse_crlf_split_between_chunks_is_one_line_end():
    chunks = [b"data: 1\r", b"\ndata: 2\r", b"\n\r", b"", b"\nevent: e\r", b"", b"\ndata: 3\r\n\r\n"]
    assert list(sse_events(chunks)) == [("message", "1\n2"), ("e", "3")]


def test_sse_byte_order_mark_at_the_start_is_ignored():
    assert list(sse_events([b"\xef\xbb", b"\xbfdata: x\n\n"])) == [("message", "x")]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["message", "error", "e"]),
                          st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]),
                                  min_size=1)),
                max_size=6),
       st.lists(st.sampled_from([b"\r", b"\n", b"\r\n"]), min_size=1), st.lists(st.integers(1, 9)))
def test_sse_events_survive_any_line_ending_and_chunking(events, eols, sizes):
    raw = b""
    for i, (name, data) in enumerate(events):
        eol = eols[i % len(eols)]
        raw += (b"event: " + name.encode() + eol) + b"data: " + data.encode() + eol + eol
    chunks, i = [], 0
    for size in sizes or [len(raw) or 1]:
        chunks.append(raw[i:i + size])
        i += size
    chunks.append(raw[i:])
    assert list(sse_events(chunks)) == events


def _endless(piece: bytes, limit: int, consumed: list[int]):
    while consumed[0] < limit:
        consumed[0] += len(piece)
        yield piece
    raise AssertionError(f"read {limit} bytes without stopping")


@pytest.mark.parametrize("piece", [b"x" * 65536, b"data: " + b"x" * 65530 + b"\n", b"\r" + b"x" * 65535])
def test_an_endless_line_or_event_is_cut_off(piece):
    if piece.startswith(b"\r"):  # each chunk ends a line, but the data lines add up to one endless event
        piece = b"data: " + piece[7:] + b"\r"
    consumed = [0]
    with pytest.raises(BadResponseError, match="an event in the stream is larger than 1 MiB"):
        for _ in sse_events(_endless(piece, 8 << 20, consumed)):
            pass
    assert consumed[0] <= (1 << 20) + 2 * len(piece)


def test_an_endless_line_after_some_text_keeps_the_text():
    consumed = [0]
    head = b'data: {"choices": [{"delta": {"content": "kept"}}]}\n\n'

    def chunks():
        yield head
        yield from _endless(b"y" * 65536, 8 << 20, consumed)

    reply = decoding.stream(sse_events(chunks()), 200)
    assert reply.content == "kept" and "larger than 1 MiB" in reply.incomplete
    with pytest.raises(BadResponseError, match="larger than 1 MiB") as info:
        decoding.stream(sse_events(_endless(b"z" * 65536, 8 << 20, [0])), 200)
    assert info.value.status == 200


# 5. The key never shows ----------------------------------------------------------------------------------------

def _no_key_prefix(text: str, key: str) -> bool:
    return not any(key[:n] in text for n in range(4, len(key) + 1))


@pytest.mark.parametrize("at", [0, 150, 185, 190, 195, 199, 200, 250])
def test_excerpt_redacts_before_cutting(secret, at):
    body = ("a" * at + secret + "b" * 300)[:300 + len(secret)].encode()
    out = excerpt(body)
    assert _no_key_prefix(out, secret), out
    if at < 197:
        assert "***" in out or out.endswith("*…") or out.endswith("**…")


@pytest.mark.parametrize("wrap", [b"%s", b"<html><body><p>error for key %s</p></body></html>",
                                  b'{"error": {"message": "bad key %s given"}}'])
def test_error_detail_never_shows_the_key(secret, wrap):
    body = wrap.replace(b"%s", b"x" * 180 + b" " + secret.encode())
    assert _no_key_prefix(decoding.error_detail(body), secret)


@pytest.mark.parametrize("offset", range(-len("SG_0123456789abcdefXYZ"), 2))
def test_a_key_cut_by_the_excerpt_window_is_dropped(secret, offset):
    body = b" " * (EXCERPT_WINDOW + offset) + secret.encode() + b" tail" * 100
    assert _no_key_prefix(excerpt(body), secret)
    body = b"<p>" + b"<br>" * ((EXCERPT_WINDOW + offset - 3) // 4) + secret.encode() + b"</p>" * 100
    assert _no_key_prefix(excerpt(body), secret)
