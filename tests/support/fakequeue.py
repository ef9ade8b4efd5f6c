"""Segmind's queued v2 API for the loopback server: jobs that move through states as they are polled."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from support import families

# A job spec (queued with FakeSegmind.script_jobs): states (one per status poll, the last one stays),
# output ("string": a chat.completion as a JSON string, "object": as an object, "text": plain text),
# family ("anthropic" or "gemini": the output is that family's reply instead, with the spec's reasoning,
# finish_reason and usage as support.families words them),
# content (the reply text; default "queued echo: <last user message>"), error (a FAILED job's text),
# relative (answer relative URLs instead of absolute ones), status (a status for the submit itself),
# gone (its result has expired: the status still says COMPLETED, the result is answered 404, as after Segmind's
# hour), stall (each status poll gets no answer for that many seconds, then the connection is dropped).


@dataclass
class Job:
    spec: dict[str, Any]
    messages: list[dict[str, Any]]
    polls: int = 0
    states: list[str] = field(default_factory=list)

    @property
    def state(self) -> str:
        return self.states[min(self.polls, len(self.states) - 1)]


def submit(handler: Any, body: Any) -> None:
    """POST /v2/{model}: a new job (billed as v1 would be), and where to ask about it."""
    fake = handler.fake
    spec = fake.job_specs.pop(0) if fake.job_specs else {}
    if spec.get("status"):
        return handler._send(spec["status"], json.dumps({"error": spec.get("error", "refused")}).encode())
    if handler.headers.get("x-api-key") == "bad-key-123":
        return handler._send(401, b'{"error": "Invalid API key"}')
    request_id = uuid.uuid4().hex
    messages = body.get("messages", []) if isinstance(body, dict) else []
    fake.jobs[request_id] = Job(spec, messages, states=list(spec.get("states", ["QUEUED", "PROCESSING", "COMPLETED"])))
    fake.balance -= fake.cost
    prefix = "" if spec.get("relative") else f"http://127.0.0.1:{fake.port}"
    handler._send(200, json.dumps({"request_id": request_id,
                                   "status_url": f"{prefix}/v2/requests/{request_id}/status",
                                   "response_url": f"{prefix}/v2/requests/{request_id}/response"}).encode())


def ask(handler: Any, path: str) -> None:
    """GET /v2/requests/{id}/status or /response."""
    parts = path.strip("/").split("/")
    job = handler.fake.jobs.get(parts[2]) if len(parts) == 4 else None
    if job is None:
        return handler._send(404, json.dumps({"error": "Request not found"}).encode())
    if parts[3] == "status":
        if job.spec.get("stall"):
            job.polls += 1
            handler.fake._release.wait(job.spec["stall"])  # stop() releases it, so teardown stays quick
            return handler._drop()
        state = job.state
        job.polls += 1
        if state == "FAILED":
            failed = {"status": "FAILED", "error": job.spec.get("error", "failed")}
            return handler._send(422, json.dumps(failed).encode())
        return handler._send(200, json.dumps({"status": state, "request_id": parts[2]}).encode())
    if job.spec.get("gone"):
        return handler._send(404, json.dumps({"error": "Request not found"}).encode())
    if job.state != "COMPLETED":
        return handler._send(200, json.dumps({"status": job.state}).encode())
    handler._send(200, json.dumps({"status": "COMPLETED", "output": _output(job), "metrics": {"time": 1.5}}).encode())


def _output(job: Job) -> Any:
    last = next((m.get("content") for m in reversed(job.messages) if m.get("role") == "user"), "")
    content = job.spec.get("content", f"queued echo: {last}")
    kind = job.spec.get("output", "string")
    if kind == "text":
        return content
    if "family" in job.spec:
        completion = families.reply(job.spec["family"], job.spec, content, 10, 5)
        return completion if kind == "object" else json.dumps(completion)
    completion = {"id": "chatcmpl-q", "object": "chat.completion", "model": "llama-v3p1-8b-instruct",
                  "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                               "finish_reason": "stop"}],
                  "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}
    return completion if kind == "object" else json.dumps(completion)
