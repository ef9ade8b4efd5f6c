"""A request's guard down at the sockets: cancel and deadline for every blocking step."""

from __future__ import annotations

import socket
import threading
import time
import zlib
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from segchat.errors import AmbiguousError, BadResponseError, Cancelled
from segchat.model.call import Call

if TYPE_CHECKING:
    import httpx

MAYBE_BILLED = "it may already have been billed, so it was not resent"
_PIECE = 64 * 1024  # the most one compressed chunk may unpack to at a time
_local = threading.local()  # .guard: the Guard of the request this thread is making, if any


class Guard:
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
        self._outer: Guard | None = None

    def __enter__(self) -> Guard:
        self._outer, _local.guard = getattr(_local, "guard", None), self
        self.call.closers.append(self.shut)
        return self

    def __exit__(self, *exc: object) -> None:
        _local.guard = self._outer
        if self._timer is not None:
            self._timer.cancel()
        if self.shut in self.call.closers:
            self.call.closers.remove(self.shut)

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


def guard_connections(client: httpx.Client) -> None:
    """Have every connection the client makes report to the current Guard.

    httpx has no public hook for this: its transports hand their connection pool a network backend,
    which is wrapped here (proxies from the environment included). Should a future httpx move these,
    requests still work, with the deadline held by Guard.arm's timer once the headers are in.
    """
    for transport in [getattr(client, "_transport", None), *getattr(client, "_mounts", {}).values()]:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is not None and not isinstance(backend, _Backend):
            pool._network_backend = _Backend(backend)  # type: ignore[union-attr]


class _Backend:
    """httpcore's network backend, its streams under the current request's Guard."""

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
             socket_options: Iterable[Any] | None, guard: Guard,
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
    """A connection's stream: each read, write and TLS handshake limited by the current Guard."""

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


def unpacked(raw: Iterator[bytes], encoding: str) -> Iterator[bytes]:
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
