"""A loopback HTTP server speaking Segmind's and the OpenAI-compatible chat APIs, with scripted replies and faults."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from support import fakequeue, families

# What Segmind's gateway says for a status, as {"error": ...}, unless an action says otherwise.
SEGMIND_ERRORS = {406: "Insufficient credits. Available: 0.001, required: 0.0125", 410: "This model has been retired",
                  422: "messages: field required", 429: "Rate limit exceeded"}


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    peer: tuple[str, int]
    at: float = field(default_factory=time.monotonic)  # when it arrived


@dataclass
class FakeSegmind:
    """Scripted like a test double, but speaking real HTTP on 127.0.0.1.

    Routes: POST {base}/{model} (Segmind), POST {base}/chat/completions and GET {base}/models
    (OpenAI-compatible; `bearer`, when set, is the only accepted `Authorization: Bearer` token),
    GET {base}/get-user-credits. Queue actions with script(); each POST takes the next one,
    an empty queue answers "echo: <last user message>". An action with "for": "credits" is taken by the next
    balance request instead, which heeds its status (and error) or hang.
    An action is a dict with any of: status, content, error, body (raw bytes/str),
    content_type, headers, delay, truncate, drop, hang, sse (list of deltas),
    usage, finish_reason, credits (balance to report; None sends no header), consumed (what the request cost, in
    an x-credits-consumed header: a figure, or True for the server's cost), reset_in (a 429's
    x-rate-limit-reset-at-utc: that many seconds after the answer, as reset_format says: "iso" 8601, the
    default, or "epoch" seconds), reasoning (what the model
    thought, sent apart from the reply as llama.cpp, vLLM and DeepSeek do: `reasoning_content` in the message of
    a whole reply; in a stream, deltas of it before the content's, one per item of a list or per word of a text),
    family ("anthropic" or "gemini": a whole reply in that family's own shape, as Segmind passes it through; its
    content, reasoning, finish_reason and usage as support.families words them).
    Streamed replies (OpenAI path with "stream": true; Segmind path only if `segmind_streams`)
    also take: chunks (content pieces), chunk_delay, cut_after (drop after N content chunks),
    stream_error (message of a final `event: error`), stall (seconds after the first content
    chunk), raw_sse (items written verbatim instead), chunked (False: close-delimited body).
    Slow and endless replies, for deadline tests (each stops when the client goes or stop() is called):
    drip (send the body at that many bytes a second), drip_headers (the same from the status line on),
    keepalive (a stream that, after its chunks, never ends: this text, e.g. ": ping\n\n" or "\n",
    every chunk_delay s), endless_line (a stream whose one data line never ends: this many bytes every
    chunk_delay s), gzip_forever (a gzip JSON body that never ends: this many bytes, before
    compression, every chunk_delay s).
    """

    balance: Decimal = Decimal("10")
    cost: Decimal = Decimal("0.0125")
    requests: list[Received] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    bearer: str | None = None
    segmind_streams: bool = False
    # GET /v1/models: ids, or whole entries as a server lists them; None answers 404
    models: list[str | dict[str, Any]] | None = field(
        default_factory=lambda: ["llama3.1:8b", "meta-llama/Llama-3.1-8B-Instruct"])
    props: dict[str, Any] | None = None  # GET /props, as llama.cpp answers it; None answers 404
    jobs: dict[str, Any] = field(default_factory=dict)  # the v2 queue's jobs by request id (see fakequeue)
    job_specs: list[dict[str, Any]] = field(default_factory=list)

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

    def stream_requests(self) -> list[Received]:
        return [r for r in self.chat_requests() if isinstance(r.body, dict) and r.body.get("stream") is True]

    def script_jobs(self, *specs: dict[str, Any]) -> None:
        """Specs for the next queued jobs (see fakequeue for their keys)."""
        with self._lock:
            self.job_specs.extend(specs)

    def _next(self) -> dict[str, Any]:
        with self._lock:
            return self.actions.pop(0) if self.actions else {}


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that vanish mid-request (killed on purpose in tests) are not news


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSegmind
    protocol_version = "HTTP/1.1"  # keep-alive, as the real gateway
    # Headers and body are two writes; with Nagle's algorithm the body waits for the client's delayed ACK of
    # the headers (40 ms on Linux) on a reused connection. Servers in front of real APIs set TCP_NODELAY.
    disable_nagle_algorithm = True
    _chunked = False  # per response: whether _write frames data as HTTP/1.1 chunks

    def log_message(self, *args: Any) -> None:
        pass

    def _record(self, body: Any) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.fake.requests.append(Received(self.command, self.path, headers, body, self.client_address))

    def do_GET(self) -> None:
        self._record(None)
        if self.path.startswith("/v2/requests/"):
            return fakequeue.ask(self, self.path)
        if self.path.endswith("/get-user-credits"):
            if self.headers.get("x-api-key") == "bad-key-123":
                return self._send(401, b'{"error": "Invalid API key"}')
            action = self.fake._next() if self.fake.actions and self.fake.actions[0].get("for") == "credits" else {}
            if "status" in action:
                return self._send(action["status"], json.dumps({"error": action.get("error", "nope")}).encode())
            if action.get("hang"):
                self.fake._release.wait(action["hang"])
            body = {"credits": float(self.fake.balance), "free-credits": 0.5}
            return self._send(200, json.dumps(body).encode())
        if self.path.split("?")[0].endswith("/v1/models"):
            if not self._authorized():
                return
            if self.fake.models is None:
                return self._send(404, json.dumps({"error": _oai_error("Not found", 404)}).encode())
            data = [m if isinstance(m, dict) else {"id": m, "object": "model", "created": 0, "owned_by": "fake"}
                    for m in self.fake.models]
            return self._send(200, json.dumps({"object": "list", "data": data}).encode())
        if self.path.split("?")[0] == "/props":  # llama.cpp's, at the server's root
            if self.fake.props is None:
                return self._send(404, json.dumps({"error": _oai_error("File Not Found", 404)}).encode())
            return self._send(200, json.dumps(self.fake.props).encode())
        self._send(405, b'{"error": "Method Not Allowed"}')

    def _authorized(self) -> bool:
        bearer = self.fake.bearer
        if bearer is None or self.headers.get("authorization") == f"Bearer {bearer}":
            return True
        error = {"message": "Incorrect API key provided", "type": "invalid_request_error"}
        self._send(401, json.dumps({"error": error}).encode())
        return False

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw
        self._record(body)
        if self.path.startswith("/v2/"):
            return fakequeue.submit(self, body)
        openai = self.path.split("?")[0].endswith("/chat/completions")
        if openai and not self._authorized():
            return  # before _next(): a rejected request never uses up a scripted action
        action = self.fake._next()
        if action.get("delay"):
            time.sleep(action["delay"])
        if action.get("hang"):
            self.fake._release.wait(action["hang"])
            return self._drop()
        if action.get("drop"):
            return self._drop()
        if not openai and self.headers.get("x-api-key") == "bad-key-123":
            return self._send(401, b'{"error": "Invalid API key"}')
        status = action.get("status", 200)
        headers = dict(action.get("headers", {}))
        request = body if isinstance(body, dict) else {}
        billed = not openai  # OpenAI-compatible servers neither bill nor report credits
        if billed and status == 200 and "credits" not in action:
            self.fake.balance -= self.fake.cost
            headers.setdefault("x-remaining-credits", str(self.fake.balance))
        elif billed and action.get("credits") is not None:
            headers["x-remaining-credits"] = str(action["credits"])
        if "consumed" in action:
            headers["x-credits-consumed"] = str(self.fake.cost if action["consumed"] is True else action["consumed"])
        if "reset_in" in action:
            headers["x-rate-limit-reset-at-utc"] = _moment(time.time() + action["reset_in"],
                                                           action.get("reset_format", "iso"))
        if "sse" in action:
            return self._stream(action, headers)
        if "endless_line" in action:
            return self._endless_line(action, status, headers)
        if "gzip_forever" in action:
            return self._gzip_forever(action, status, headers)
        if "raw_sse" in action:
            return self._raw_stream(action, status, headers)
        if "body" in action:
            data = action["body"].encode() if isinstance(action["body"], str) else action["body"]
        elif status >= 400:
            said = "something went wrong" if openai else SEGMIND_ERRORS.get(status, "something went wrong")
            error = action.get("error", said)
            data = json.dumps({"error": _oai_error(error, status) if openai else error}).encode()
        elif request.get("stream") is True and (openai or self.fake.segmind_streams):
            return self._chunk_stream(action, request, status, headers)
        else:
            completion = _completion(action, body)
            if openai:
                completion["model"] = request.get("model", completion["model"])
            data = json.dumps(completion).encode()
        if action.get("drip") or action.get("drip_headers"):
            return self._drip(action, status, data, headers, action.get("content_type", "application/json"))
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
        self._open_stream(200, headers, chunked=False)
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

    def _open_stream(self, status: int, headers: dict[str, str], chunked: bool) -> None:
        # Real gateways stream with chunked encoding on a kept-alive connection, so a cut shows up
        # as an incomplete body; close-delimited streams (chunked=False) make a cut look like a clean end.
        self._chunked = chunked
        self.send_response(status)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding" if chunked else "connection", "chunked" if chunked else "close")
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.close_connection = not chunked

    def _write(self, data: bytes) -> None:
        if data:  # an empty chunk would end a chunked body early
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if self._chunked else data)
            self.wfile.flush()

    def _end(self) -> None:
        if self._chunked:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def _raw_stream(self, action: dict[str, Any], status: int, headers: dict[str, str]) -> None:
        self._open_stream(status, headers, action.get("chunked", True))
        for item in action["raw_sse"]:
            # one write (and so one chunk) per item, so tests control where bytes are split
            self._write(item.encode() if isinstance(item, str) else item)
            time.sleep(action.get("chunk_delay", 0.002))
        self._end()

    def _chunk_stream(self, action: dict[str, Any], request: dict[str, Any], status: int,
                      headers: dict[str, str]) -> None:
        content = _reply(action, request)
        pieces = action["chunks"] if "chunks" in action else _pieces(str(content or ""))
        base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": int(time.time()),
                "model": request.get("model", "llama-v3p1-8b-instruct")}

        def event(delta: dict[str, Any] | None = None, finish: str | None = None, **fields: Any) -> bytes:
            if delta is not None:
                fields["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}]
            return ("data: " + json.dumps({**base, **fields}) + "\n\n").encode()

        self._open_stream(status, headers, action.get("chunked", True))
        self._write(event({"role": "assistant"}))
        for thought in _pieces(action.get("reasoning", [])):
            time.sleep(action.get("chunk_delay", 0.002))
            self._write(event({"reasoning_content": thought, "content": None}))
        cut = action.get("cut_after")
        for i, piece in enumerate(pieces[:cut]):
            time.sleep(action.get("chunk_delay", 0.002))
            self._write(event({"content": piece}))
            if i == 0 and action.get("stall"):
                self.fake._release.wait(action["stall"])  # stop() releases it, so teardown stays quick
        if cut is not None:
            return self._drop()
        if "keepalive" in action:
            return self._forever(action, lambda: action["keepalive"].encode())
        if "stream_error" in action:
            error = json.dumps({"error": {"message": action["stream_error"]}})
            self._write(f"event: error\ndata: {error}\n\n".encode())
            return self._end()
        self._write(event({}, action.get("finish_reason", "stop")))
        if (request.get("stream_options") or {}).get("include_usage") and action.get("usage", True):
            self._write(event(choices=[], usage=_usage(action, request.get("messages", []), content)))
        self._write(b"data: [DONE]\n\n")
        self._end()

    def _forever(self, action: dict[str, Any], piece: Any) -> None:
        """Write piece() every chunk_delay s until the client goes away or the server stops."""
        self.close_connection = True
        while not self.fake._release.wait(action.get("chunk_delay", 0.01)):
            self._write(piece())  # raises once the client has closed the connection

    def _drip(self, action: dict[str, Any], status: int, data: bytes, headers: dict[str, str],
              content_type: str) -> None:
        lines = [f"HTTP/1.1 {status} Scripted", f"content-type: {content_type}", f"content-length: {len(data)}",
                 *(f"{key}: {value}" for key, value in headers.items())]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        rate = action.get("drip_headers") or action["drip"]
        if not action.get("drip_headers"):
            self.wfile.write(head)
            head = b""
        self.close_connection, data = True, head + data
        for i in range(len(data)):
            self.wfile.write(data[i:i + 1])
            self.wfile.flush()
            if self.fake._release.wait(1 / rate):
                return

    def _endless_line(self, action: dict[str, Any], status: int, headers: dict[str, str]) -> None:
        self._open_stream(status, headers, action.get("chunked", True))
        self._write(b'data: {"choices": [{"delta": {"content": "')
        self._forever(action, lambda: b"x" * action["endless_line"])

    def _gzip_forever(self, action: dict[str, Any], status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in {"content-type": "application/json", "content-encoding": "gzip",
                           "transfer-encoding": "chunked", **headers}.items():
            self.send_header(key, value)
        self.end_headers()
        self._chunked, packer = True, zlib.compressobj(wbits=31)  # 31: with a gzip header
        self._write(packer.compress(b'{"choices": [{"message": {"content": "') + packer.flush(zlib.Z_SYNC_FLUSH))
        more = b"x" * action["gzip_forever"]
        self._forever(action, lambda: packer.compress(more) + packer.flush(zlib.Z_SYNC_FLUSH))

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _reply(action: dict[str, Any], body: Any) -> Any:
    messages = body.get("messages", []) if isinstance(body, dict) else []
    last = next((m.get("content") for m in reversed(messages) if m.get("role") == "user"), "")
    return action["content"] if "content" in action else f"echo: {last}"


def _pieces(text: str | list[str]) -> list[str]:
    """A list as it is; a text cut into words, each with the spaces around it (joined, the text again)."""
    return text if isinstance(text, list) else re.findall(r"\s*\S+\s*|\s+", text)


def _usage(action: dict[str, Any], messages: list[dict[str, Any]], content: Any) -> dict[str, Any]:
    if isinstance(action.get("usage"), dict):
        return action["usage"]
    prompt = sum(len(str(m.get("content", ""))) // 4 + 4 for m in messages)
    completion = len(str(content)) // 4 + 1
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _moment(when: float, form: str) -> str:
    """A time as Segmind's x-rate-limit-reset-at-utc may write it: ISO 8601 in UTC, or epoch seconds."""
    if form == "epoch":
        return f"{when:.3f}"
    return datetime.fromtimestamp(when, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _oai_error(error: Any, status: int) -> Any:
    if isinstance(error, dict):
        return error  # scripted verbatim
    return {"message": str(error), "type": "invalid_request_error" if status < 500 else "server_error"}


def _completion(action: dict[str, Any], body: Any) -> dict[str, Any]:
    messages = body.get("messages", []) if isinstance(body, dict) else []
    content = _reply(action, body)
    if "family" in action:
        counts = _usage({}, messages, content)
        return families.reply(action["family"], action, content, counts["prompt_tokens"], counts["completion_tokens"])
    message = {"role": "assistant", "content": content}
    if "reasoning" in action:
        reasoning = action["reasoning"]
        message["reasoning_content"] = "".join(reasoning) if isinstance(reasoning, list) else reasoning
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
        result["usage"] = _usage(action, messages, content)
    return result


if __name__ == "__main__":
    fake = FakeSegmind().start()
    print(fake.base_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()
