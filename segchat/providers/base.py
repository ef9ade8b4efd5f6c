"""What every provider is: the protocol the engine calls, and how they read replies and error statuses alike."""

from __future__ import annotations

import json
from typing import Any, Protocol

from segchat.errors import APIError, BadResponseError, ContextError, RetryableError
from segchat.model.call import Call
from segchat.model.reply import Balance, Reply
from segchat.net import decoding
from segchat.net.http import RETRY_STATUSES, Answer, asked_wait, clock_time


class Provider(Protocol):
    """A chat API: builds its requests from the conversation, sends them, reads the reply.

    What a provider may lack it declares: a method whose capability is False refuses (UsageError).
    """

    name: str  # "segmind" or "openai", as in the config's provider key
    model: str
    has_credits: bool  # an account balance to show, price turns by and budget against: balance()
    lists_models: bool  # the server lists the ids /model completes: models() asks it (else: suggestions())
    recovers_jobs: bool  # a request queued earlier can be asked for its reply, not paying again: resume()
    asks_window: bool  # context_window() asks the server (a request); else it answers at once from what it knows
    # The model's family where segchat's catalogue or the user's [models."SLUG"] table says it (config.settings
    # FAMILIES); it follows model. Segmind's request and reply shapes go by it ("anthropic", "gemini", else
    # OpenAI's); None for a model neither knows, and for servers that speak one shape whatever the model.
    family: str | None
    warms_up: bool  # a model may have to start before it answers (a cold start): a long first silence is that

    def complete(self, messages: list[dict[str, str]], params: dict[str, Any], call: Call) -> Reply:
        """Send the whole conversation; the reply, its text also passed to call.on_delta when streamed."""
        ...

    def balance(self, call: Call | None = None) -> Balance: ...

    def models(self, call: Call | None = None) -> list[str]: ...

    def resume(self, job: dict[str, str], call: Call) -> Reply:
        """The reply of a job queued earlier (by this process or one that ended), waited for if still running."""
        ...

    def context_window(self, call: Call | None = None) -> int | None:
        """The served model's context window in tokens, where the server (or the provider's own knowledge of the
        model) says it; None where nothing does."""
        ...

    def suggestions(self) -> list[str]:
        """Model ids to offer before (or without) asking the server."""
        ...

    def describe(self, model: str) -> str:
        """One line about model, for the menu of ids (segchat's catalogue, the user's [models] table); "" when
        there is none."""
        ...

    def close(self) -> None: ...


def reply_of(answer: Answer, call: Call) -> Reply:
    """A chat completion, whole or streamed (whenever the server streams, asked or not)."""
    if answer.events is not None:
        def shown(text: str) -> None:
            answer.text_arrived()
            if call.on_delta is not None:
                call.on_delta(text)

        def reasoned(text: str) -> None:
            # Reasoning is no reply text, but it is a sign of life: the server is working on the reply. It moves
            # the silence deadline as text does, so a model that reasons for minutes before its first word of
            # reply is not cut at the timeout.
            answer.text_arrived()
            if call.on_reasoning is not None:
                call.on_reasoning(text)

        return decoding.stream(answer.events, answer.status, shown, reasoned)
    return decoding.completion(answer.body, answer.status)


def window_of(value: Any) -> int | None:
    """A context window as a server states it: a whole number of tokens from 1 to 10**8, else None."""
    return value if type(value) is int and 0 < value <= 10**8 else None


def context_error(answer: Answer) -> ContextError | None:
    """The server's own "the conversation is longer than the context" error, explained as such; None for others.

    Recognised by what servers say: llama.cpp's exceed_context_size_error (with its n_ctx), OpenAI's
    context_length_exceeded, vLLM's "maximum context length".
    """
    if answer.status not in (400, 413, 422):
        return None
    try:
        error = json.loads(answer.body).get("error")
    except (ValueError, RecursionError, AttributeError):
        error = None
    fields = error if isinstance(error, dict) else {}
    words = " ".join(str(fields.get(k, "")) for k in ("type", "code", "message")).lower() if fields else \
        answer.body[:2000].decode(errors="replace").lower()
    if not ("context" in words and ("exceed" in words or "maximum context length" in words)):
        return None
    window = window_of(fields.get("n_ctx"))
    size = f" of {window:,} tokens" if window else ""
    return ContextError(f"the conversation is longer than the model's context window{size}, as the server says "
                        f"({answer.status}: {decoding.error_detail(answer.body)})", answer.status, window)


def other_status(answer: Answer) -> APIError:
    """The error for a status no provider-specific rule explained."""
    status, detail = answer.status, decoding.error_detail(answer.body)
    tries = f" after {answer.attempts} attempts" if answer.attempts > 1 else ""
    if status in RETRY_STATUSES:
        wait = asked_wait(answer.headers)
        asked = f"; the server asks to wait {wait:.0f} s (until {clock_time(wait)})" if wait is not None else ""
        what = "rate limited (429)" if status == 429 else f"server error {status}"
        return RetryableError(f"{what}{tries}: {detail}{asked}", status)
    if 200 <= status < 300:
        return BadResponseError(f"unexpected answer ({status}): {detail}", status)
    return APIError(f"the server refused the request ({status}): {detail}", status)
