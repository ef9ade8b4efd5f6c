"""A request's guard down at the sockets: no connect, read, write or TLS handshake blocks past its deadline, and
the user's cancel (Call.abort) shuts the sockets the request waits on, so it wakes at once.

GuardedBackend is the network backend of every connection pool segchat's HTTP client has (see net.http's
GuardedTransport): it makes the connections, so each reports to the Guard of the request its thread is making.
It and GuardedStream have the methods of httpcore's public NetworkBackend and NetworkStream; httpcore is
imported under the first request (start-up never loads it), so they follow that interface without naming it.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from contextlib import contextmanager
from functools import partial
from typing import Any, Callable, Iterable, Iterator

from segchat.errors import AmbiguousError, Cancelled
from segchat.model.call import Call

# Why a request that was sent is not sent again: where the provider bills per request, and where it does not.
MAYBE_BILLED = "it may already have been billed, so it was not resent"
MAYBE_STARTED = "the server may already have started on it, so it was not resent"
_TLS_RECORD = 16384  # the most one TLS record holds
_local = threading.local()  # .guard: the Guard of the request this thread is making, if any


class Guard:
    """One try's deadline and cancel, down at the sockets.

    While a try runs (`with guard:`), the connections its thread uses report to it: no connect, read or
    write may block past the deadline, and the call's abort() shuts their sockets, so a blocked one wakes at once.
    The deadline bounds silence, not work: each piece of a streamed reply's text moves it timeout seconds on.
    billed: the provider bills what reaches it, which the errors of a request cut after sending then say.
    """

    def __init__(self, deadline: float, call: Call, timeout: float, billed: bool = True) -> None:
        self.deadline, self.call, self.timeout = deadline, call, timeout
        self.not_resent = MAYBE_BILLED if billed else MAYBE_STARTED
        self.flowing = False  # a streamed reply's text has begun to arrive
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._outer: Guard | None = None

    def __enter__(self) -> Guard:
        self._outer, _local.guard = getattr(_local, "guard", None), self
        self.call.closers.append(self.shut)
        return self

    def __exit__(self, *exc: object) -> None:
        _local.guard = self._outer
        if self.shut in self.call.closers:
            self.call.closers.remove(self.shut)

    def text_arrived(self) -> None:
        """More of the reply's text came: the silence allowed starts again (a flowing stream is never cut)."""
        self.deadline = time.monotonic() + self.timeout
        self.flowing = True

    def too_slow(self) -> AmbiguousError:
        if self.flowing:
            return AmbiguousError(f"the reply stopped coming for the {self.timeout:g} s timeout; {self.not_resent}")
        return AmbiguousError(f"the reply took longer than the {self.timeout:g} s timeout; {self.not_resent}")

    def check(self, clock: bool = True) -> None:
        """Between chunks: the user's cancel, then (with clock) the deadline: time spent unpacking or showing
        text counts. Without clock, after the last chunk: a socket abort() shut ends a body as if complete."""
        if self.call.cancel.is_set():
            raise Cancelled()
        if clock and time.monotonic() > self.deadline:
            raise self.too_slow()

    def limit(self, sock: socket.socket, timeout: float | None, late: type[Exception],
              cancelled: type[Exception]) -> float:
        """The timeout for one blocking step on sock, which abort() can now shut: never past the deadline."""
        if sock not in self._sockets:
            with self._lock:
                self._sockets.append(sock)
        if self.call.cancel.is_set():  # after watching: an abort() either sees the socket or is seen here
            raise cancelled("cancelled")
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise late(f"the {self.timeout:g} s deadline has passed")
        return left if timeout is None else min(timeout, left)

    def shut(self) -> None:
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            try:  # socket.socket's own shutdown: a TLS socket's would drop its state under a reading thread
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass


def _limit(sock: socket.socket, timeout: float | None, late: type[Exception], cancelled: type[Exception]) -> \
        float | None:
    """The timeout for one blocking step: the current request's Guard's, or (no request on this thread) as given."""
    guard = getattr(_local, "guard", None)
    return timeout if guard is None else guard.limit(sock, timeout, late, cancelled)


def _cancelled() -> bool:
    guard = getattr(_local, "guard", None)
    return guard is not None and guard.call.cancel.is_set()


@contextmanager
def _socket_errors(late: type[Exception], failed: type[Exception]) -> Iterator[None]:
    """A socket's errors as httpcore's: a timeout as late, any other as failed (as httpcore's SyncBackend maps them)."""
    try:
        yield
    except TimeoutError as exc:
        raise late(str(exc)) from exc
    except OSError as exc:
        raise failed(str(exc)) from exc


