"""The only module that imports httpx: one connection, safe retries, one deadline, size caps, cancel."""

from __future__ import annotations

import random
import socket
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, TypeVar
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
_PIECE = 64 * 1024  # the most one compressed chunk may unpack to at a time
_local = threading.local()  # .guard: the _Guard of the request this thread is making, if any


@dataclass
class Call:
    """One request's controls: the user's cancel, and where streamed text goes as it arrives."""

    cancel: threading.Event = field(default_factory=threading.Event)
    on_delta: Callable[[str], None] | None = None
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def abort(self) -> None:
        """Cancel from another thread: a blocked connect or read wakes at once instead of at its timeout."""
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

                self._client = httpx.Client(transport=self._transport, follow_redirects=False, headers=self._headers)
                _guard_connections(self._client)
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

    def _attempt(self, method: str, url: str, body: Any, call: Call, read: Callable[[Answer], T],
                 deadline: float, attempt: int) -> tuple[tuple[float, int | None, bool] | None, T | None]:
        """One try: ((seconds, status, asked by the server) to wait before the next, None) or (None, the result)."""
        import httpx

        left = deadline - time.monotonic()
        if left <= 0:
            raise RetryableError(f"no answer within the {self.timeout:g} s timeout")
        timeout = httpx.Timeout(left, connect=min(left, 10.0))
        guard = _Guard(deadline, call, self.timeout)
        try:
            with guard, self.client.stream(method, url, json=body, timeout=timeout) as response:
                guard.arm(response)
                status = response.status_code
                if status in RETRY_STATUSES and attempt < self.retries:
                    asked = wire.retry_after(response.headers.get("retry-after"))
                    if asked is None or asked <= MAX_RETRY_AFTER:
                        return (_backoff(attempt) if asked is None else asked, status, asked is not None), None
                if 300 <= status < 400:
                    where = response.headers.get("location", "?")
                    raise RedirectError(f"the server redirected ({status}) to {where[:120]}; segchat does not "
                                        "follow redirects (your key would go along); check base_url", status)
                answer = Answer(status, {k.lower(): v for k, v in response.headers.items()}, method, url,
                                attempts=attempt + 1)
                if response.headers.get("content-type", "").startswith("text/event-stream"):
                    answer.events = wire.sse_events(self._chunks(response, call, guard))
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

    def _chunks(self, response: httpx.Response, call: Call, guard: _Guard) -> Iterator[bytes]:
        """Decoded body chunks (the cap applies to what we hold), cut by cancel, deadline and size."""
        import httpx

        size, chunks = 0, _unpacked(response.iter_raw(), response.headers.get("content-encoding", ""))
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

    def _read_failure(self, exc: Exception, call: Call, guard: _Guard) -> Exception:
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


class _Guard:
    """One try's deadline and cancel, down at the sockets.

    While a try runs, the connections its thread uses report to it (see _Stream): no connect, read or
    write may block past the deadline, and abort() shuts their sockets, so a blocked one wakes at once.
    """

    def __init__(self, deadline: float, call: Call, timeout: float) -> None:
        self.deadline, self.call, self.timeout = deadline, call, timeout
        self.fired = False  # the fallback timer shut the socket at the deadline
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._outer: _Guard | None = None

    def __enter__(self) -> _Guard:
        self._outer, _local.guard = getattr(_local, "guard", None), self
        self.call._closers.append(self.shut)
        return self

    def __exit__(self, *exc: object) -> None:
        _local.guard = self._outer
        if self._timer is not None:
            self._timer.cancel()
        if self.shut in self.call._closers:
            self.call._closers.remove(self.shut)

    def too_slow(self) -> AmbiguousError:
        return AmbiguousError(f"the reply took longer than the {self.timeout:g} s timeout; {MAYBE_BILLED}")

    def check(self, clock: bool = True) -> None:
        """Between chunks: the user's cancel, then the deadline (time spent unpacking or showing text counts)."""
        if self.call.cancel.is_set():
            raise Cancelled()
        if self.fired or (clock and time.monotonic() > self.deadline):
            raise self.too_slow()

    def limit(self, sock: socket.socket | None, timeout: float | None, late: type[Exception],
              cancelled: type[Exception]) -> float:
        """The timeout for one blocking step on sock, which abort() can now shut: never past the deadline."""
        if sock is not None and sock not in self._sockets:
            with self._lock:
                self._sockets.append(sock)
        if self.call.cancel.is_set():  # after watching: an abort() either sees the socket or is seen here
            raise cancelled("cancelled")
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise late(f"the {self.timeout:g} s deadline has passed")
        return left if timeout is None else min(timeout, left)

    def arm(self, response: httpx.Response) -> None:
        """Fallback when the connection did not report to us (a transport httpx built another way): shut its
        socket at the deadline from a timer. In-process transports have no socket; the checks between chunks hold."""
        if self._sockets:
            return
        stream = response.extensions.get("network_stream")
        try:
            sock = stream.get_extra_info("socket") if stream is not None else None
        except Exception:
            sock = None
        if sock is not None:
            with self._lock:
                self._sockets.append(sock)
            self._timer = threading.Timer(max(0.0, self.deadline - time.monotonic()), self._expire)
            self._timer.daemon = True
            self._timer.start()

    def _expire(self) -> None:
        self.fired = True
        self.shut()

    def shut(self) -> None:
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            try:  # socket.socket's own shutdown: a TLS socket's would drop its state under a reading thread
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass


