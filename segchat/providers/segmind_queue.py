"""Segmind's queued v2 API: a request gets an id at once, is polled with backoff, and its reply can be fetched later."""

from __future__ import annotations

import json
import time
from typing import Any, Callable
from urllib.parse import urljoin

from segchat.errors import BadResponseError, Cancelled, ConfigError, JobFailed, StillWaiting
from segchat.model.call import Call
from segchat.model.reply import Reply
from segchat.net.decoding import completion, error_detail, no_text, parse_json
from segchat.net.http import Answer, Http
from segchat.text.excerpt import excerpt
from segchat.text.redact import redact

FIRST_POLL, LAST_POLL = 0.25, 2.0  # seconds between polls: quick at first, then backing off
STATES = {"QUEUED": "queued", "PROCESSING": "running", "IN_PROGRESS": "running"}


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
        """Poll until the job completes (then fetch its reply), fails, or the deadline passes."""
        deadline, pause = time.monotonic() + self.timeout, FIRST_POLL
        while True:
            state = self.http.request("GET", job["status_url"], lambda a: self._state(a, job), call=call)
            call.state = STATES.get(state, redact(state).lower()[:20])
            if state == "COMPLETED":
                return self.http.request("GET", job["response_url"], self._result, call=call)
            if time.monotonic() + pause > deadline:
                raise StillWaiting(f"the queued request is still {call.state} after {self.timeout:g} s; it goes on "
                                   "at Segmind, and its reply will be fetched without paying again")
            self._pause(pause, call)
            pause = min(pause * 1.6, LAST_POLL)

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
        return {"request_id": str(request_id)[:200], "status_url": status, "response_url": response}

    def _state(self, answer: Answer, job: dict[str, str]) -> str:
        if answer.status == 404:
            raise JobFailed(f"the queue does not know request {job['request_id'][:40]} (it may have expired)", 404)
        if answer.status == 422:  # a FAILED job is answered so: a result, not a transport error
            raise JobFailed(f"the queued request failed: {error_detail(answer.body)}", 422)
        self.check(answer)
        state = _object(answer).get("status")
        if not isinstance(state, str) or not state:
            raise BadResponseError("the queue's status answer has no status", answer.status)
        if state.upper() == "FAILED":
            raise JobFailed(f"the queued request failed: {error_detail(answer.body)}", answer.status)
        return state.upper()

    def _result(self, answer: Answer) -> Reply:
        """The job's output: a chat.completion as a JSON string, as an object, or plain text."""
        self.check(answer)
        output = _object(answer).get("output")
        if isinstance(output, str):
            try:
                output = json.loads(output)
            except (ValueError, RecursionError):
                return _plain(output, answer.status)
        if isinstance(output, str):
            return _plain(output, answer.status)
        if not isinstance(output, dict):
            raise BadResponseError(f"the queued reply has no output: {excerpt(answer.body)}", answer.status)
        return completion(json.dumps(output).encode(), answer.status)


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