class GuardedBackend:
    """httpcore's network backend (its connect_tcp and sleep): connections that report to the current Guard."""

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> GuardedStream:
        """socket.create_connection as httpcore's SyncBackend calls it, but each socket watched before it connects."""
        import httpcore

        with _socket_errors(httpcore.ConnectTimeout, httpcore.ConnectError):
            found = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
        error: Exception = httpcore.ConnectError(f"no address for {host}")
        for family, kind, proto, _, address in found:
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(_limit(sock, timeout, httpcore.ConnectTimeout, httpcore.ConnectError))
                if local_address is not None:
                    sock.bind((local_address, 0))
                sock.connect(address)
                for option in [*(socket_options or ()), (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]:
                    sock.setsockopt(*option)
                return GuardedStream(sock)
            except OSError as exc:  # a timeout included: like create_connection, try the next address
                sock.close()
                error = (httpcore.ConnectTimeout if isinstance(exc, TimeoutError) else httpcore.ConnectError)(str(exc))
            except BaseException:  # the Guard's word (cancelled, past the deadline) is final
                sock.close()
                raise
        raise error

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class GuardedStream:
    """httpcore's network stream over one socket: each read, write and TLS handshake limited by the current
    Guard, and the socket shut by that request's abort()."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        import httpcore

        with _socket_errors(httpcore.ReadTimeout, httpcore.ReadError):
            self._sock.settimeout(_limit(self._sock, timeout, httpcore.ReadTimeout, httpcore.ReadError))
            data = self._receive(max_bytes)
        if not data and _cancelled():  # shut by abort(), not closed by the server
            raise httpcore.ReadError("cancelled")
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        import httpcore

        if buffer:
            with _socket_errors(httpcore.WriteTimeout, httpcore.WriteError):
                self._sock.settimeout(_limit(self._sock, timeout, httpcore.WriteTimeout, httpcore.WriteError))
                self._send(buffer)

    def close(self) -> None:
        self._sock.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> GuardedStream:
        import httpcore

        if isinstance(self._sock, ssl.SSLSocket):  # a tunnel through an https:// proxy: TLS inside its TLS
            return _TlsInTls(self._sock, ssl_context, server_hostname, timeout)
        sock = self._sock
        try:
            with _socket_errors(httpcore.ConnectTimeout, httpcore.ConnectError):
                sock = ssl_context.wrap_socket(sock, server_hostname=server_hostname, do_handshake_on_connect=False)
                # The TLS socket took over the descriptor (the plain one is detached): abort() shuts this one.
                sock.settimeout(_limit(sock, timeout, httpcore.ConnectTimeout, httpcore.ConnectError))
                sock.do_handshake()
        except BaseException:
            sock.close()
            raise
        return GuardedStream(sock)

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":  # an ssl.SSLSocket has the methods of the SSLObject httpcore asks for
            return self._sock if isinstance(self._sock, ssl.SSLSocket) else None
        if info == "client_addr":
            return self._sock.getsockname()
        if info == "server_addr":
            return self._sock.getpeername()
        if info == "socket":
            return self._sock
        if info == "is_readable":
            return _readable(self._sock)
        return None

    def _receive(self, max_bytes: int) -> bytes:
        return self._sock.recv(max_bytes)

    def _send(self, data: bytes) -> None:
        self._sock.sendall(data)


class _TlsInTls(GuardedStream):
    """TLS to the server inside the TLS to an https:// proxy (ssl cannot wrap a socket that is TLS already):
    the inner TLS runs in memory, its records sent and received over the proxy's TLS socket."""

    def __init__(self, sock: ssl.SSLSocket, ssl_context: ssl.SSLContext, server_hostname: str | None,
                 timeout: float | None) -> None:
        import httpcore

        super().__init__(sock)
        self._incoming, self._outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self._tls = ssl_context.wrap_bio(self._incoming, self._outgoing, server_hostname=server_hostname)
        try:
            with _socket_errors(httpcore.ConnectTimeout, httpcore.ConnectError):
                sock.settimeout(_limit(sock, timeout, httpcore.ConnectTimeout, httpcore.ConnectError))
                self._pump(self._tls.do_handshake)
        except BaseException:
            sock.close()
            raise

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> GuardedStream:
        import httpcore

        # A tunnel through an https:// proxy to an https:// server is as deep as TLS goes here (as in httpcore).
        raise httpcore.ConnectError("cannot start TLS inside a proxy's TLS tunnel twice")

    def get_extra_info(self, info: str) -> Any:
        return self._tls if info == "ssl_object" else super().get_extra_info(info)

    def _receive(self, max_bytes: int) -> bytes:
        try:
            return self._pump(partial(self._tls.read, max_bytes))
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):  # closed, cleanly or not: the end, as an SSLSocket reads it
            return b""

    def _send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[self._pump(partial(self._tls.write, view)):]

    def _pump(self, step: Callable[[], Any]) -> Any:
        """Run one step of the inner TLS: send what it wrote, feed it what it waits for, until it is done."""
        while True:
            try:
                result, waiting = step(), False
            except ssl.SSLWantReadError:
                result, waiting = None, True
            if written := self._outgoing.read():
                self._sock.sendall(written)
            if not waiting:
                return result
            data = self._sock.recv(_TLS_RECORD)
            if data:
                self._incoming.write(data)
            else:
                self._incoming.write_eof()


def _readable(sock: socket.socket) -> bool:
    """Whether a read would return at once: on an idle kept-alive connection, the server closed it (or sent
    something unasked), so it is not used again."""
    if sock.fileno() < 0:
        return True
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([sock], [], [], 0)[0])
