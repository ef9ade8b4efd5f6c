"""Segmind's v1 API: POST {base_url}/{model} with x-api-key; credits in a header and at get-user-credits."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Callable

from segchat.config.settings import KEY_ENV
from segchat.errors import APIError, AuthError, CreditsError, MethodError, ModelRetired, NotFoundError, UsageError
from segchat.model.call import Call
from segchat.model.reply import Balance, Reply
from segchat.net import decoding
from segchat.net.http import Answer, Http
from segchat.providers.base import context_error, other_status, reply_of
from segchat.providers.segmind_catalogue import Entry, entries, entry, successor
from segchat.providers.segmind_queue import Queue

if TYPE_CHECKING:
    from collections.abc import Mapping

    from segchat.config.settings import ModelSettings

# Statuses that are the caller's to fix: the error type and what to tell the user.
STATUS_ERRORS: dict[int, tuple[type[APIError], str]] = {
    401: (AuthError, "the API key was rejected (401: {detail}); it came from {source}. "
                     "Fix it there, or set {env}"),
    404: (NotFoundError, "model '{model}' or URL {url} not found (404: {detail}); check the model slug and base_url"),
    405: (MethodError, "{method} is not allowed at {url} (405: {detail}); check base_url"),
    406: (APIError, "Segmind did not accept the request (406: {detail})"),  # unless its text says more: REFUSALS
    422: (APIError, "Segmind could not take the request as it is (422: {detail})"),  # the validation message
}
# What a 406 means, told by its text alone (Segmind sends no error codes): a pattern of the text, and the error
# and words it then means; the first that matches. Credits are not the only reason, so they are not assumed.
REFUSALS: list[tuple[re.Pattern[str], type[APIError], str]] = [
    (re.compile(r"content[ _-]?type", re.I), APIError,
     "Segmind refused the request's content type (406: {detail}); segchat sends application/json, so something "
     "on the way (a proxy?) changed it"),
    (re.compile(r"\bspend(ing)?\b.*\b(limit|cap)\b|\bteam\b.*\b(limit|cap)\b", re.I | re.S), APIError,
     "your Segmind team's spend limit is reached (406: {detail}); a team admin can raise it"),
    (re.compile(r"credit|balance|fund", re.I), CreditsError, "not enough credits (406: {detail})"),
]
COST_HEADER = "x-credits-consumed"  # what a request cost, where Segmind says it (undocumented; seen in other clients)


class Segmind:
    name = "segmind"
    has_credits = True
    lists_models = False  # any slug is accepted; suggestions() offers those of segchat's catalogue
    recovers_jobs = True
    asks_window = False  # segchat's catalogue knows, without a request
    warms_up = True  # a model not served lately starts first (a cold start): the first answer can take a while

    def __init__(self, base_url: str, model: str, api_key: str, *, timeout: float = 120.0, retries: int = 2,
                 key_source: str = "your configuration", key_env: str | None = None, stream: bool = False,
                 queue: bool = False, overrides: Mapping[str, ModelSettings] | None = None,
                 transport: Any = None, sleep: Callable[[float], None] | None = None) -> None:
        """overrides: the config's [models."SLUG"] tables, put over segchat's catalogue."""
        self.base_url, self.model, self.key_source, self.stream = base_url, model, key_source, stream
        self.overrides = dict(overrides or {})
        self.queued, self._timeout, self._sleep = queue, timeout, sleep  # queue: through the v2 queue
        self.key_env = key_env or KEY_ENV
        self.http = Http(timeout=timeout, retries=retries, headers={"x-api-key": api_key}, transport=transport,
                         sleep=sleep, tls=not base_url.startswith("http:"))

    def complete(self, messages: list[dict[str, str]], params: dict[str, Any] | None = None,
                 call: Call | None = None) -> Reply:
        call = call or Call()
        body: dict[str, Any] = {**self._conversation(messages), **(params or {})}
        if self.queued:
            queue = self._queue()
            return queue.wait(queue.submit(body, call), call)
        if self.stream:
            body["stream"] = True
        return self.http.request("POST", f"{self.base_url}/{self.model}", lambda a: self._reply(a, call),
                                 json=body, call=call)

    @property
    def family(self) -> str | None:
        """The family of the model in use (it follows self.model), as the catalogue or the user's table says;
        None for a slug neither knows, whose reply is then read by its shape."""
        known = self._entry()
        return known.family if known is not None else None

    def _conversation(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        """The conversation as the model's family takes it at Segmind, which passes it on to the family's own API.

        Anthropic's models (family "anthropic"): the system prompt as "instruction", as Segmind's Claude pages
        document it, and only the user's and the model's messages, as Anthropic's API takes them. Every other
        family gets OpenAI's messages, system prompt first. Gemini's too: Segmind's current Gemini pages document a
        body of Gemini's own (messages as {system_instruction, contents}), but its earlier pages for the same slugs
        show OpenAI's messages with a "system" role, Segmind's SDK sends OpenAI's messages for every slug, and
        nothing says the gateway refuses them.
        """
        if self.family != "anthropic":
            return {"messages": messages}
        body: dict[str, Any] = {"messages": [m for m in messages if m["role"] != "system"]}
        if system := "\n\n".join(m["content"] for m in messages if m["role"] == "system"):
            body["instruction"] = system
        return body

    def context_window(self, call: Call | None = None) -> int | None:
        """The model's window as the user's table or segchat's catalogue says; None for a slug neither knows."""
        known = self._entry()
        return known.context_window if known is not None else None

    def describe(self, model: str) -> str:
        known = entry(model, self.overrides)
        return known.description if known is not None else ""

    def _entry(self) -> Entry | None:
        return entry(self.model, self.overrides)

    def resume(self, job: dict[str, str], call: Call | None = None) -> Reply:
        """The reply of a job queued earlier (by this process or one that ended): waited for if still running."""
        return self._queue().wait(job, call or Call())

    def _queue(self) -> Queue:
        return Queue(self.http, self.base_url, self.model, self._check, self._timeout, self._sleep)

    def balance(self, call: Call | None = None) -> Balance:
        """GET {base_url}/get-user-credits."""
        return self.http.request("GET", f"{self.base_url}/get-user-credits", self._balance, call=call)

    def models(self, call: Call | None = None) -> list[str]:
        raise UsageError("Segmind lists no models here; any model slug is accepted")

    def suggestions(self) -> list[str]:
        """The models of segchat's catalogue, then the user's own."""
        return [known.slug for known in entries(self.overrides)]

    def close(self) -> None:
        self.http.close()

    def _reply(self, answer: Answer, call: Call) -> Reply:
        self._check(answer)
        reply = reply_of(answer, call)
        raw = answer.headers.get("x-remaining-credits")
        reply.credits = decoding.parse_credits(raw)
        reply.credits_raw = raw if raw is not None and reply.credits is None else None
        reply.cost = decoding.parse_cost(answer.headers.get(COST_HEADER))
        return reply

    def _balance(self, answer: Answer) -> Balance:
        self._check(answer)
        return decoding.balance(answer.body, answer.status)

    def _check(self, answer: Answer) -> None:
        status = answer.status
        if 200 <= status < 300:
            return
        detail = decoding.error_detail(answer.body)
        if status == 410:
            raise ModelRetired(self.model, successor(self.model), detail)
        if (refused := context_error(answer)) is not None:  # a 400, 413 or 422 that says so
            raise refused
        if status in STATUS_ERRORS:
            kind, template = STATUS_ERRORS[status]
            if status == 406:  # the first refusal its text matches, if any
                kind, template = next(((k, t) for pattern, k, t in REFUSALS if pattern.search(detail)),
                                      (kind, template))
            raise kind(template.format(detail=detail, source=self.key_source, env=self.key_env, model=self.model,
                                       url=answer.url, method=answer.method), status)
        raise other_status(answer)
