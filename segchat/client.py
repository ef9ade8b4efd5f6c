"""The Segmind HTTP client: the only module that imports httpx; maps HTTP to typed errors."""

from __future__ import annotations

import random
import threading
import time
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import urlsplit

from segchat import __version__, wire
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
from segchat.wire import Balance, Reply

if TYPE_CHECKING:
    import httpx

MAX_BODY = 8 * 1024 * 1024
RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_RETRY_AFTER = 60.0
RETRY_HINT = "it may already have been billed, so it was not resent; /retry sends it again"
# Statuses that are the caller's to fix: the error type and what to tell the user.
STATUS_ERRORS: dict[int, tuple[type[APIError], str]] = {
    401: (AuthError, "the API key was rejected (401: {detail}); it came from {source}. "
                     "Fix it there, or set SEGMIND_API_KEY"),
    404: (NotFoundError, "model '{model}' or URL {url} not found (404: {detail}); check the model slug and base_url"),
    405: (MethodError, "{method} is not allowed at {url} (405: {detail}); check base_url"),
    406: (CreditsError, "not enough credits (406: {detail})"),
}


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
        return self._request("GET", f"{self.base_url}/get-user-credits", None, cancel or threading.Event(),
                             lambda response, data: wire.balance(data, response.status_code))

    # -- one request, with the retries that are safe -------------------------------------------

    def _request(self, method: str, url: str, body: Any, cancel: threading.Event, read: Callable) -> Any:
        import httpx

        deadline = time.monotonic() + self.timeout
        attempt = 0
        while True:
            if cancel.is_set():
                raise Cancelled()
            try:
                delay, result = self._attempt(method, url, body, cancel, read, deadline, attempt)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # Nothing reached the server, so trying again cannot bill twice.
                if attempt >= self.retries:
                    raise RetryableError(f"cannot connect to {urlsplit(url).netloc}: {_reason(exc)} "
                                         f"(tried {attempt + 1} times)") from None
                delay, result = self._backoff(attempt), None
            if delay is None:
                return result
            self._wait(delay, cancel)
            attempt += 1

    def _attempt(self, method, url, body, cancel, read, deadline, attempt):
        """One try: (seconds to wait before the next, None) or (None, the result)."""
        import httpx

        try:
            with self._http.stream(method, url, json=body) as response:
                if response.status_code in RETRY_STATUSES and attempt < self.retries:
                    delay = self._retry_delay(response, attempt)
                    if delay is not None:
                        return delay, None
                data = b"" if _is_stream(response) else self._body(response, cancel, deadline)
                return None, self._dispatch(response, data, read, cancel, deadline, attempt)
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
        for chunk in response.iter_bytes():  # decoded (gzip): the cap applies to what we hold
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
            if _is_stream(response):
                return self._read_stream(response, cancel, deadline)
            return read(response, data)
        detail = wire.error_detail(data)
        if 300 <= status < 400:
            where = response.headers.get("location", "?")
            raise RedirectError(f"the server redirected ({status}) to {where[:120]}; segchat does not follow "
                                "redirects (your key would go along); check base_url", status)
        if status in STATUS_ERRORS:
            kind, template = STATUS_ERRORS[status]
            request = response.request
            raise kind(template.format(detail=detail, source=self.key_source, model=self.model, url=request.url,
                                       method=request.method), status)
        tries = f" after {attempt + 1} attempts" if attempt else ""
        if status in RETRY_STATUSES:
            wait = response.headers.get("retry-after")
            too_long = wait and (wire.retry_after(wait) or 0) > MAX_RETRY_AFTER
            asked = f"; the server asks to wait {wait[:20]} s" if too_long else ""
            raise RetryableError(f"server error {status}{tries}: {detail}{asked}", status)
        raise APIError(f"the server refused the request ({status}): {detail}", status)

    def _read_reply(self, response: httpx.Response, data: bytes) -> Reply:
        return self._with_credits(wire.completion(data, response.status_code), response)

    def _read_stream(self, response: httpx.Response, cancel: threading.Event, deadline: float) -> Reply:
        """OpenAI-style server-sent events; Segmind does not stream yet, compatible servers do."""
        def stop(size: int) -> str | None:
            if cancel.is_set():
                raise Cancelled()
            if time.monotonic() > deadline or size > MAX_BODY:
                return "the stream was too slow or too large; stopped reading"
            return None

        reply = wire.stream(wire.sse_events(response.iter_bytes()), stop, response.status_code)
        return self._with_credits(reply, response)

    @staticmethod
    def _with_credits(reply: Reply, response: httpx.Response) -> Reply:
        raw = response.headers.get("x-remaining-credits")
        reply.credits = wire.parse_credits(raw)
        reply.credits_raw = raw if raw is not None and reply.credits is None else None
        return reply

    # -- waiting ------------------------------------------------------------------------------

    def _retry_delay(self, response: httpx.Response, attempt: int) -> float | None:
        """Seconds before the next try, or None when the server asks for longer than we wait."""
        asked = wire.retry_after(response.headers.get("retry-after"))
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


def _is_stream(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").startswith("text/event-stream")


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
