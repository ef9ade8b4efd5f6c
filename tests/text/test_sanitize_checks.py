"""The quick checks sanitize and redaction make: on a text's UTF-8 (a piped table is printed so), and before the
regex of the characters to replace is compiled. Each says what the plain check says."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import segchat.text.sanitize as module
from segchat import errors
from segchat.text.sanitize import leaves, sanitize, unplain

PIECES = st.sampled_from(["a", "b ", "\n", "\r", "\r\n", "\t", "\x1b", "\x00", "\x85", "\u200b", "\u200c", "\u200d",
                          "👍", "\u0627", "\ufeff", "…", "日", "x-api-key: ", "X-Api-\u212aey", "Authorization",
                          "bearer ", "abcdefghijklmnopqrstu", "sk-live-secret", "## You", "\"attachments\""])


@settings(max_examples=400, deadline=None)
@given(st.lists(PIECES, max_size=20).map("".join))
def test_bytes_tell_what_the_text_tells(text):
    """The checks made on UTF-8 say what sanitize() and needs_redacting() say of the text (a joiner, which may
    stay, sends it the slow way: sanitize() decides)."""
    data = text.encode()
    if "\u200c" in text or "\u200d" in text:
        assert not leaves(unplain(data))
    else:
        assert leaves(unplain(data)) == (sanitize(text) == text)
    assert errors.needs_redacting_utf8(data, unplain(data)) == errors.needs_redacting(text)


def test_the_secret_check_on_bytes(monkeypatch):
    monkeypatch.setattr(errors, "_secrets", set(errors._secrets))
    monkeypatch.setattr(errors, "_longest_first", list(errors._longest_first))
    errors.register_secret("Zq-secret-9")
    for text in ("plain", "a Zq-secret-9 b", "Zq-secret-", "zq-secret-9", "…Zq-secret-9…"):
        data = text.encode()
        assert errors.needs_redacting_utf8(data, unplain(data)) == errors.needs_redacting(text)


def test_characters_looked_up_without_the_regex_are_those_it_matches():
    """sanitize's lookup in spans, used for a few characters before the regex is compiled, agrees with it."""
    edges = {code + d for first, last in module._spans() for code in (first, last) for d in (-2, -1, 0, 1, 2)}
    codes = sorted({*range(0x3000), *range(0xFE00, 0x10000), *edges} - {-2, -1, 0x110000, 0x110001})
    spans = module._spans()
    for code in codes:
        looked_up = any(first <= code <= last for first, last in spans)
        assert looked_up == bool(module._unicode().search(chr(code))), hex(code)


def test_sanitize_decides_the_same_before_the_regex_is_compiled():
    for text in ("a title…", "é\u200b", "\u202e!", "日本", "\ud800", "\x85", "x\ufeff"):
        module._unicode.cache_clear()
        fresh = module.sanitize(text)
        module._unicode()
        assert module.sanitize(text) == fresh
    module._unicode.cache_clear()
    assert module.sanitize("a title… 日本語") == "a title… 日本語"
    assert module._unicode.cache_info().currsize == 0  # not compiled for it
    long = "é…" * 10_000  # but for a long remainder, it is
    assert module.sanitize(long) == long
    assert module._unicode.cache_info().currsize == 1
