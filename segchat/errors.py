"""Typed errors and exit codes; an error's text never shows a secret (text.redact hides it).

SegchatError                      exit code
 +-- UsageError                   2  bad arguments, no terminal
 |    +-- ContextTooLong          2  the conversation looks longer than the model's window: nothing was sent
 +-- ConfigError                  2  malformed config, bad key, unsafe URL
 +-- StoreError                   1  session store problems
 |    +-- SessionNotFound         1
 |    +-- StoreBusy               1  another process held the write lock for longer than segchat waits
 |    +-- UnsentTaken             1  the unsent message was taken (and is answered) by another segchat
 +-- BudgetError                  1  the session budget is spent
 |    +-- UnsureBudgetError       1  a budget is set and some costs are unknown
 +-- APIError                     1  anything the server or network did
      +-- AuthError               1  401
      +-- NotFoundError           1  404
      +-- MethodError             1  405
      +-- CreditsError            1  406 not enough credits
      +-- ModelRetired            1  410: the model was retired
      +-- RetryableError          1  429/5xx/connect failures, after retries
      +-- ContextError            1  the server says the conversation exceeds the model's context window
      +-- AmbiguousError          1  sent, then timed out or dropped: maybe billed (or started on)
      +-- BadResponseError        1  HTML, invalid JSON, cut-off body, no content
      +-- RedirectError           1  3xx: never followed (the key would travel)
      +-- JobFailed               1  a queued request failed: no reply to fetch
      |    +-- JobGone            1  the queue no longer keeps the request or its reply (asking again pays again)
      +-- StillWaiting            1  the deadline passed, or a poll got no answer, with the queued job still going
"""

from __future__ import annotations

from decimal import Decimal

from segchat.figures import fmt_credits
from segchat.text.redact import redact

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


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


class ContextTooLong(UsageError):
    """The conversation (with the message to send) looks longer than the model's context window, as segchat counts
    it: nothing was sent. The count is an estimate; the user may choose to send all the same."""

    def __init__(self, model: str, tokens: int, window: int) -> None:
        super().__init__(f"the conversation (~{tokens:,} tokens with your message) is longer than the "
                         f"{window:,}-token context window of {model}; nothing was sent")
        self.model, self.tokens, self.window = model, tokens, window


class ConfigError(SegchatError):
    """A setting is missing, malformed or unsafe."""

    exit_code = EXIT_USAGE


class StoreError(SegchatError):
    """The session store cannot do what was asked."""


class SessionNotFound(StoreError):
    """No session has that name or id."""


class StoreBusy(StoreError):
    """Another process held the store's write lock for longer than segchat waits: nothing was written.

    outcome, when given, says what that means where it happened ("nothing was sent")."""

    def __init__(self, path: str, waited: float, outcome: str = "") -> None:
        super().__init__(f"the session store is busy: another segchat (or another program) is writing to it "
                         f"({path}; waited {waited:g} s)" + (f"; {outcome}" if outcome else ""))
        self.path, self.waited = path, waited

    def before_sending(self) -> StoreBusy:
        """The same error, raised before a request: it tells that nothing was sent (nor paid for)."""
        return StoreBusy(self.path, self.waited, "nothing was sent")


class UnsentTaken(StoreError):
    """An unsent message is no longer this process's to answer: another segchat claimed it, or stored its reply.

    Raised before anything is stored, so one message's exchange is never stored twice.
    """


class BudgetError(SegchatError):
    """Sending would go past the session's credit budget."""

    def __init__(self, spent: Decimal, budget: Decimal) -> None:
        super().__init__(f"this session has spent {fmt_credits(spent)} credits, reaching its budget of "
                         f"{fmt_credits(budget)}")
        self.spent, self.budget = spent, budget


class UnsureBudgetError(BudgetError):
    """A budget is set and some turns' costs are unknown: the next message could pass it unseen."""

    def __init__(self, spent: Decimal, budget: Decimal, unpriced: int) -> None:
        SegchatError.__init__(self, f"this session has spent {fmt_credits(spent)} credits that are known, "
                              f"and {unpriced} turn(s) whose cost is unknown, against a budget of "
                              f"{fmt_credits(budget)}; segchat cannot be sure the budget holds")
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


class ModelRetired(APIError):
    """410: the provider retired the model; successor: the one it suggests instead, when known."""

    def __init__(self, model: str, successor: str | None, detail: str) -> None:
        super().__init__(f"model '{model}' was retired by Segmind (410: {detail})"
                         + (f"; try {successor}" if successor else ""), 410)
        self.model, self.successor = model, successor


class RetryableError(APIError):
    """Rate limit, server trouble or no connection, still failing after retries."""


class ContextError(APIError):
    """The server refused the conversation as longer than the model's context window (window: its size, if told)."""

    def __init__(self, message: str, status: int | None = None, window: int | None = None) -> None:
        super().__init__(message, status)
        self.window = window


class AmbiguousError(APIError):
    """The request was sent but no full reply came back; it may have been billed."""


class BadResponseError(APIError):
    """The server answered something that is not a usable chat completion."""


class JobFailed(APIError):
    """A queued request failed: there is no reply to fetch."""


class JobGone(JobFailed):
    """The queue no longer keeps a request, or the reply of one that completed (Segmind keeps them for an hour):
    it was most likely paid for, and sending the message again pays again."""


class StillWaiting(APIError):
    """The deadline passed while a queued job waited or ran, or asking about it got no answer; it goes on, and its
    reply can be fetched later."""


class RedirectError(APIError):
    """The server redirected; segchat does not follow (the key would go along)."""
