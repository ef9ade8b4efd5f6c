"""Typed errors, exit codes and the one place secrets are redacted.

SegchatError                      exit code
 +-- UsageError                   2  bad arguments, no terminal
 +-- ConfigError                  2  malformed config, bad key, unsafe URL
 +-- StoreError                   1  session store problems
 |    +-- SessionNotFound         1
 +-- BudgetError                  1  the session budget is spent
 |    +-- UnsureBudgetError       1  a budget is set and some costs are unknown
 +-- APIError                     1  anything the server or network did
      +-- AuthError               1  401
      +-- NotFoundError           1  404
      +-- MethodError             1  405
      +-- CreditsError            1  406 not enough credits
      +-- RetryableError          1  429/5xx/connect failures, after retries
      +-- AmbiguousError          1  sent, then timed out or dropped: maybe billed
      +-- BadResponseError        1  HTML, invalid JSON, cut-off body, no content
      +-- RedirectError           1  3xx: never followed (the key would travel)
      +-- JobFailed               1  a queued request failed or is unknown: no reply to fetch
      +-- StillWaiting            1  the deadline passed with the queued job still going
"""

from __future__ import annotations

import re

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

_secrets: set[str] = set()
_longest_first: list[str] = []
# Header echoes: x-api-key: KEY, Authorization: [Bearer|Basic|Token] KEY (also as 'name': 'value' or name=value),
# and a bare "Bearer TOKEN" (RFC 6750 token characters, 16 or more, so prose like "bearer bonds" is left alone).
# Possessive quantifiers and no nested repetition: one pass over the text, whatever it holds.
_HEADER = (r"""((?:x-api-key|authorization)['"]?\s*+[:=]\s*+['"]?+(?:(?:bearer|basic|token)\s++)?+)[^\s'",}]++"""
           r"""|(\bbearer\s++)[A-Za-z0-9\-._~+/]{16,}+=*+""")
_header_re: re.Pattern[str] | None = None  # compiled on first need: most text never mentions a key
# What _HEADER needs to find anything, lowered: the headers any provider's key travels in (Segmind's x-api-key,
# OpenAI's Authorization: Bearer). Here, not in the providers: listing or showing sessions loads none, and a
# pasted header must be hidden all the same.
_HEADER_WORDS = (b"x-api-key", b"authorization", b"bearer")


def register_secret(value: str) -> None:
    """Remember a secret so that redact() hides it everywhere from now on."""
    if value:
        _secrets.add(value)
        _longest_first[:] = sorted(_secrets, key=len, reverse=True)


def redact(text: str) -> str:
    """Hide every registered secret, any x-api-key or Authorization value and any Bearer token in text."""
    global _header_re
    for secret in _longest_first:  # longest first: a key that contains another is hidden whole
        text = text.replace(secret, "***")
    if not _mentions_header(text):
        return text
    if _header_re is None:
        _header_re = re.compile(_HEADER, re.IGNORECASE)
    return _header_re.sub(lambda m: (m[1] or m[2]) + "***", text)


def needs_redacting(text: str) -> bool:
    """Whether redact() would change text (or may: a header name alone is enough)."""
    return any(secret in text for secret in _longest_first) or _mentions_header(text)


def needs_redacting_utf8(data: bytes, beyond_ascii: bytes) -> bool:
    """needs_redacting() of valid UTF-8 text, read from its bytes; beyond_ascii: its bytes that are not ASCII
    (or more of its bytes, in their order). For a long text that never needs it, the usual case: a name or a
    secret is looked for only when each of its characters is in the text, which a byte search (memchr) tells
    at a small fraction of the cost of looking for the word."""
    lowered = None
    for name in _HEADER_WORDS:
        if all(data.find(c) >= 0 or data.find(c.upper()) >= 0 for c in _letters(name)):
            lowered = data.lower() if lowered is None else lowered
            if name in lowered:
                return True
    for secret in _longest_first:
        encoded = secret.encode("utf-8", "surrogatepass")
        if all(data.find(c) >= 0 for c in _letters(encoded)) and encoded in data:
            return True
    return KELVIN.encode() in beyond_ascii


