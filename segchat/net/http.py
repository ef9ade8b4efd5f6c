"""Requests with one deadline each, safe retries, size caps and cancel; the only module that imports httpx.

httpx is imported with the first request, not before the prompt is up: the classes here that httpx calls
(GuardedTransport) have the methods of its public interfaces without naming them.
"""

from __future__ import annotations

import ipaddress
import random
import ssl
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, TypeVar
from urllib.parse import urlsplit

from segchat import __version__
from segchat.errors import AmbiguousError, APIError, BadResponseError, Cancelled, RedirectError, RetryableError
from segchat.model.call import Call
from segchat.net.deadline import Guard, GuardedBackend
from segchat.net.decoding import unpacked
from segchat.net.sse import sse_events
from segchat.text.redact import redact

if TYPE_CHECKING:
    import httpcore
    import httpx

T = TypeVar("T")
MAX_BODY = 8 * 1024 * 1024
RETRY_STATUSES = {429, 500, 502, 503, 504}
RESET_AT = "x-rate-limit-reset-at-utc"  # Segmind's 429 says here when its rate limit's window resets
EPOCH_SECONDS = 10**9  # a number in RESET_AT from here on is a time in epoch seconds (2001 on); below, unusable
# The errors httpcore and httpx share by name, the most specific first: httpx's HTTPTransport maps one to the other.
_SHARED_ERRORS = ("ConnectTimeout", "ReadTimeout", "WriteTimeout", "PoolTimeout", "TimeoutException", "ConnectError",
                  "ReadError", "WriteError", "NetworkError", "ProxyError", "UnsupportedProtocol",
                  "RemoteProtocolError", "LocalProtocolError", "ProtocolError")


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
    # Called by whoever reads the events, for each piece of the reply's text or reasoning: the timeout then counts
    # silence from there. Keep-alive comments, blank lines and empty events are no text, and move nothing.
    text_arrived: Callable[[], None] = lambda: None

    @property
    def streamed(self) -> bool:
        return self.events is not None


_contexts: dict[bool, ssl.SSLContext] = {}
_contexts_lock = threading.Lock()


def _tls_context(verified: bool) -> ssl.SSLContext:
    """One TLS context per process, shared by every client (a one-shot may build two: one for the balance and
    one for the turn), its certificates loaded once. Without verified, a context that trusts no certificate:
    for servers at http:// addresses, which never load them, while an https:// address there fails rather than
    going unverified."""
    import httpx

    with _contexts_lock:
        if verified not in _contexts:
            _contexts[verified] = httpx.create_ssl_context() if verified else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        return _contexts[verified]


