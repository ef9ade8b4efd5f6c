"""Segmind's queued v2 API: a request gets an id at once, is polled with backoff, and its reply can be fetched later."""

from __future__ import annotations

import json
import time
from typing import Any, Callable, TypeVar
from urllib.parse import urljoin

from segchat.errors import (
    AmbiguousError,
    BadResponseError,
    Cancelled,
    ConfigError,
    JobFailed,
    JobGone,
    RetryableError,
    StillWaiting,
)
from segchat.model.call import Call
from segchat.model.reply import Reply
from segchat.net.decoding import completion_from, error_detail, no_text, parse_json
from segchat.net.http import Answer, Http
from segchat.text.excerpt import excerpt
from segchat.text.redact import redact

FIRST_POLL, LAST_POLL = 0.25, 2.0  # seconds between polls: quick at first, then backing off
STATES = {"QUEUED": "queued", "PROCESSING": "running", "IN_PROGRESS": "running"}
T = TypeVar("T")
GONE = (404, 410)  # how the queue answers for a request, or a result, it no longer keeps
GOES_ON = "it goes on at Segmind, and its reply will be fetched without paying again"


def v2_base(base_url: str) -> str:
    """The queue's base: base_url with its trailing /v1 replaced by /v2."""
    if not base_url.endswith("/v1"):
        raise ConfigError(f"queue needs a base_url ending in /v1 (the queue is at .../v2), not {base_url}")
    return base_url[: -len("/v1")] + "/v2"