def _letters(word: bytes) -> list[bytes]:
    return [bytes((c,)) for c in set(word)]


def secret_across_lines() -> bool:
    """Whether a registered secret holds a line break (then it may span two pieces of a text)."""
    return any("\n" in secret for secret in _longest_first)


KELVIN = "\u212a"  # the one letter beyond ASCII that lowers to one of a header name's (k)


def _mentions_header(text: str) -> bool:
    # Lowered as UTF-8 bytes: str.lower() of a text with one character beyond Latin-1 costs ten times as much.
    # Only ASCII letters are lowered so; the one other letter that lowers to one of these is the Kelvin sign.
    lowered = text.encode("utf-8", "surrogatepass").lower()
    return any(word in lowered for word in _HEADER_WORDS) or (not text.isascii() and KELVIN in text)


class Cancelled(Exception):
    """The user cancelled a request (Ctrl-C); not an error to report. partial: streamed text that arrived."""

    def __init__(self, partial: str = "") -> None:
        super().__init__(partial)
        self.partial = partial


class SegchatError(Exception):
    """Base of every error segchat reports to the user without a traceback."""

    exit_code = EXIT_ERROR

    def __str__(self) -> str:
        return redact(super().__str__())


class UsageError(SegchatError):
    """The command line or the terminal situation does not allow what was asked."""

    exit_code = EXIT_USAGE


class ConfigError(SegchatError):
    """A setting is missing, malformed or unsafe."""

    exit_code = EXIT_USAGE


class StoreError(SegchatError):
    """The session store cannot do what was asked."""


class SessionNotFound(StoreError):
    """No session has that name or id."""


class BudgetError(SegchatError):
    """Sending would go past the session's credit budget."""

    def __init__(self, spent: object, budget: object) -> None:
        from segchat.figures import fmt_credits

        super().__init__(f"this session has spent {fmt_credits(spent)} credits, reaching its budget of "  # type: ignore[arg-type]
                         f"{fmt_credits(budget)}")  # type: ignore[arg-type]
        self.spent, self.budget = spent, budget


class UnsureBudgetError(BudgetError):
    """A budget is set and some turns' costs are unknown: the next message could pass it unseen."""

    def __init__(self, spent: object, budget: object, unpriced: int) -> None:
        from segchat.figures import fmt_credits

        SegchatError.__init__(self, f"this session has spent {fmt_credits(spent)} credits that are known, "  # type: ignore[arg-type]
                              f"and {unpriced} turn(s) whose cost is unknown, against a budget of "
                              f"{fmt_credits(budget)}; segchat cannot be sure the budget holds")  # type: ignore[arg-type]
        self.spent, self.budget, self.unpriced = spent, budget, unpriced


class APIError(SegchatError):
    """The server or the network did not give a usable reply."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthError(APIError):
    """401: the API key was rejected."""


class NotFoundError(APIError):
    """404: unknown model slug or URL."""


class MethodError(APIError):
    """405: the URL does not accept this method."""


class CreditsError(APIError):
    """406: the account does not have enough credits."""


class RetryableError(APIError):
    """Rate limit, server trouble or no connection, still failing after retries."""


class AmbiguousError(APIError):
    """The request was sent but no full reply came back; it may have been billed."""


class BadResponseError(APIError):
    """The server answered something that is not a usable chat completion."""


class JobFailed(APIError):
    """A queued request failed (or the queue forgot it): there is no reply to fetch."""


class StillWaiting(APIError):
    """The deadline passed while a queued job waited or ran; it goes on, and its reply can be fetched later."""


class RedirectError(APIError):
    """The server redirected; segchat does not follow (the key would go along)."""
