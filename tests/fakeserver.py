"""A loopback HTTP server that behaves like Segmind's chat endpoint, with scripted replies and faults."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    peer: tuple[str, int]


@dataclass
class FakeSegmind:
    """Scripted like a test double, but speaking real HTTP on 127.0.0.1.

    Queue actions with script(); an empty queue answers "echo: <last user message>".
    An action is a dict with any of: status, content, error, body (raw bytes/str),
    content_type, headers, delay, truncate, drop, hang, sse (list of deltas),
    usage, finish_reason, credits (balance to report; None sends no header).
    """

    balance: Decimal = Decimal("10")
    cost: Decimal = Decimal("0.0125")
    requests: list[Received] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._release = threading.Event()
        handler = type("Handler", (_Handler,), {"fake": self})
        self.httpd = _Server(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def start(self) -> FakeSegmind:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def script(self, *actions: dict[str, Any]) -> None:
        with self._lock:
            self.actions.extend(actions)

    def chat_requests(self) -> list[Received]:
        return [r for r in self.requests if r.method == "POST"]

    def _next(self) -> dict[str, Any]:
        with self._lock:
            return self.actions.pop(0) if self.actions else {}


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that vanish mid-request (killed on purpose in tests) are not news


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSegmind
    protocol_version = "HTTP/1.1"  # keep-alive, as the real gateway

    def log_message(self, *args: Any) -> None:
        pass

    def _record(self, body: Any) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.fake.requests.append(Received(self.command, self.path, headers, body, self.client_address))

    def do_GET(self) -> None:
        self._record(None)
        if self.path.endswith("/get-user-credits"):
            action = self.fake._next() if self.fake.actions and self.fake.actions[0].get("for") == "credits" else {}
            if "status" in action:
                return self._send(action["status"], json.dumps({"error": action.get("error", "nope")}).encode())
            body = {"credits": float(self.fake.balance), "free-credits": 0.5}
            return self._send(200, json.dumps(body).encode())
        self._send(405, b'{"error": "Method Not Allowed"}')

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw
        self._record(body)
        action = self.fake._next()
        if action.get("delay"):
            time.sleep(action["delay"])
        if action.get("hang"):
            self.fake._release.wait(action["hang"])
            return self._drop()
        if action.get("drop"):
            return self._drop()
        if self.headers.get("x-api-key") == "bad-key-123":
            return self._send(401, b'{"error": "Invalid API key"}')
        status = action.get("status", 200)
        headers = dict(action.get("headers", {}))
        if status == 200 and "credits" not in action:
            self.fake.balance -= self.fake.cost
            headers.setdefault("x-remaining-credits", str(self.fake.balance))
        elif action.get("credits") is not None:
            headers["x-remaining-credits"] = str(action["credits"])
        if "sse" in action:
            return self._stream(action, headers)
        if "body" in action:
            data = action["body"].encode() if isinstance(action["body"], str) else action["body"]
        elif status >= 400:
            data = json.dumps({"error": action.get("error", "something went wrong")}).encode()
        else:
            data = json.dumps(_completion(action, body)).encode()
        self._send(status, data, headers, action.get("content_type", "application/json"), action.get("truncate"))

    def _send(self, status: int, data: bytes, headers: dict[str, str] | None = None,
              content_type: str = "application/json", truncate: int | None = None) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data[:truncate] if truncate else data)
        self.wfile.flush()
        if truncate:
            self._drop()

    def _stream(self, action: dict[str, Any], headers: dict[str, str]) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("connection", "close")
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        for item in action["sse"]:
            # bytes and "data:"/"event:"/":" lines go out as they are; other strings become deltas.
            if isinstance(item, bytes):
                chunk = item
            elif item.startswith(("data:", ":", "event:")):
                chunk = item.encode()
            else:
                chunk = ("data: " + json.dumps({"choices": [{"delta": {"content": item}}]}) + "\n\n").encode()
            self.wfile.write(chunk)
            self.wfile.flush()
            time.sleep(0.002)
        self.close_connection = True

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _completion(action: dict[str, Any], body: Any) -> dict[str, Any]:
    messages = body.get("messages", []) if isinstance(body, dict) else []
    last = next((m.get("content") for m in reversed(messages) if m.get("role") == "user"), "")
    content = action["content"] if "content" in action else f"echo: {last}"
    message = {"role": "assistant", "content": content}
    if "message" in action:
        message = action["message"]
    result: dict[str, Any] = {
        "id": "chatcmpl-1", "object": "chat.completion", "created": int(time.time()),
        "model": "llama-v3p1-8b-instruct",
        "choices": [{"index": 0, "message": message, "finish_reason": action.get("finish_reason", "stop")}],
    }
    if "choices" in action:
        result["choices"] = action["choices"]
    if action.get("usage", True):
        prompt = sum(len(str(m.get("content", ""))) // 4 + 4 for m in messages)
        completion = len(str(content)) // 4 + 1
        result["usage"] = action["usage"] if isinstance(action.get("usage"), dict) else {
            "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    return result


if __name__ == "__main__":
    fake = FakeSegmind().start()
    print(fake.base_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()
