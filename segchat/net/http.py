"""The only module that imports httpx: one connection, safe retries, one deadline, size caps, cancel."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeVar
from urllib.parse import urlsplit

from segchat import __version__
from segchat.errors import AmbiguousError, APIError, BadResponseError, Cancelled, RedirectError, RetryableError
from segchat.model.call import Call
from segchat.net.deadline import MAYBE_BILLED, Guard, guard_connections, unpacked
from segchat.net.decoding import retry_after
from segchat.net.sse import sse_events

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")
MAX_BODY = 8 * 1024 * 1024
RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_RETRY_AFTER = 60.0


@dataclass
class Answer:
    """A response as the providers read it: status, headers, and the body or its events."""

    status: int
    headers: dict[str, str]
    method: str
    url: str
    body: bytes = b""
    events: Iterator[tuple[str, str]] | None = None  # a text/event-stream, read lazily under the deadline
    attempts: int = 1

    @property
    def streamed(self) -> bool:
        return self.events is not None


_contexts: dict[bool, Any] = {}
_contexts_lock = threading.Lock()


def _tls_context(verified: bool) -> Any:
    """One TLS context per process, shared by every client: loading the certificates costs more than the
    rest of a one-shot's start-up (which may build two clients, one for the balance and one for the turn).
    Without verified, a context that trusts no certificate: for servers at http:// addresses, which then
    never pay for loading them, while an https:// address there fails rather than going unverified."""
    with _contexts_lock:
        if verified not in _contexts:
            import ssl

            import httpx

            _contexts[verified] = httpx.create_ssl_context() if verified else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        return _contexts[verified]


