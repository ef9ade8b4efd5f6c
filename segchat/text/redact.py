"""Secrets hidden from text: the keys segchat was given, and any key a header echo shows."""

from __future__ import annotations

import json
import re

# Header echoes: x-api-key: KEY, Authorization: [Bearer|Basic|Token] KEY (also as 'name': 'value' or name=value),
# and a bare "Bearer TOKEN" (RFC 6750 token characters, 16 or more, so prose like "bearer bonds" is left alone).
# Possessive quantifiers and no nested repetition: one pass over the text, whatever it holds.
_HEADER_ECHO = re.compile(
    r"""((?:x-api-key|authorization)['"]?\s*+[:=]\s*+['"]?+(?:(?:bearer|basic|token)\s++)?+)[^\s'",}]++"""
    r"""|(\bbearer\s++)[A-Za-z0-9\-._~+/]{16,}+=*+""",
    re.IGNORECASE)
# What a header echo begins with, lowered: the headers any provider's key travels in (Segmind's x-api-key, OpenAI's
# Authorization: Bearer). Here, not in the providers: a pasted header must be hidden whatever session it is in.
_HEADER_NAMES = ("x-api-key", "authorization", "bearer")

_secrets: set[str] = set()
_longest_first: list[str] = []  # a key that contains another is hidden whole


def register_secret(value: str) -> None:
    """Remember a secret so that redact() and hide_secrets() hide it everywhere from now on: as it is, and as
    JSON and Python quote it (a key holding a quote, a backslash or a slash, echoed in an error body)."""
    if value:
        quoted = json.dumps(value)[1:-1]
        _secrets.update((value, quoted, quoted.replace("/", "\\/"), repr(value)[1:-1]))
        _longest_first[:] = sorted(_secrets, key=len, reverse=True)


def forget_secrets() -> None:
    """Forget every registered secret. For tests: each starts with none."""
    _secrets.clear()
    _longest_first.clear()


def redact(text: str) -> str:
    """Every registered secret, and the value of any x-api-key or Authorization header and any Bearer token in
    text, replaced by ***. For what segchat says and what a server says about a request (errors, notices)."""
    text = hide_secrets(text)
    if not _names_a_header(text):
        return text
    return _HEADER_ECHO.sub(lambda m: (m[1] or m[2]) + "***", text)


def hide_secrets(text: str) -> str:
    """Every registered secret in text replaced by ***, and nothing else. For the conversation (a reply, as shown
    and as stored), where a header is an example written out (curl -H "Authorization: Bearer $TOKEN") and is
    kept as written: only a key segchat was given is a secret there."""
    for secret in _longest_first:
        if secret in text:
            text = text.replace(secret, "***")
    return text


class SecretsInPieces:
    """hide_secrets() for text that arrives in pieces (a streamed reply): what feed() returns, followed by
    what flush() returns, is hide_secrets() of all the text fed, however it was cut.

    A piece's end that could be the start of a secret (a proper prefix of one, so at most the longest
    secret's length less one) is held back until the next piece tells, or flush(); the rest is returned at once.
    """

    def __init__(self) -> None:
        self._held = ""

    def feed(self, piece: str) -> str:
        text = self._held + piece
        cut = _settled(text)
        self._held = text[cut:]
        return hide_secrets(text[:cut])

    def flush(self) -> str:
        """The text held back, now that no more comes."""
        text, self._held = self._held, ""
        return hide_secrets(text)


def _settled(text: str) -> int:
    """How much of text no text after it can change hide_secrets() of: it ends before any end of text that could
    start a secret, and outside any secret text holds."""
    cut = len(text)
    for secret in _longest_first:
        start = text.find(secret[0], max(0, len(text) - len(secret) + 1))
        while start >= 0 and not secret.startswith(text[start:]):
            start = text.find(secret[0], start + 1)
        if start >= 0:
            cut = min(cut, start)
    moved = True
    while moved:  # a secret across the cut: cut before it (which may put the cut inside another)
        moved = False
        for secret in _longest_first:
            start = text.find(secret, max(0, cut - len(secret) + 1), cut + len(secret) - 1)
            if 0 <= start < cut:
                cut, moved = start, True
    return cut


def needs_redacting(text: str) -> bool:
    """Whether redact() may change text: it holds a registered secret or names a header (which is enough)."""
    return any(secret in text for secret in _longest_first) or _names_a_header(text)


def secret_across_lines() -> bool:
    """Whether a registered secret holds a line break (then it may span two pieces of a text)."""
    return any("\n" in secret for secret in _longest_first)


def _names_a_header(text: str) -> bool:
    """Whether text names a header whose value redact() hides: the one pass that spares most text the regex,
    which tries every position of it."""
    lowered = text.lower()
    return any(name in lowered for name in _HEADER_NAMES)