class Http:
    """Requests with one deadline each (connect, headers, body, every event, and the waits between tries)."""

    def __init__(self, *, timeout: float = 120.0, retries: int = 2, headers: dict[str, str] | None = None,
                 transport: httpx.BaseTransport | None = None, sleep: Callable[[float], None] | None = None,
                 tls: bool = True, billed: bool = True) -> None:
        """transport: where requests go instead of the network (an in-process server); by default a
        GuardedTransport, built with the client. tls: False for a server at an http:// address; its
        https:// is then refused, never unverified. billed: the server bills each request it gets (what
        the error of a request cut after sending says). timeout: the longest silence, see Guard."""
        self.timeout, self.retries, self._tls, self._billed = timeout, retries, tls, billed
        # Only the encodings unpacked() undoes in bounded pieces (httpx would add br and zstd when installed).
        self._headers = {**(headers or {}), "user-agent": f"segchat/{__version__}", "accept": "application/json",
                         "accept-encoding": "gzip, deflate"}
        self.transport, self._sleep = transport, sleep
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()  # the first turn and the work started after the prompt may both build it

    @property
    def client(self) -> httpx.Client:
        """Built on first use, with the proxies the environment names (as httpx would use them)."""
        with self._lock:
            if self._client is None:
                import httpx

                mounts: dict[str, httpx.BaseTransport | None] = {}
                if self.transport is None:
                    context = _tls_context(self._tls)
                    self.transport = GuardedTransport(context)
                    mounts = {pattern: None if url is None else GuardedTransport(context, httpx.Proxy(url))
                              for pattern, url in environment_proxies().items()}
                self._client = httpx.Client(transport=self.transport, mounts=mounts, follow_redirects=False,
                                            headers=self._headers)
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
                parts = urlsplit(url)  # the host and port only: a user or password in the URL stays unshown
                where = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
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
                why = f"asks to wait {seconds:.0f} s (until {clock_time(seconds)})" if asked else \
                    f"still was after {attempt + 1} tries"
                raise RetryableError(f"the server is busy ({status}) and {why}; another try would pass the "
                                     f"{self.timeout:g} s timeout, so try again later", status)
            self._wait(seconds, call, _waiting(status))
            attempt += 1

    def _attempt(self, method: str, url: str, json: Any, call: Call, read: Callable[[Answer], T],
                 deadline: float, attempt: int) -> tuple[tuple[float, int | None, bool] | None, T | None]:
        """One try: ((seconds, status, asked by the server) to wait before the next, None) or (None, the result)."""
        import httpx

        left = deadline - time.monotonic()
        if left <= 0:
            raise RetryableError(f"no answer within the {self.timeout:g} s timeout")
        timeout = httpx.Timeout(left, connect=min(left, 10.0))
        guard = Guard(deadline, call, self.timeout, self._billed and method != "GET")  # a GET only asks
        try:
            with guard, self.client.stream(method, url, json=json, timeout=timeout) as response:
                status = response.status_code
                if status in RETRY_STATUSES and attempt < self.retries:
                    asked = asked_wait(response.headers)
                    return (_backoff(attempt) if asked is None else asked, status, asked is not None), None
                if 300 <= status < 400:
                    where = response.headers.get("location", "?")
                    raise RedirectError(f"the server redirected ({status}) to {redact(where)[:120]}; segchat does not "
                                        "follow redirects (your key would go along); check base_url", status)
                answer = Answer(status, {k.lower(): v for k, v in response.headers.items()}, method, url,
                                attempts=attempt + 1)
                if response.headers.get("content-type", "").startswith("text/event-stream"):
                    answer.events = sse_events(self._chunks(response, call, guard))
                    answer.text_arrived = guard.text_arrived
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
        guard.check(clock=False)

    def _read_failure(self, exc: Exception, call: Call, guard: Guard) -> Exception:
        """What a failed read means: the user's cancel, the deadline, or a dropped connection (maybe started on)."""
        import httpx

        if call.cancel.is_set():
            return Cancelled()
        if isinstance(exc, httpx.TimeoutException):
            return guard.too_slow()
        return AmbiguousError(f"the connection dropped before the reply was complete ({_reason(exc)}); "
                              f"{guard.not_resent}")

    def _wait(self, seconds: float, call: Call, saying: str) -> None:
        """The wait before another try, counted down in call.state (see Call.count_down); Ctrl-C ends it at once."""
        if self._sleep is not None:
            self._sleep(seconds)
        else:
            call.count_down(seconds, saying)


class GuardedTransport:
    """httpx's HTTPTransport (the methods of httpx.BaseTransport) over an httpcore connection pool whose
    connections deadline.GuardedBackend makes: every client Http builds sends through one, and through one
    for each proxy the environment names. Requests, answers and errors are converted as HTTPTransport does."""

    def __init__(self, ssl_context: ssl.SSLContext, proxy: httpx.Proxy | None = None) -> None:
        import httpcore
        import httpx

        self.ssl_context, limits = ssl_context, httpx.Limits(max_connections=100, max_keepalive_connections=20)
        pool: dict[str, Any] = dict(ssl_context=ssl_context, network_backend=GuardedBackend(),
                                    max_connections=limits.max_connections,
                                    max_keepalive_connections=limits.max_keepalive_connections,
                                    keepalive_expiry=limits.keepalive_expiry)
        self._pool: httpcore.ConnectionPool | httpcore.HTTPProxy | httpcore.SOCKSProxy
        if proxy is None:
            self._pool = httpcore.ConnectionPool(**pool)
        elif proxy.url.scheme in ("http", "https"):
            self._pool = httpcore.HTTPProxy(proxy_url=_core_url(proxy.url), proxy_auth=proxy.raw_auth,
                                            proxy_headers=proxy.headers.raw, proxy_ssl_context=proxy.ssl_context,
                                            **pool)
        else:  # socks5 or socks5h, the only other schemes httpx.Proxy takes (it needs the socksio package)
            self._pool = httpcore.SOCKSProxy(proxy_url=_core_url(proxy.url), proxy_auth=proxy.raw_auth, **pool)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        import httpcore
        import httpx

        with _httpx_errors():
            answer = self._pool.handle_request(httpcore.Request(
                method=request.method, url=_core_url(request.url), headers=request.headers.raw,
                content=request.stream, extensions=request.extensions))
        return httpx.Response(status_code=answer.status, headers=answer.headers, stream=_body(answer.stream),
                              extensions=answer.extensions)

    def close(self) -> None:
        self._pool.close()


def _core_url(url: httpx.URL) -> httpcore.URL:
    import httpcore

    return httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path)