class Http:
    """Requests with one deadline each (connect, headers, body, every event, and the waits between tries)."""

    def __init__(self, *, timeout: float = 120.0, retries: int = 2, headers: dict[str, str] | None = None,
                 transport: httpx.BaseTransport | None = None, sleep: Callable[[float], None] | None = None,
                 tls: bool = True) -> None:
        """tls: False for a server at an http:// address; its https:// is then refused, never unverified."""
        self.timeout, self.retries, self._tls = timeout, retries, tls
        # Only the encodings _unpacked undoes in bounded pieces (httpx would add br and zstd when installed).
        self._headers = {**(headers or {}), "user-agent": f"segchat/{__version__}", "accept": "application/json",
                         "accept-encoding": "gzip, deflate"}
        self._transport, self._sleep = transport, sleep
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> httpx.Client:
        # Built on first use: importing httpx costs more than the whole prompt, so start-up skips it.
        with self._lock:
            if self._client is None:
                import httpx

                tls = {} if self._transport else {"verify": _tls_context(self._tls)}
                self._client = httpx.Client(transport=self._transport, follow_redirects=False, headers=self._headers,
                                            **tls)
                guard_connections(self._client)
            return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def request(self, method: str, url: str, read: Callable[[Answer], T], *, json: Any = None,
                call: Call | None = None) -> T:
        """Send (json: the body, if any), retrying only what cannot bill twice; read(answer) turns the answer
        into the result."""
        import httpx

        call = call or Call()
        deadline = time.monotonic() + self.timeout
        attempt, failed = 0, ""
        while True:
            if call.cancel.is_set():
                raise Cancelled()
            try:
                wait, result = self._attempt(method, url, json, call, read, deadline, attempt)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # Nothing reached the server, so trying again cannot bill twice.
                if call.cancel.is_set():
                    raise Cancelled() from None
                where = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}"
                tries = "once" if attempt == 0 else f"{attempt + 1} times"
                failed = f"cannot connect to {where}: {_reason(exc)} (tried {tries})"
                if attempt >= self.retries or time.monotonic() >= deadline:
                    raise RetryableError(failed) from None
                wait, result = (_backoff(attempt), None, False), None
            if wait is None:
                return result
            seconds, status, asked = wait
            if seconds > deadline - time.monotonic():  # a wait is not started that the deadline would cut
                if status is None:
                    raise RetryableError(f"{failed}; another try would pass the {self.timeout:g} s timeout")
                why = f"asks to wait {seconds:g} s" if asked else f"still was after {attempt + 1} tries"
                raise RetryableError(f"the server is busy ({status}) and {why}; another try would pass the "
                                     f"{self.timeout:g} s timeout, so try again later", status)
            self._wait(seconds, call.cancel)
            attempt += 1

    def _attempt(self, method: str, url: str, json: Any, call: Call, read: Callable[[Answer], T],
                 deadline: float, attempt: int) -> tuple[tuple[float, int | None, bool] | None, T | None]:
        """One try: ((seconds, status, asked by the server) to wait before the next, None) or (None, the result)."""
        import httpx

        left = deadline - time.monotonic()
        if left <= 0:
            raise RetryableError(f"no answer within the {self.timeout:g} s timeout")
        timeout = httpx.Timeout(left, connect=min(left, 10.0))
        guard = Guard(deadline, call, self.timeout)
        try:
            with guard, self.client.stream(method, url, json=json, timeout=timeout) as response:
                guard.arm(response)
                status = response.status_code
                if status in RETRY_STATUSES and attempt < self.retries:
                    asked = retry_after(response.headers.get("retry-after"))
                    if asked is None or asked <= MAX_RETRY_AFTER:
                        return (_backoff(attempt) if asked is None else asked, status, asked is not None), None
                if 300 <= status < 400:
                    where = response.headers.get("location", "?")
                    raise RedirectError(f"the server redirected ({status}) to {where[:120]}; segchat does not "
                                        "follow redirects (your key would go along); check base_url", status)
                answer = Answer(status, {k.lower(): v for k, v in response.headers.items()}, method, url,
                                attempts=attempt + 1)
                if response.headers.get("content-type", "").startswith("text/event-stream"):
                    answer.events = sse_events(self._chunks(response, call, guard))
                    if status >= 400:  # an error told as events: its text is the error's detail
                        answer.body, answer.events = b"\n".join(d.encode() for _, d in answer.events), None
                else:
                    answer.body = b"".join(self._chunks(response, call, guard))
                return None, read(answer)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
            raise
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise self._read_failure(exc, call, guard) from None
        except httpx.HTTPError as exc:
            if call.cancel.is_set():
                raise Cancelled() from None
            raise APIError(f"the request failed: {type(exc).__name__}: {_reason(exc)}") from None

    def _chunks(self, response: httpx.Response, call: Call, guard: Guard) -> Iterator[bytes]:
        """Decoded body chunks (the cap applies to what we hold), cut by cancel, deadline and size."""
        import httpx

        size, chunks = 0, unpacked(response.iter_raw(), response.headers.get("content-encoding", ""))
        while True:
            try:
                chunk = next(chunks)
            except StopIteration:
                break
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                # Mapped here, inside the generator, so a stream reader can keep the text that came before.
                raise self._read_failure(exc, call, guard) from None
            guard.check()
            size += len(chunk)
            if size > MAX_BODY:
                raise BadResponseError(f"the reply is larger than {MAX_BODY // 2**20} MiB; stopped reading",
                                       response.status_code)
            yield chunk
        guard.check(clock=False)  # a socket shut on cancel or by the timer can end a body as if it were complete

    def _read_failure(self, exc: Exception, call: Call, guard: Guard) -> Exception:
        """What a failed read means: the user's cancel, the deadline, or a dropped connection (maybe billed)."""
        import httpx

        if call.cancel.is_set():
            return Cancelled()
        if guard.fired or isinstance(exc, httpx.TimeoutException):
            return guard.too_slow()
        return AmbiguousError(f"the connection dropped before the reply was complete ({_reason(exc)}); "
                              f"{MAYBE_BILLED}")

    def _wait(self, seconds: float, cancel: threading.Event) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
        elif cancel.wait(seconds):
            raise Cancelled()


def _backoff(attempt: int) -> float:
    # Exponential with jitter so many clients do not retry in step.
    return min(0.5 * 2**attempt, 8.0) * (1 - 0.25 * random.random())


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