def _guard_connections(client: httpx.Client) -> None:
    """Have every connection the client makes report to the current _Guard.

    httpx has no public hook for this: its transports hand their connection pool a network backend,
    which is wrapped here (proxies from the environment included). Should a future httpx move these,
    requests still work, with the deadline held by _Guard.arm's timer once the headers are in.
    """
    for transport in [getattr(client, "_transport", None), *getattr(client, "_mounts", {}).values()]:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is not None and not isinstance(backend, _Backend):
            pool._network_backend = _Backend(backend)  # type: ignore[union-attr]


class _Backend:
    """httpcore's network backend, its streams under the current request's _Guard."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> _Stream:
        import httpcore

        guard = getattr(_local, "guard", None)
        if guard is not None and type(self._inner) is httpcore.SyncBackend:
            try:
                from httpcore._backends.sync import SyncStream
            except ImportError:  # pragma: no cover - a future httpcore: connect as it does, cancellable once connected
                pass
            else:
                return _connect(host, port, timeout, local_address, socket_options, guard, SyncStream)
        stream = self._inner.connect_tcp(host=host, port=port, timeout=timeout, local_address=local_address,
                                         socket_options=socket_options)
        return _Stream(stream, stream.get_extra_info("socket"))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> _Stream:
        stream = self._inner.connect_unix_socket(path=path, timeout=timeout, socket_options=socket_options)
        return _Stream(stream, stream.get_extra_info("socket"))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _connect(host: str, port: int, timeout: float | None, local_address: str | None,
             socket_options: Iterable[Any] | None, guard: _Guard,
             make_stream: Callable[[socket.socket], Any]) -> _Stream:
    """socket.create_connection as httpcore calls it, but each socket watched before it connects."""
    import httpcore

    try:
        found = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    except OSError as exc:
        raise httpcore.ConnectError(str(exc)) from exc
    error: Exception = httpcore.ConnectError(f"no address for {host}")
    for family, kind, proto, _, address in found:
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(guard.limit(sock, timeout, httpcore.ConnectTimeout, httpcore.ConnectError))
            if local_address is not None:
                sock.bind((local_address, 0))
            sock.connect(address)
            for option in [*(socket_options or ()), (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]:
                sock.setsockopt(*option)
            return _Stream(make_stream(sock), sock)
        except OSError as exc:  # socket.timeout included: like create_connection, try the next address
            sock.close()
            error = (httpcore.ConnectTimeout if isinstance(exc, socket.timeout) else httpcore.ConnectError)(str(exc))
        except BaseException:
            sock.close()
            raise
    raise error


class _Stream:
    """A connection's stream: each read, write and TLS handshake limited by the current _Guard."""

    def __init__(self, inner: Any, sock: socket.socket | None) -> None:
        self._inner, self._sock = inner, sock  # the socket abort() shuts

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        import httpcore

        guard = getattr(_local, "guard", None)
        if guard is None:
            return self._inner.read(max_bytes, timeout)
        data = self._inner.read(max_bytes, guard.limit(self._sock, timeout, httpcore.ReadTimeout, httpcore.ReadError))
        if not data and guard.call.cancel.is_set():  # shut by abort(), not closed by the server
            raise httpcore.ReadError("cancelled")
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        import httpcore

        guard = getattr(_local, "guard", None)
        if guard is not None:
            timeout = guard.limit(self._sock, timeout, httpcore.WriteTimeout, httpcore.WriteError)
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> _Stream:
        import httpcore

        guard = getattr(_local, "guard", None)
        if guard is not None:
            timeout = guard.limit(self._sock, timeout, httpcore.ConnectTimeout, httpcore.ConnectError)
        tls = self._inner.start_tls(ssl_context, server_hostname, timeout)
        # The TLS socket took over the descriptor (the plain one is detached): abort() shuts that one now.
        return _Stream(tls, tls.get_extra_info("socket") or self._sock)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


def _unpacked(raw: Iterator[bytes], encoding: str) -> Iterator[bytes]:
    """The body with its content-encoding undone, in pieces of at most _PIECE bytes (a small compressed
    chunk can unpack to gigabytes; the size cap counts what comes out)."""
    coding = encoding.strip().lower()
    if coding in ("", "identity"):
        yield from raw
        return
    if coding not in ("gzip", "x-gzip", "deflate"):
        raise BadResponseError(f"the reply is in an encoding segchat does not read ({coding[:40]})")
    unpacker = zlib.decompressobj(zlib.MAX_WBITS | 16 if coding != "deflate" else zlib.MAX_WBITS)
    started = False
    for data in raw:
        while data and not unpacker.eof:
            try:
                piece = unpacker.decompress(data, _PIECE)
            except zlib.error as exc:
                if coding == "deflate" and not started:  # sent raw, without the zlib wrapper: read it as such
                    unpacker, started = zlib.decompressobj(-zlib.MAX_WBITS), True
                    continue
                raise BadResponseError(f"the reply could not be decoded ({coding}: {exc})") from None
            started = True
            data = unpacker.unconsumed_tail
            if piece:
                yield piece
            while len(piece) == _PIECE and not data and not unpacker.eof:  # more may wait inside
                piece = unpacker.decompress(b"", _PIECE)
                if piece:
                    yield piece
    rest = unpacker.flush()
    if rest:
        yield rest


def _backoff(attempt: int) -> float:
    # Exponential with jitter so many clients do not retry in step.
    return min(0.5 * 2**attempt, 8.0) * (1 - 0.25 * random.random())


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