def _body(stream: Iterable[bytes]) -> httpx.SyncByteStream:
    """httpcore's response body as httpx reads it: its errors as httpx's, and close() giving the connection back.
    (httpx checks that a body is a SyncByteStream, so this one is made where httpx is imported.)"""
    import httpx

    class Body(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            with _httpx_errors():
                yield from stream

        def close(self) -> None:
            stream.close()  # type: ignore[attr-defined]

    return Body()


@contextmanager
def _httpx_errors() -> Iterator[None]:
    """httpcore's errors raised as httpx's of the same name."""
    import httpcore
    import httpx

    try:
        yield
    except Exception as exc:
        for name in _SHARED_ERRORS:
            if isinstance(exc, getattr(httpcore, name)):
                raise getattr(httpx, name)(str(exc)) from exc
        raise


def retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (a number or an HTTP date); None if absent or unusable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        when = _http_date(value)
        seconds = when - time.time() if when is not None else 0.0
    return seconds if 0 < seconds < float("inf") else None


def reset_in(value: str | None, now: float | None = None) -> float | None:
    """Seconds until the time x-rate-limit-reset-at-utc names; None if absent, unusable or past.

    Its format is not documented: an ISO 8601 time (UTC unless it names its offset: 2026-08-27T12:00:05Z) and
    epoch seconds (1787832005) are read. now: the time it is counted from, in epoch seconds (by default this
    machine's clock).
    """
    if not value or len(value) > 64:
        return None
    text = value.strip()
    try:
        when = float(text)
        if not EPOCH_SECONDS <= when < float("inf"):
            return None
    except ValueError:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        when = moment.timestamp()
    seconds = when - (time.time() if now is None else now)
    return seconds if seconds > 0 else None


def asked_wait(headers: Any) -> float | None:
    """How long an answer asks to wait before the next try, in seconds: the later of Retry-After and the reset
    time of x-rate-limit-reset-at-utc; None when it asks nothing usable.

    The reset time is counted from the answer's own Date where it has one, so a clock here that is off does
    not stretch or cut the wait."""
    date = _http_date(headers.get("date"))
    waits = [w for w in (retry_after(headers.get("retry-after")), reset_in(headers.get(RESET_AT), date))
             if w is not None]
    return max(waits) if waits else None


def clock_time(seconds: float) -> str:
    """The local time seconds from now, as a person reads it on their clock: 14:03:12 (with the date, when it
    is not today)."""
    moment = datetime.now() + timedelta(seconds=seconds)
    return moment.strftime("%H:%M:%S" if moment.date() == datetime.now().date() else "%Y-%m-%d %H:%M:%S")


def _http_date(value: str | None) -> float | None:
    """An HTTP date (Date, Retry-After) in epoch seconds; None if absent or unusable."""
    if not value:
        return None
    import email.utils  # httpx's own import: loaded with it, not before the prompt is up

    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, OverflowError):
        return None


def _waiting(status: int | None) -> str:
    """What the spinner says while waiting to try again after status (None: no connection), seconds in braces."""
    if status == 429:
        return "rate limited (429): sending again in {} s"
    if status is None:
        return "cannot connect: trying again in {} s"
    return f"the server is busy ({status}): trying again in {{}} s"


def environment_proxies() -> dict[str, str | None]:
    """The proxies the environment names, as the URL patterns of httpx.Client's mounts (None: no proxy there),
    read as httpx reads them for the transports it builds itself: the http, https and all proxies (from
    {scheme}_proxy variables, or where the system keeps them), and the hosts no_proxy exempts."""
    import urllib.request  # httpx's own import: loaded with it, when the first request is made

    found = urllib.request.getproxies()
    mounts: dict[str, str | None] = {}
    for scheme in ("http", "https", "all"):
        if found.get(scheme):
            url = found[scheme]
            mounts[f"{scheme}://"] = url if "://" in url else f"http://{url}"
    for host in (name.strip() for name in found.get("no", "").split(",")):
        if host == "*":
            return {}
        if "://" in host:
            mounts[host] = None
        elif _is_address(host, ipaddress.IPv4Address) or host.lower() == "localhost":
            mounts[f"all://{host}"] = None
        elif _is_address(host, ipaddress.IPv6Address):
            mounts[f"all://[{host}]"] = None
        elif host:  # example.com: the host and its subdomains; .example.com: its subdomains
            mounts[f"all://*{host}"] = None
    return mounts


def _is_address(host: str, kind: type[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> bool:
    try:
        kind(host.split("/")[0])
    except ValueError:
        return False
    return True


def _backoff(attempt: int) -> float:
    # Exponential with jitter so many clients do not retry in step.
    return min(0.5 * 2**attempt, 8.0) * (1 - 0.25 * random.random())


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
