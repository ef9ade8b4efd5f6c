"""Redaction: registered secrets and the values of header echoes are hidden, in linear time; nothing else is."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.timing import timed

from segchat.text.redact import (
    SecretsInPieces,
    forget_secrets,
    hide_secrets,
    needs_redacting,
    redact,
    register_secret,
    secret_across_lines,
)

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


@pytest.mark.parametrize("key", ['sk-a/b"c\\d\'e-0123', "sk-f\\g'h/0123", 'sk-"i"/0123'])
def test_a_secret_is_hidden_as_json_and_python_quote_it(key):
    register_secret(key)
    for quoted in (json.dumps({"detail": f"bad key {key}"}), json.dumps(key).replace("/", "\\/"),
                   str({"detail": key}), repr(key)):
        shown = redact(quoted)
        assert "0123" not in shown and "***" in shown, (quoted, shown)


def test_hide_secrets_hides_the_keys_and_leaves_a_header_written_out():
    register_secret("sk-live-0123456789")
    text = 'curl -H "Authorization: Bearer $TOKEN" -H "x-api-key: sk-live-0123456789"'
    assert hide_secrets(text) == 'curl -H "Authorization: Bearer $TOKEN" -H "x-api-key: ***"'
    assert redact(text) == 'curl -H "Authorization: Bearer ***" -H "x-api-key: ***"'


def streamed(pieces: list[str]) -> list[str]:
    """What SecretsInPieces returns for each piece, and last what flush() returns."""
    hiding = SecretsInPieces()
    return [*map(hiding.feed, pieces), hiding.flush()]


@pytest.mark.parametrize("cut", range(1, len("sk-live-0123456789")))
def test_a_key_split_across_two_pieces_is_never_returned(cut):
    key = "sk-live-0123456789"
    register_secret(key)
    out = streamed([f"your key: {key[:cut]}", f"{key[cut:]}, kept"])
    assert out == ["your key: ", "***, kept", ""]


def test_only_what_could_start_a_secret_waits():
    register_secret("sk-live-0123456789")
    hiding = SecretsInPieces()
    assert hiding.feed("plain words ") == "plain words "  # nothing held: nothing in it starts a key
    assert hiding.feed("then sk-li") == "then "
    assert hiding.feed("ne") == "sk-line"  # no longer the start of the key
    assert hiding.feed(" and s") == " and "
    assert hiding.flush() == "s"  # the end: what was held is shown as it is
    assert streamed(["nothing registered?"]) == ["nothing registered?", ""]


def test_a_key_inside_the_start_of_another_is_hidden_whole():
    register_secret("sk-abc-0123456789")
    register_secret("sk-abc01")  # a shorter key that the longer one's held start could still become
    assert "".join(streamed(["a sk-abc", "01 b sk-abc-01234", "56789 c"])) == "a *** b *** c"
    assert "".join(streamed(["a sk-abc-0123", "x"])) == "a sk-abc-0123x"


STREAM_PIECES = st.sampled_from(["a", " ", "\n", "sk-", "sk-abc", "-01", "0123", "456789", "01", "sk-abc-0123456789",
                                 "sk-abc01", "xyz", "zz", "日", "👍", "*"])


@settings(max_examples=400, deadline=None)
@given(st.lists(STREAM_PIECES, max_size=30).map("".join), st.lists(st.integers(0, 400), max_size=8))
def test_streamed_hiding_equals_hiding_the_whole_text(text, cuts):
    register_secret("sk-abc-0123456789")
    register_secret("sk-abc01")
    register_secret("456789xyz")  # overlaps the end of the first
    bounds = sorted({0, len(text), *(c for c in cuts if c < len(text))})
    pieces = [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    assert "".join(streamed(pieces)) == hide_secrets(text)
