"""The only module that imports httpx: one connection, safe retries, one deadline, size caps, cancel."""

from __future__ import annotations

import random
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeVar
from urllib.parse import urlsplit

from segchat import __version__, wire
from segchat.errors import AmbiguousError, APIError, BadResponseError, Cancelled, RedirectError, RetryableError

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")
MAX_BODY = 8 * 1024 * 1024
RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_RETRY_AFTER = 60.0
MAYBE_BILLED = "it may already have been billed, so it was not resent"


@dataclass
class Call:
    """One request's controls: the user's cancel, and where streamed text goes as it arrives."""

    cancel: threading.Event = field(default_factory=threading.Event)
    on_delta: Callable[[str], None] | None = None
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def abort(self) -> None:
        """Cancel from another thread: a blocked read wakes at once instead of at its timeout."""
        self.cancel.set()
        for close in list(self._closers):
            close()


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


class Http:
    """Requests with one deadline each (connect, headers, body, every event, and the waits between tries)."""

    def __init__(self, *, timeout: float = 120.0, retries: int = 2, headers: dict[str, str] | None = None,
                 transport: httpx.BaseTransport | None = None, sleep: Callable[[float], None] | None = None) -> None:
        self.timeout, self.retries = timeout, retries
        self._headers = {**(headers or {}), "user-agent": f"segchat/{__version__}", "accept": "application/json"}
        self._transport, self._sleep = transport, sleep
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> httpx.Client:
        # Built on first use: importing httpx costs more than the whole prompt, so start-up skips it.
        with self._lock:
            if self._client is None:
                import httpx

                self._client = httpx.Client(transport=self._transport, follow_redirects=False, headers=self._headers)
            return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def request(self, method: str, url: str, read: Callable[[Answer], T], *, json: Any = None,
                call: Call | None = None) -> T:
        """Send, retrying only what cannot bill twice; read(answer) turns the answer into the result."""
        import httpx

        call = call or Call()
        deadline = time.monotonic() + self.timeout
        attempt = 0
        while True:
            if call.cancel.is_set():
                raise Cancelled()
            try:
                wait, result = self._attempt(method, url, json, call, read, deadline, attempt)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # Nothing reached the server, so trying again cannot bill twice.
                where = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}"
                if attempt >= self.retries or time.monotonic() >= deadline:
                    raise RetryableError(f"cannot connect to {where}: {_reason(exc)} "
                                         f"(tried {attempt + 1} times)") from None
                wait, result = (_backoff(attempt), None), None
            if wait is None:
                return result
            seconds, status = wait
            if seconds > deadline - time.monotonic():
                raise RetryableError(f"the server is busy ({status or 'no connection'}) and the next try would "
                                     f"pass the {self.timeout:g} s timeout; try again later", status)
            self._wait(seconds, call.cancel)
            attempt += 1

    def _attempt(self, method: str, url: str, body: Any, call: Call, read: Callable[[Answer], T],
                 deadline: float, attempt: int) -> tuple[tuple[float, int | None] | None, T | None]:
        """One try: ((seconds, status) to wait before the next, None) or (None, the result)."""
        import httpx

        left = deadline - time.monotonic()
        if left <= 0:
            raise RetryableError(f"no answer within the {self.timeout:g} s timeout")
        timeout = httpx.Timeout(left, connect=min(left, 10.0))
        watchdog = _Watchdog(deadline, call)
        try:
            with self.client.stream(method, url, json=body, timeout=timeout) as response:
                watchdog.arm(response)
                status = response.status_code
                if status in RETRY_STATUSES and attempt < self.retries:
                    asked = wire.retry_after(response.headers.get("retry-after"))
                    if asked is None or asked <= MAX_RETRY_AFTER:
                        return (_backoff(attempt) if asked is None else asked, status), None
                if 300 <= status < 400:
                    where = response.headers.get("location", "?")
                    raise RedirectError(f"the server redirected ({status}) to {where[:120]}; segchat does not "
                                        "follow redirects (your key would go along); check base_url", status)
                answer = Answer(status, {k.lower(): v for k, v in response.headers.items()}, method, url,
                                attempts=attempt + 1)
                if response.headers.get("content-type", "").startswith("text/event-stream"):
                    answer.events = wire.sse_events(self._chunks(response, call, deadline, watchdog))
                    if status >= 400:  # an error told as events: its text is the error's detail
                        answer.body, answer.events = b"\n".join(d.encode() for _, d in answer.events), None
                else:
                    answer.body = b"".join(self._chunks(response, call, deadline, watchdog))
                return None, read(answer)
        except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError, httpx.ReadError,
                httpx.DecodingError) as exc:
            raise self._read_failure(exc, call, watchdog) from None
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
            raise
        except httpx.HTTPError as exc:
            raise APIError(f"the request failed: {type(exc).__name__}: {_reason(exc)}") from None
        finally:
            watchdog.disarm()

    def _chunks(self, response: httpx.Response, call: Call, deadline: float,
                watchdog: _Watchdog) -> Iterator[bytes]:
        """Decoded body chunks (the cap applies to what we hold), cut by cancel, deadline and size."""
        import httpx

        size, chunks = 0, response.iter_bytes()
        while True:
            try:
                chunk = next(chunks)
            except StopIteration:
                return
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.ReadTimeout, httpx.DecodingError) as exc:
                # Mapped here, inside the generator, so a stream reader can keep the text that came before.
                raise self._read_failure(exc, call, watchdog) from None
            if call.cancel.is_set():
                raise Cancelled()
            if watchdog.fired or time.monotonic() > deadline:
                raise AmbiguousError(f"the reply took longer than the {self.timeout:g} s timeout; {MAYBE_BILLED}")
            size += len(chunk)
            if size > MAX_BODY:
                raise BadResponseError(f"the reply is larger than {MAX_BODY // 2**20} MiB; stopped reading",
                                       response.status_code)
            yield chunk

    def _read_failure(self, exc: Exception, call: Call, watchdog: _Watchdog) -> Exception:
        """What a failed read means: the user's cancel, the deadline, or a dropped connection (maybe billed)."""
        import httpx

        if call.cancel.is_set():
            return Cancelled()
        if watchdog.fired or isinstance(exc, (httpx.ReadTimeout, httpx.WriteTimeout)):
            return AmbiguousError(f"the reply took longer than the {self.timeout:g} s timeout; {MAYBE_BILLED}")
        if isinstance(exc, httpx.DecodingError):
            return BadResponseError(f"the reply could not be decoded ({_reason(exc)})")
        return AmbiguousError(f"the connection dropped before the reply was complete ({_reason(exc)}); "
                              f"{MAYBE_BILLED}")

    def _wait(self, seconds: float, cancel: threading.Event) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
        elif cancel.wait(seconds):
            raise Cancelled()


class _Watchdog:
    """Shuts the socket at the deadline or on cancel, so a read blocked on a trickling server ends on time."""

    def __init__(self, deadline: float, call: Call) -> None:
        self.deadline, self.call, self.fired = deadline, call, False
        self._socket: socket.socket | None = None
        self._timer: threading.Timer | None = None

    def arm(self, response: httpx.Response) -> None:
        stream = response.extensions.get("network_stream")
        try:
            self._socket = stream.get_extra_info("socket") if stream is not None else None
        except Exception:  # an in-process transport has no socket; the checks between chunks still hold
            self._socket = None
        self.call._closers.append(self._shut)
        self._timer = threading.Timer(max(0.0, self.deadline - time.monotonic()), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _expire(self) -> None:
        self.fired = True
        self._shut()

    def _shut(self) -> None:
        if self._socket is not None:
            try:
                self._socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._shut in self.call._closers:
            self.call._closers.remove(self._shut)


def _backoff(attempt: int) -> float:
    # Exponential with jitter so many clients do not retry in step.
    return min(0.5 * 2**attempt, 8.0) * (1 - 0.25 * random.random())


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
