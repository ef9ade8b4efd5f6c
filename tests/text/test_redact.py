"""Redaction: registered secrets and the values of header echoes are hidden, in linear time; nothing else is."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.timing import timed

from segchat.text.redact import forget_secrets, needs_redacting, redact, register_secret, secret_across_lines

BIG = 500_000


@pytest.mark.parametrize("text", [
    "authorization" + " " * BIG, "Authorization: Bearer " + " " * BIG, "bearer " * (BIG // 7), "Bearer " + "a" * BIG,
    "x-api-key:" * (BIG // 10), "authorization: " * (BIG // 15), "authorization:'" * (BIG // 15)])
def test_redact_is_linear(text):
    _, seconds = timed(redact, text)
    assert seconds < 1.0, seconds


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


def test_registered_secrets_are_hidden_longest_first():
    register_secret("sk-abc")
    register_secret("sk-abc-0123456789")
    assert redact("keys sk-abc-0123456789 and sk-abc.") == "keys *** and ***."
    assert needs_redacting("a sk-abc b") and not needs_redacting("a sk-ab b")


def test_forgotten_secrets_show_again():
    register_secret("sk-forget-me")
    forget_secrets()
    assert redact("sk-forget-me") == "sk-forget-me" and not needs_redacting("sk-forget-me")


def test_a_secret_with_a_line_break_is_known_as_such():
    register_secret("one-line-secret")
    assert not secret_across_lines()
    register_secret("two\nlines")
    assert secret_across_lines()
    assert redact("a two\nlines b") == "a *** b"


@pytest.mark.parametrize("text", ["x-api-key: sk-abcdefgh", "AUTHORIZATION: Basic zzz",
                                  "a Bearer abcdefghijklmnopqrstu", "x-api-\u212aey: hidden-value",
                                  "the key sk-long-secret-value in prose"])
def test_needs_redacting_agrees_with_redact(text):
    register_secret("sk-long-secret-value")
    assert needs_redacting(text) and redact(text) != text
    assert not needs_redacting("plain words, café, 日本語") and not needs_redacting("")


PIECES = st.sampled_from(["a", "b ", "\n", "\r", "\t", "\x1b", "\u200d", "👍", "\u0627", "\u0301", "日", "İ", "ı",
                          "\u212a", "x-api-key: ", "X-API-KEY=", "Authorization", ": ", "'", "bearer ", "Bearer\t",
                          "Basic ", "token ", "abcdefghijklmnopqrstu", "sk-long-secret-value"])


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES, max_size=40).map("".join), st.booleans())
def test_whatever_redact_changes_needs_redacting_finds(text, secret):
    if secret:
        register_secret("sk-long-secret-value")
    assert redact(text) == text or needs_redacting(text)
