"""Secrets hidden from text: the keys segchat was given, and any key a header echo shows."""

from __future__ import annotations

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
    """Remember a secret so that redact() hides it everywhere from now on."""
    if value:
        _secrets.add(value)
        _longest_first[:] = sorted(_secrets, key=len, reverse=True)


def forget_secrets() -> None:
    """Forget every registered secret. For tests: each starts with none."""
    _secrets.clear()
    _longest_first.clear()


def redact(text: str) -> str:
    """Every registered secret, and the value of any x-api-key or Authorization header and any Bearer token in
    text, replaced by ***."""
    for secret in _longest_first:
        text = text.replace(secret, "***")
    if not _names_a_header(text):
        return text
    return _HEADER_ECHO.sub(lambda m: (m[1] or m[2]) + "***", text)


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
