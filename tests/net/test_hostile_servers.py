"""Hostile input from the server: time, depth, numbers, shapes, secrets and invisible text."""

from __future__ import annotations

import json
import re
import time
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segchat import errors
from segchat.errors import BadResponseError, redact, register_secret
from segchat.figures import fmt_credits
from segchat.net import decoding as wire
from segchat.net.sse import sse_events
from segchat.text.excerpt import EXCERPT_WINDOW, excerpt
from segchat.text.sanitize import HOLD_BACK, _any_shown, _sanitize_slow, _spans, _unicode, sanitize

BIG = 500_000


def timed(f, *args):
    started = time.perf_counter()
    result = f(*args)
    return result, time.perf_counter() - started


@pytest.fixture
def secret():
    key = "SG_0123456789abcdefXYZ"
    register_secret(key)
    yield key
    errors._secrets.discard(key)


# 1. Untrusted text costs linear time ---------------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    b"<" * BIG, (b"<script" * BIG)[:BIG], b"<script>" * (BIG // 8), b"<style>" * (BIG // 7), b"<!--" * (BIG // 4),
    b"<a>x" * (BIG // 4), b"<p " + b"a" * BIG, b"x" * BIG, b"<script>" + b"</scrip" * (BIG // 7)])
def test_excerpt_of_500kb_hostile_body_takes_milliseconds(body):
    text, seconds = timed(excerpt, body)
    assert seconds < 1.0, seconds  # was 84 s for 500 KB of "<": quadratic regex backtracking
    assert isinstance(text, str) and len(text) <= 201


def test_excerpt_reads_only_the_start_of_a_body():
    assert excerpt(b" " * 70_000 + b"late words") == "(no text in the first 64 KiB)"
    assert excerpt(b"<p>early</p>" + b"<" * BIG).startswith("early")


def test_html_is_still_reduced_to_its_text():
    page = (b"<html><head><style>p{}</style><SCRIPT type=x>if (a<b) x()</Script ></head>"
            b"<body><!-- a > b --><h1>Bad\nGateway</h1><p>nginx</body></html>")
    assert excerpt(page) == "Bad Gateway nginx"
    assert excerpt(b"<html><script>never closed " + b"x" * 100) == "(empty body)"


@pytest.mark.parametrize("text", [
    "\u200d" * BIG, "\u200c" * BIG, "\x1b" * BIG, "\r\n" * (BIG // 2), "\r" * BIG, "👨\u200d" * (BIG // 3),
    "a\u200d" * (BIG // 2), "é\u200b" * (BIG // 2), "\U000e0041" * BIG])
def test_sanitize_is_linear(text):
    out, seconds = timed(sanitize, text)
    assert seconds < 1.0, seconds
    assert out == _sanitize_slow(text)


@pytest.mark.parametrize("text", [
    "authorization" + " " * BIG, "Authorization: Bearer " + " " * BIG, "bearer " * (BIG // 7), "Bearer " + "a" * BIG,
    "x-api-key:" * (BIG // 10), "authorization: " * (BIG // 15), "authorization:'" * (BIG // 15)])
def test_redact_is_linear(text):
    _, seconds = timed(redact, text)
    assert seconds < 1.0, seconds


# 2. Deeply nested JSON -----------------------------------------------------------------------------------------

DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 100_000 + b"1" + b"}" * 100_000


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT])
@pytest.mark.parametrize("parse", [wire.completion, wire.balance, wire.parse_json])
def test_deep_json_is_a_parse_error_not_a_recursion_error(parse, body):
    with pytest.raises(BadResponseError, match="could not parse") as info:
        parse(body, 502)
    assert info.value.status == 502


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT])
def test_deep_json_error_body_gives_an_excerpt(body):
    detail = wire.error_detail(body)
    assert detail.startswith(body[:20].decode()) and len(detail) <= 201


def test_deep_json_in_a_stream():
    with pytest.raises(BadResponseError, match=r"could not parse .* nested too deeply") as info:
        wire.stream(iter([("message", DEEP.decode())]), 200)
    assert info.value.status == 200
    ok = json.dumps({"choices": [{"delta": {"content": "kept"}}]})
    reply = wire.stream(iter([("message", ok), ("message", DEEP.decode())]), 200)
    assert reply.content == "kept" and "could not parse" in reply.incomplete
    reply = wire.stream(iter([("message", ok), ("error", DEEP.decode())]), 200)
    assert reply.content == "kept" and reply.incomplete.startswith("the stream reported an error: [[[")


# 3. Numbers from outside are range-checked ---------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    "1e999999999", "-1e999999999", "9" * 5000, "-" + "9" * 5000, "0." + "0" * 4000 + "1", "1e-999999999",
    "0E-1000000", "NaN", "-NaN", "sNaN", "Infinity", "-Infinity", "inf", "1e16", "-1e16", "1000000000000001",
    10**400, -(10**400), 10**16, 1e300, -1e300, float("inf"), float("nan"), 5e-324, [], {}, True])
def test_absurd_credits_are_unknown(raw):
    value, seconds = timed(wire.parse_credits, raw)
    assert value is None
    assert seconds < 0.1


@pytest.mark.parametrize("raw, value", [
    ("-0.5", Decimal("-0.5")), ("0", Decimal(0)), ("1e15", Decimal(10**15)), ("-1e15", -Decimal(10**15)),
    ("0.000000000000000000000000000001", Decimal("1e-30")), (12, Decimal(12)), (-3, Decimal(-3)),
    (2.5, Decimal("2.5")), (" 9.9875 ", Decimal("9.9875"))])
def test_sane_credits_including_an_overdraft_are_kept(raw, value):
    assert wire.parse_credits(raw) == value


@settings(max_examples=300)
@given(st.one_of(st.text(max_size=80), st.decimals().map(str), st.integers().map(str),
                 st.builds(lambda m, e: f"{m}e{e}", st.integers(-10**6, 10**6), st.integers(-10**9, 10**9))))
def test_parsed_credits_are_small_enough_to_print_and_add(raw):
    value = wire.parse_credits(raw)
    if value is not None:
        assert abs(value) <= 10**15
        assert len(fmt_credits(value)) <= 50
        assert (value * 2).adjusted() <= 16  # plain arithmetic on it stays small


HUGE = "9" * 400


def test_completion_keeps_only_sane_token_counts():
    body = ('{"choices": [{"message": {"content": "hi"}}], "usage": {"prompt_tokens": %s, "completion_tokens": 5, '
            '"total_tokens": -1, "cached": true, "cost": 0.5, "big": 1000000000, "details": {"x": 1}}}' % HUGE)
    assert wire.completion(body.encode(), 200).usage == {"completion_tokens": 5}
    body = '{"choices": [{"message": {"content": "hi"}}], "usage": {"prompt_tokens": %s}}' % HUGE
    assert wire.completion(body.encode(), 200).usage is None


def test_stream_keeps_only_sane_token_counts():
    events = [("message", '{"choices": [{"delta": {"content": "hi"}, "finish_reason": "stop"}]}'),
              ("message", '{"choices": [], "usage": {"prompt_tokens": %s, "completion_tokens": 7}}' % HUGE),
              ("message", "[DONE]")]
    assert wire.stream(iter(events), 200).usage == {"completion_tokens": 7}


# 4. Reply shapes -----------------------------------------------------------------------------------------------

def _body(content, **extra):
    return json.dumps({"id": "chatcmpl-marker", "choices": [{"message": {"content": content}}], **extra}).encode()


def test_content_as_text_blocks_is_read_as_text():
    blocks = [{"type": "text", "text": "Hello, "}, {"type": "reasoning", "reasoning": "hidden"},
              {"type": "text", "text": "world"}, {"text": "!"}]
    assert wire.completion(_body(blocks), 200).content == "Hello, world!"


@pytest.mark.parametrize("content", [
    None, 5, {"text": "x"}, [], [1], ["text"], [{"type": "text", "text": 5}], [{"type": "text"}], [{"type": 3}],
    [{"type": "image_url", "image_url": {"url": "x"}}]])
def test_other_content_shapes_are_bad_responses_with_status_and_excerpt(content):
    with pytest.raises(BadResponseError, match="not text") as info:
        wire.completion(_body(content), 203)
    assert info.value.status == 203 and "chatcmpl-marker" in str(info.value)


def _delta(content):
    return "message", json.dumps({"choices": [{"delta": {"content": content}}]})


def test_stream_deltas_with_text_blocks_are_read_as_text():
    seen: list[str] = []
    events = [("message", json.dumps({"choices": [{"delta": {"role": "assistant", "content": None}}]})),
              _delta([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]), _delta("c"),
              _delta([{"type": "thinking", "thinking": "hmm"}]), _delta([]), ("message", "[DONE]")]
    reply = wire.stream(iter(events), 200, seen.append)
    assert reply.content == "abc" and seen == ["ab", "c"] and reply.incomplete is None


@pytest.mark.parametrize("content", [5, {"a": 1}, [1], [{"type": "text", "text": None}]])
def test_stream_deltas_of_other_shapes_are_reported(content):
    with pytest.raises(BadResponseError, match="not text") as info:
        wire.stream(iter([_delta(content)]), 200)
    assert info.value.status == 200
    reply = wire.stream(iter([_delta("kept"), _delta(content), _delta("lost")]), 200)
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

    reply = wire.stream(sse_events(chunks()), 200)
    assert reply.content == "kept" and "larger than 1 MiB" in reply.incomplete
    with pytest.raises(BadResponseError, match="larger than 1 MiB") as info:
        wire.stream(sse_events(_endless(b"z" * 65536, 8 << 20, [0])), 200)
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
    assert _no_key_prefix(wire.error_detail(body), secret)


@pytest.mark.parametrize("offset", range(-len("SG_0123456789abcdefXYZ"), 2))
def test_a_key_cut_by_the_excerpt_window_is_dropped(secret, offset):
    body = b" " * (EXCERPT_WINDOW + offset) + secret.encode() + b" tail" * 100
    assert _no_key_prefix(excerpt(body), secret)
    body = b"<p>" + b"<br>" * ((EXCERPT_WINDOW + offset - 3) // 4) + secret.encode() + b"</p>" * 100
    assert _no_key_prefix(excerpt(body), secret)


@pytest.mark.parametrize("echo", [
    "Authorization: Bearer sk-abc.DEF_123-xyz", "authorization:bearer sk-abc.DEF_123-xyz",
    "{'Authorization': 'Bearer sk-abc.DEF_123-xyz'}", '{"authorization": "Bearer sk-abc.DEF_123-xyz"}',
    "headers: authorization=Basic sk-abc.DEF_123-xyz", "Proxy-Authorization: Bearer sk-abc.DEF_123-xyz",
    "AUTHORIZATION : Token sk-abc.DEF_123-xyz", "invalid token Bearer sk-abc.DEF_123-xyz for this model",
    "Authorization: sk-abc.DEF_123-xyz", "x-api-key: sk-abc.DEF_123-xyz"])
def test_redact_hides_authorization_and_bearer_echoes(echo):
    out = redact(echo)
    assert "abc.DEF" not in out and "***" in out


def test_redact_leaves_ordinary_words_alone():
    assert redact("the bearer of this note") == "the bearer of this note"


# 6. Invisible text is visible ----------------------------------------------------------------------------------

@pytest.mark.parametrize("char", [
    "\u200b", "\u2060", "\u2061", "\u2062", "\u2063", "\u2064", "\ufeff", "\u00ad", "\u180e", "\u180b", "\u034f",
    "\u3164", "\ufe00", "\U000e0100", "\U000e01ef", "\U000e0001", "\U000e0041", "\U000e007f", "\u2028", "\u2029",
    "\u206a", "\ufff9", "\U0001d173", "\U0001bca0", "\u17b4", "\u200e", "\u202e", "\u2066"])
def test_invisible_characters_are_shown(char):
    assert sanitize(f"a{char}b") == f"a<U+{ord(char):04X}>b"


@pytest.mark.parametrize("text", [
    "👨\u200d👩\u200d👧", "👩🏽\u200d💻", "🏳\ufe0f\u200d🌈", "🏳\ufe0f\u200d⚧\ufe0f", "❤\ufe0f\u200d🔥",
    "🐻\u200d❄\ufe0f", "🏃\u200d♀\ufe0f", "1\ufe0f\u20e3", "می\u200cخواهم", "خانه\u200cها", "ශ්\u200dරී ලංකා",
    "क्\u200dष", "क्\u200cष", "র\u200d্য", "emoji text presentation ☺\ufe0e"])
def test_joiners_that_join_are_kept(text):
    assert sanitize(text) == text


@pytest.mark.parametrize("text, shown", [
    ("pass\u200cword", "pass<U+200C>word"), ("pass\u200dword", "pass<U+200D>word"), ("end\u200d", "end<U+200D>"),
    ("\u200c", "<U+200C>"), ("👍\u200d\n", "👍<U+200D>\n"), ("a\u200c👍", "a<U+200C>👍"),
    ("\u200d\u200d👍", "<U+200D>\u200d👍"), ("👍\u200d\u200b", "👍<U+200D><U+200B>")])
def test_joiners_elsewhere_are_shown(text, shown):
    assert sanitize(text) == shown


INVISIBLE = re.compile("[\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b\u200e\u200f\u2028-\u202e"
                       "\u2060-\u206f\u3164\ufe00-\ufe0d\ufeff\uffa0\ufff0-\ufffb\U0001bca0-\U0001bca3"
                       "\U0001d173-\U0001d17a\U000e0000-\U000e0fff\ud800-\udfff]")
SPECIAL = (list("\x00\x1b\x7f\x85\x9b\r\n\t\u200b\u200c\u200d\u2028\u202e\u2060\u2064\ufeff\u00ad\u180e\ufe0f"
                "\ufe00\u034fa é👍👩💻♀ش்ර\ud800\udc00") + ["\U000e0041", "\U000e0100", "\U0001d173"])
hostile_text = st.text(st.one_of(st.characters(), st.sampled_from(SPECIAL)))


@settings(max_examples=500)
@given(hostile_text)
def test_sanitized_text_has_no_invisible_characters_and_no_lone_joiners(text):
    out = sanitize(text)
    assert not INVISIBLE.search(out)
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", out)
    for match in re.finditer("[\u200c\u200d]", out):  # every joiner left in place is followed by what it joins
        assert match.end() < len(out) and ord(out[match.end()]) >= 0x600, repr(out)


@settings(max_examples=500)
@given(hostile_text, st.lists(st.integers(0, 40)))
def test_chunked_equals_whole_when_no_piece_ends_in_hold_back(text, cuts):
    """The contract for streams: cut anywhere except right after "\\r", ZWNJ or ZWJ."""
    points = sorted({c for c in cuts if c < len(text) and (c == 0 or not text[:c].endswith(HOLD_BACK))})
    pieces = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    assert "".join(sanitize(p) for p in pieces) == sanitize(text)


def stream_sanitize(pieces: list[str]) -> str:
    """What a streaming caller does to honour the contract: hold back a trailing HOLD_BACK character."""
    out, held = [], ""
    for piece in pieces:
        text, held = held + piece, ""
        if text.endswith(HOLD_BACK):
            text, held = text[:-1], text[-1]
        out.append(sanitize(text))
    return "".join(out) + sanitize(held)


@settings(max_examples=500)
@given(hostile_text, st.lists(st.integers(1, 6)))
def test_a_stream_that_holds_back_equals_whole_for_every_cut(text, sizes):
    pieces, i = [], 0
    for size in sizes:
        pieces.append(text[i:i + size])
        i += size
    pieces.append(text[i:])
    assert stream_sanitize(pieces) == sanitize(text)
    assert stream_sanitize(list(text)) == sanitize(text)


# 7. Sanitiser fast path ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "plain ascii reply\n\twith tabs", "Café — “quoted” résumé…", "这是一个普通的回答。", "ok 👍🏽 done ✅ 🇫🇷", ""])
def test_clean_text_comes_back_as_it_is(text):
    assert sanitize(text) is text


@settings(max_examples=1000)
@given(hostile_text)
def test_fast_path_equals_slow_path(text):
    assert sanitize(text) == _sanitize_slow(text)


@given(st.text(st.sampled_from(SPECIAL), min_size=1))
def test_fast_path_equals_slow_path_on_special_characters_only(text):
    assert sanitize(text) == _sanitize_slow(text)


EDGES = [chr(p) for a, b in _spans() for p in (a - 1, a, b, b + 1) if 0 <= p <= 0x10FFFF]


@settings(max_examples=500)
@given(st.text(st.sampled_from([*EDGES, "é", "日", "👍", "a"]), max_size=12))
def test_the_quick_look_at_non_ascii_finds_what_the_regex_finds(text):
    assert _any_shown(text) == (_unicode().search(text) is not None)