class Queue:
    """Submits to and waits on Segmind's queue through one provider's HTTP (its key, its deadline)."""

    def __init__(self, http: Http, base_url: str, model: str, check: Callable[[Answer], None],
                 timeout: float, sleep: Callable[[float], None] | None = None) -> None:
        self.http, self.base, self.model, self.check = http, v2_base(base_url), model, check
        self.timeout, self._sleep = timeout, sleep

    def submit(self, body: dict[str, Any], call: Call) -> dict[str, str]:
        """POST the request; its job (request id and where to ask) is handed to call.on_job before any poll."""
        job = self.http.request("POST", f"{self.base}/{self.model}", self._job, json=body, call=call)
        if call.on_job is not None:
            call.on_job(job)
        return job

    def wait(self, job: dict[str, str], call: Call) -> Reply:
        """Poll until the job completes (then fetch its reply), fails, or the deadline passes.

        JobFailed: the job failed; JobGone: the queue no longer keeps it or its reply (no reply to fetch, ever).
        StillWaiting: the deadline passed, or a poll got no answer: the job goes on, and can be fetched later.
        """
        deadline, pause = time.monotonic() + self.timeout, FIRST_POLL
        while True:
            state = self._poll(job["status_url"], lambda a: self._state(a, job), call)
            call.state = STATES.get(state, redact(state).lower()[:20])
            if state == "COMPLETED":
                return self._poll(job["response_url"], lambda a: self._result(a, job), call)
            if time.monotonic() + pause > deadline:
                raise StillWaiting(f"the queued request is still {call.state} after {self.timeout:g} s; {GOES_ON}")
            self._pause(pause, call)
            pause = min(pause * 1.6, LAST_POLL)

    def _poll(self, url: str, read: Callable[[Answer], T], call: Call) -> T:
        """A GET about the job. Asking bills nothing and changes nothing at Segmind: when no answer comes (the
        deadline, a dropped connection, a busy or unreachable server), the job goes on and StillWaiting says so."""
        started = time.monotonic()
        try:
            return self.http.request("GET", url, read, call=call)
        except (AmbiguousError, RetryableError) as exc:
            if time.monotonic() - started >= self.timeout:
                why = f"no answer within the {self.timeout:g} s timeout"
            else:  # what happened, without the advice the error gives for a request that bills
                why = str(exc).split("; ")[0]
            about = f"the {call.state} request" if call.state else "the request"
            raise StillWaiting(f"the queue could not be asked about {about} ({why}); {GOES_ON}", exc.status) from None

    def _pause(self, seconds: float, call: Call) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
        elif call.cancel.wait(seconds):
            raise Cancelled()

    def _job(self, answer: Answer) -> dict[str, str]:
        self.check(answer)
        data = _object(answer)
        request_id, status_url, response_url = (data.get(k) for k in ("request_id", "status_url", "response_url"))
        if not all(isinstance(v, str) and v for v in (request_id, status_url, response_url)):
            raise BadResponseError(f"the queue's answer has no request_id, status_url and response_url: "
                                   f"{excerpt(answer.body)}", answer.status)
        # Relative URLs are relative to the queue's own address; anything else is refused (the key goes along).
        status, response = (urljoin(self.base + "/", u) for u in (status_url, response_url))
        for url in (status, response):
            if url.split("/", 3)[:3] != self.base.split("/", 3)[:3]:
                raise BadResponseError(f"the queue pointed at another host ({redact(url)[:80]}); not following it "
                                       "(your key would go along)", answer.status)
        # The model goes along: a reply fetched later is that model's, whatever the chat has switched to since.
        return {"request_id": str(request_id)[:200], "status_url": status, "response_url": response,
                "model": self.model}

    def _state(self, answer: Answer, job: dict[str, str]) -> str:
        if answer.status in GONE:
            raise JobGone(f"Segmind's queue no longer knows request {job['request_id'][:40]} ({answer.status}: "
                          f"{error_detail(answer.body)}); it keeps a request and its reply for an hour", answer.status)
        if answer.status == 422:  # a FAILED job is answered so: a result, not a transport error
            raise JobFailed(f"the queued request failed: {error_detail(answer.body)}", 422)
        self.check(answer)
        state = _object(answer).get("status")
        if not isinstance(state, str) or not state:
            raise BadResponseError("the queue's status answer has no status", answer.status)
        if state.upper() == "FAILED":
            raise JobFailed(f"the queued request failed: {error_detail(answer.body)}", answer.status)
        return state.upper()

    def _result(self, answer: Answer, job: dict[str, str]) -> Reply:
        """The job's output: the model family's own JSON (read as on v1: see completion_from) as a JSON string, or
        as an object; or plain text, which is the reply itself (a string that decodes to no JSON object is read so).

        A result that is not there is gone (the job completed: its status said so), never an unknown model.
        """
        if answer.status in GONE:
            raise JobGone(f"the reply to queued request {job['request_id'][:40]} is no longer kept at Segmind "
                          f"({answer.status}: {error_detail(answer.body)}); it keeps replies for an hour",
                          answer.status)
        if answer.status == 422:  # a FAILED job is answered so here too
            raise JobFailed(f"the queued request failed: {error_detail(answer.body)}", 422)
        self.check(answer)
        output = _object(answer).get("output")
        if isinstance(output, str):
            try:
                decoded = json.loads(output)
            except (ValueError, RecursionError):
                decoded = None
            if not isinstance(decoded, (dict, str)):  # "42" or "true" is a reply, not a number
                return _plain(output, answer.status)
            output = decoded
        if isinstance(output, str):
            return _plain(output, answer.status)
        if not isinstance(output, dict):
            raise BadResponseError(f"the queued reply has no output: {excerpt(answer.body)}", answer.status)
        return completion_from(output, answer.status, answer.body)


def _plain(text: str, status: int) -> Reply:
    """Plain text output is the reply itself, if it holds any text."""
    if not text.strip():
        raise no_text(Reply(text), status)
    return Reply(text)


def _object(answer: Answer) -> dict[str, Any]:
    data = parse_json(answer.body, answer.status)
    if not isinstance(data, dict):
        raise BadResponseError(f"the queue answered something other than a JSON object: {excerpt(answer.body)}",
                               answer.status)
    return data
