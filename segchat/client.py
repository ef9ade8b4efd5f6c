"""The Segmind HTTP client: the only module that imports httpx; maps HTTP to typed errors."""

from __future__ import annotations

import email.utils
import json
import random
import re
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Callable, Iterator
from urllib.parse import urlsplit

from segchat import __version__
from segchat.errors import (
    AmbiguousError,
    APIError,
    AuthError,
    BadResponseError,
    Cancelled,
    CreditsError,
    MethodError,
    NotFoundError,
    RedirectError,
    RetryableError,
)

if TYPE_CHECKING:
    import httpx

MAX_BODY = 8 * 1024 * 1024
RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_RETRY_AFTER = 60.0
RETRY_HINT = "it may already have been billed, so it was not resent; /retry sends it again"


@dataclass
class Reply:
    """A chat completion as segchat needs it."""

    content: str
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    credits: Decimal | None = None
    credits_raw: str | None = None
    elapsed: float = 0.0
    incomplete: str | None = None
    model: str | None = None


@dataclass
class Balance:
    credits: Decimal | None
    free: Decimal | None
    raw: dict[str, Any] = field(default_factory=dict)


def parse_credits(raw: str | None) -> Decimal | None:
    """The x-remaining-credits value as a Decimal, or None when absent or unparsable."""
    if raw is None:
        return None
    try:
        value = Decimal(raw.strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


class ChatClient:
    """Sends conversations to POST {base_url}/{model} over one kept-alive connection."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str,
        *,
        timeout: float = 120.0,
        retries: int = 2,
        key_source: str = "your configuration",
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.base_url, self.model, self.timeout, self.retries = base_url, model, timeout, retries
        self.key_source = key_source
        self._sleep = sleep
        self._api_key, self._transport = api_key, transport
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    @property
    def _http(self) -> httpx.Client:
        # Built on first use: importing httpx costs more than the whole prompt, so start-up skips it.
        with self._lock:
            if self._client is None:
                import httpx

                self._client = httpx.Client(
                    transport=self._transport,
                    timeout=httpx.Timeout(self.timeout, connect=10.0, write=30.0, pool=10.0),
                    follow_redirects=False,
                    headers={"x-api-key": self._api_key, "user-agent": f"segchat/{__version__}",
                             "accept": "application/json"},
                )
            return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def complete(self, messages: list[dict[str, str]], params: dict[str, Any] | None = None,
                 cancel: threading.Event | None = None) -> Reply:
        """Send the whole conversation; return the reply or raise an APIError."""
        cancel = cancel or threading.Event()
        body = {"messages": messages, **(params or {})}
        started = time.monotonic()
        reply = self._request("POST", f"{self.base_url}/{self.model}", body, cancel, self._read_reply)
        reply.elapsed = time.monotonic() - started
        return reply

    def balance(self, cancel: threading.Event | None = None) -> Balance:
        """GET {base_url}/get-user-credits."""
        def read(response: httpx.Response, data: bytes) -> Balance:
            obj = _json(response, data)
            if not isinstance(obj, dict):
                raise BadResponseError(f"credits answer is not a JSON object: {_excerpt(data)}", response.status_code)
            return Balance(_dec(obj.get("credits")), _dec(obj.get("free-credits")), obj)

        return self._request("GET", f"{self.base_url}/get-user-credits", None, cancel or threading.Event(), read)

    # -- one request, with the retries that are safe -------------------------------------------

    def _request(self, method: str, url: str, body: Any, cancel: threading.Event, read: Callable) -> Any:
        import httpx

        deadline = time.monotonic() + self.timeout
        attempt = 0
        while True:
            if cancel.is_set():
                raise Cancelled()
            try:
                status, delay, result = self._attempt(method, url, body, cancel, read, deadline, attempt)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # Nothing reached the server, so trying again cannot bill twice.
                if attempt >= self.retries:
                    raise RetryableError(f"cannot connect to {urlsplit(url).netloc}: {_reason(exc)} "
                                         f"(tried {attempt + 1} times)") from None
                status, delay, result = None, self._backoff(attempt), None
            if delay is None:
                return result
            self._wait(delay, cancel)
            attempt += 1

    def _attempt(self, method, url, body, cancel, read, deadline, attempt):
        import httpx

        try:
            with self._http.stream(method, url, json=body) as response:
                status = response.status_code
                if status in RETRY_STATUSES and attempt < self.retries:
                    delay = self._retry_delay(response, attempt)
                    if delay is not None:
                        return status, delay, None
                data = b"" if response.headers.get("content-type", "").startswith("text/event-stream") \
                    else self._body(response, cancel, deadline)
                return status, None, self._dispatch(response, data, read, cancel, deadline, attempt)
        except (httpx.ReadTimeout, httpx.WriteTimeout):
            raise AmbiguousError(f"no reply within {self.timeout:g} s; {RETRY_HINT}") from None
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise AmbiguousError(f"the connection dropped before the reply was complete ({_reason(exc)}); "
                                 f"{RETRY_HINT}") from None
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
            raise
        except httpx.HTTPError as exc:
            raise APIError(f"the request failed: {type(exc).__name__}: {_reason(exc)}") from None

    def _body(self, response: httpx.Response, cancel: threading.Event, deadline: float) -> bytes:
        chunks, size = [], 0
        for chunk in response.iter_raw():
            if cancel.is_set():
                raise Cancelled()
            if time.monotonic() > deadline:
                raise AmbiguousError(f"the reply took longer than {self.timeout:g} s; {RETRY_HINT}")
            size += len(chunk)
            if size > MAX_BODY:
                raise BadResponseError(f"the reply is larger than {MAX_BODY // 2**20} MiB; stopped reading",
                                       response.status_code)
            chunks.append(chunk)
        return b"".join(chunks)

    def _dispatch(self, response, data, read, cancel, deadline, attempt):
        status = response.status_code
        if 200 <= status < 300:
            if response.headers.get("content-type", "").startswith("text/event-stream"):
                return self._read_stream(response, cancel, deadline)
            return read(response, data)
        detail = _error_detail(data)
        if 300 <= status < 400:
            where = response.headers.get("location", "?")
            raise RedirectError(f"the server redirected ({status}) to {where[:120]}; segchat does not follow "
                                "redirects (your key would go along); check base_url", status)
        if status == 401:
            raise AuthError(f"the API key was rejected (401: {detail}); it came from {self.key_source}. "
                            "Fix it there, or set SEGMIND_API_KEY", status)
        if status == 404:
            raise NotFoundError(f"model '{self.model}' or URL {response.request.url} not found (404: {detail}); "
                                "check the model slug and base_url", status)
        if status == 405:
            raise MethodError(f"{response.request.method} is not allowed at {response.request.url} (405: {detail}); "
                              "check base_url", status)
        if status == 406:
            raise CreditsError(f"not enough credits (406: {detail})", status)
        tries = f" after {attempt + 1} attempts" if attempt else ""
        if status in RETRY_STATUSES:
            wait = response.headers.get("retry-after")
            asked = f"; the server asks to wait {wait[:20]} s" if wait and (_retry_after(wait) or 0) > MAX_RETRY_AFTER else ""
            raise RetryableError(f"server error {status}{tries}: {detail}{asked}", status)
        raise APIError(f"the server refused the request ({status}): {detail}", status)

    def _read_reply(self, response: httpx.Response, data: bytes) -> Reply:
        obj = _json(response, data)
        try:
            choice = obj["choices"][0]
            content = choice["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise BadResponseError(f"the reply has no choices[0].message.content: {_excerpt(data)}",
                                   response.status_code) from None
        if not isinstance(content, str):
            raise BadResponseError(f"choices[0].message.content is {type(content).__name__}, not text",
                                   response.status_code)
        usage = obj.get("usage") if isinstance(obj.get("usage"), dict) else None
        finish = choice.get("finish_reason") if isinstance(choice, dict) else None
        return self._with_credits(Reply(content, finish if isinstance(finish, str) else None, usage,
                                        model=obj.get("model") if isinstance(obj.get("model"), str) else None),
                                  response)

    def _read_stream(self, response: httpx.Response, cancel: threading.Event, deadline: float) -> Reply:
        """OpenAI-style server-sent events; Segmind does not stream yet, compatible servers do."""
        parts: list[str] = []
        reply = Reply("")
        done = False
        size = 0
        for event, data in _sse_events(response.iter_raw()):
            if cancel.is_set():
                raise Cancelled()
            size += len(data)
            if time.monotonic() > deadline or size > MAX_BODY:
                reply.incomplete = "the stream was too slow or too large; stopped reading"
                break
            if data == "[DONE]":
                done = True
                break
            try:
                obj = json.loads(data)
            except ValueError:
                reply.incomplete = f"the stream sent invalid JSON: {_excerpt(data.encode())}"
                break
            if event == "error" or (isinstance(obj, dict) and "error" in obj):
                reply.incomplete = f"the stream reported an error: {_error_detail(data.encode())}"
                break
            choices = obj.get("choices") if isinstance(obj, dict) else None
            for choice in choices if isinstance(choices, list) else []:
                delta = choice.get("delta") if isinstance(choice, dict) else None
                if isinstance(delta, dict) and isinstance(delta.get("content"), str):
                    parts.append(delta["content"])
                if isinstance(choice, dict) and isinstance(choice.get("finish_reason"), str):
                    reply.finish_reason = choice["finish_reason"]
            if isinstance(obj, dict) and isinstance(obj.get("usage"), dict):
                reply.usage = obj["usage"]
        reply.content = "".join(parts)
        if not done and reply.finish_reason is None and reply.incomplete is None:
            reply.incomplete = "the stream ended before the reply was complete"
        if not reply.content and reply.incomplete:
            raise BadResponseError(reply.incomplete, response.status_code)
        return self._with_credits(reply, response)

    @staticmethod
    def _with_credits(reply: Reply, response: httpx.Response) -> Reply:
        raw = response.headers.get("x-remaining-credits")
        reply.credits = parse_credits(raw)
        reply.credits_raw = raw if raw is not None and reply.credits is None else None
        return reply

    # -- waiting ------------------------------------------------------------------------------

    def _retry_delay(self, response: httpx.Response, attempt: int) -> float | None:
        """Seconds before the next try, or None when the server asks for longer than we wait."""
        asked = _retry_after(response.headers.get("retry-after"))
        if asked is None:
            return self._backoff(attempt)
        return asked if asked <= MAX_RETRY_AFTER else None

    @staticmethod
    def _backoff(attempt: int) -> float:
        # Exponential with jitter so many clients do not retry in step.
        return min(0.5 * 2**attempt, 8.0) * (1 - 0.25 * random.random())

    def _wait(self, seconds: float, cancel: threading.Event) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
        elif cancel.wait(seconds):
            raise Cancelled()


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (a number or an HTTP date); None if absent or unusable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return seconds if 0 < seconds < float("inf") else None


def _sse_events(chunks: Iterator[bytes]) -> Iterator[tuple[str, str]]:
    # Split bytes on \n before decoding: str.splitlines would also split on U+2028 inside JSON.
    buffer, event, data = b"", "message", []
    for chunk in chunks:
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for raw in lines:
            line = raw.rstrip(b"\r").decode("utf-8", "replace")
            if not line:
                if data:
                    yield event, "\n".join(data)
                event, data = "message", []
            elif line.startswith(":"):
                continue
            else:
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "data":
                    data.append(value)
                elif name == "event":
                    event = value
    if data:
        yield event, "\n".join(data)


def _json(response: httpx.Response, data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        kind = "an HTML page" if data.lstrip()[:1] == b"<" else "invalid JSON"
        raise BadResponseError(f"the server answered {kind} (status {response.status_code}): {_excerpt(data)}",
                               response.status_code) from None


def _error_detail(data: bytes) -> str:
    """The server's own words: {"error": str | {message}} or a short excerpt of the body."""
    try:
        obj = json.loads(data)
    except ValueError:
        return _excerpt(data)
    if isinstance(obj, dict):
        error = obj.get("error", obj.get("message", obj.get("detail")))
        if isinstance(error, dict):
            error = error.get("message", error)
        if error is not None:
            return _excerpt(str(error).encode())
    return _excerpt(data)


def _excerpt(data: bytes, limit: int = 200) -> str:
    text = data.decode("utf-8", "replace")
    if text.lstrip().startswith("<"):
        text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S | re.I)
        text = re.sub(r"<[^>]*>", " ", text)
    text = " ".join(text.split())
    if not text:
        return "(empty body)"
    return text if len(text) <= limit else text[:limit] + "…"


def _dec(value: Any) -> Decimal | None:
    return parse_credits(str(value)) if isinstance(value, (int, float, str)) and not isinstance(value, bool) else None


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
