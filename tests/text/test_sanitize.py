"""The sanitiser: controls and invisible characters shown, joiners kept where they join, in linear time; text
that needs no change comes back as it is."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.timing import timed

from segchat.text.redact import needs_redacting, redact, register_secret
from segchat.text.sanitize import HOLD_BACK, _sanitize_all, as_it_is, leaves, one_line, sanitize, unplain

BIG = 500_000


# 1. Untrusted text costs linear time ---------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "\u200d" * BIG, "\u200c" * BIG, "\x1b" * BIG, "\r\n" * (BIG // 2), "\r" * BIG, "👨\u200d" * (BIG // 3),
    "a\u200d" * (BIG // 2), "é\u200b" * (BIG // 2), "\U000e0041" * BIG])
def test_sanitize_is_linear(text):
    out, seconds = timed(sanitize, text)
    assert seconds < 1.0, seconds
    assert out == _sanitize_all(text)


# 2. Invisible text is visible ----------------------------------------------------------------------------------

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


@pytest.mark.parametrize("text, shown", [
    ("two\nlines.txt", "two^Jlines.txt"), ("tab\there", "tab^Ihere"), ("crlf\r\n", "crlf^M^J"),
    ("\x1b[31mred\x1b[0m", "^[[31mred^[[0m"), ("zero\u200bwidth", "zero<U+200B>width"),
    ("plain café.md", "plain café.md"), ("👨\u200d👩", "👨\u200d👩")])
def test_one_line_shows_line_breaks_and_tabs_too(text, shown):
    assert one_line(text) == shown


@settings(max_examples=300)
@given(hostile_text)
def test_one_line_is_one_line_of_sanitised_text(text):
    out = one_line(text)
    assert "\n" not in out and "\t" not in out and sanitize(out) == out
    assert one_line(text.replace("\n", "").replace("\t", "")) == sanitize(text.replace("\n", "").replace("\t", ""))


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


# 3. Text that needs no change ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "plain ascii reply\n\twith tabs", "Café — “quoted” résumé…", "这是一个普通的回答。", "ok 👍🏽 done ✅ 🇫🇷", ""])
def test_clean_text_comes_back_as_it_is(text):
    assert sanitize(text) is text


@settings(max_examples=1000)
@given(hostile_text)
def test_fast_path_equals_slow_path(text):
    assert sanitize(text) == _sanitize_all(text)


@given(st.text(st.sampled_from(SPECIAL), min_size=1))
def test_fast_path_equals_slow_path_on_special_characters_only(text):
    assert sanitize(text) == _sanitize_all(text)


PIECES = st.sampled_from(["a", "b ", "\n", "\r", "\r\n", "\t", "\x1b", "\x00", "\x85", "\u200b", "\u200c", "\u200d",
                          "👍", "\u0627", "\ufeff", "…", "日", "x-api-key: ", "X-Api-\u212aey", "Authorization",
                          "bearer ", "abcdefghijklmnopqrstu", "sk-live-secret"])


@settings(max_examples=400, deadline=None)
@given(st.lists(PIECES, max_size=20).map("".join), st.booleans())
def test_the_look_at_utf8_tells_what_sanitize_and_redact_do(text, secret):
    """leaves() and as_it_is() read a text's UTF-8 and say what sanitize() and redact() would do to it (a joiner,
    which may stay, sends it the slow way: sanitize() decides)."""
    if secret:
        register_secret("sk-live-secret")
    data = text.encode("utf-8", "surrogatepass")
    if "\u200c" in text or "\u200d" in text:
        assert not leaves(unplain(data)) and not as_it_is(data)
        return
    assert leaves(unplain(data)) == (sanitize(text) == text)
    assert as_it_is(data) == (sanitize(text) == text and not needs_redacting(text))
    if as_it_is(data):
        assert redact(text) == text
