"""One deadline per request, against real loopback servers that are slow, endless or silent.

Each case bounds a hang: the error must come at the deadline (plus a generous margin), never at
the server's pace. Ctrl-C (Call.abort() from another thread) must end a blocked request at once.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
import tracemalloc
import zlib
from contextlib import contextmanager

import httpx
import pytest
from support.tls import Loopback, read_request, trusted

from segchat.errors import AmbiguousError, BadResponseError, Cancelled, RetryableError
from segchat.model.call import Call
from segchat.net.http import MAX_BODY
from segchat.providers.openai_compat import OpenAI
from segchat.providers.segmind import Segmind

KEY = "test-key-12345"
MESSAGES = [{"role": "user", "content": "hi"}]
TIMEOUT = 1.0
LATE = TIMEOUT + 1.5  # an error later than this means the deadline did not hold
AT_ONCE = 0.5  # from abort() to Cancelled
TOO_SLOW = "took longer than the 1 s timeout"
STOPPED = "stopped coming for the 1 s timeout"  # silence after some of a streamed reply's text


@pytest.fixture(autouse=True)
def no_leftover_threads():
    """Every server, timer and worker a test starts has ended shortly after it (fixtures included)."""
    before = set(threading.enumerate())
    yield
    give_up = time.monotonic() + 3
    while (extra := [t for t in threading.enumerate() if t not in before and t.is_alive()]) and \
            time.monotonic() < give_up:
        time.sleep(0.02)
    assert not extra, f"threads left running: {extra}"


@pytest.fixture
def providers():
    """Build providers through this, so each is closed (and its connections with it) after the test."""
    made = []

    def make(kind, base_url, *, timeout=TIMEOUT, **kw):
        provider = (Segmind(base_url, "llama-v3p1-8b-instruct", KEY, timeout=timeout, **kw) if kind == "segmind"
                    else OpenAI(base_url, "m", None, timeout=timeout, **kw))
        made.append(provider)
        return provider

    yield make
    for provider in made:
        provider.close()


@contextmanager
def timed(case):
    """Yields a one-item list that holds the elapsed seconds afterwards; prints it for the record."""
    box = [0.0]
    started = time.monotonic()
    try:
        yield box
    finally:
        box[0] = time.monotonic() - started
        print(f"\n[deadline] {case}: {box[0]:.3f} s")


def fails(provider, error_type, case, call=None):
    """Send and expect error_type; returns (error, elapsed)."""
    with timed(case) as elapsed, pytest.raises(error_type) as info:
        provider.complete(MESSAGES, {}, call or Call())
    return info.value, elapsed[0]


@contextmanager
def abort_when(trigger: threading.Event, call: Call, after: float = 0.3):
    """abort() the call from another thread `after` s past the trigger; yields a list that gets abort's time."""
    when: list[float] = []

    def run():
        if trigger.wait(10):
            time.sleep(after)
            when.append(time.monotonic())
            call.abort()

    thread = threading.Thread(target=run, name="test-aborter")
    thread.start()
    try:
        yield when
    finally:
        trigger.set()  # the thread ends even if the request failed before the trigger
        thread.join()


def silent_port():
    """A listening socket nobody accepts on: the kernel completes the handshake, no reply ever comes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    return listener


def unreachable_port():
    """A port whose backlog is full, so a connect hangs (the SYN is dropped) instead of being refused."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    filler = socket.create_connection(listener.getsockname(), timeout=1)
    probe = socket.socket()
    probe.settimeout(0.2)
    try:
        probe.connect(listener.getsockname())
    except OSError:
        pass
    else:  # pragma: no cover - a kernel that does not drop SYNs on a full backlog
        for s in (probe, filler, listener):
            s.close()
        pytest.skip("this kernel answers connects beyond the backlog")
    probe.close()
    return listener, filler


# -- the deadline: silent, slow and endless servers ------------------------------------------------------


def test_a_port_that_accepts_but_never_answers(providers):
    with silent_port() as listener:
        port = listener.getsockname()[1]
        error, elapsed = fails(providers("segmind", f"http://127.0.0.1:{port}/v1"), AmbiguousError,
                               "accepts, never answers")
    assert TOO_SLOW in str(error) and "billed" in str(error)
    assert TIMEOUT * 0.9 < elapsed < LATE


def test_a_server_that_hangs_after_reading_the_request(fake, providers):
    fake.script({"hang": 30})
    error, elapsed = fails(providers("segmind", fake.base_url), AmbiguousError, "hang before headers")
    assert TOO_SLOW in str(error) and elapsed < LATE and len(fake.requests) == 1


def test_a_connect_that_never_completes_is_cut_at_the_deadline(providers):
    listener, filler = unreachable_port()
    with listener, filler:
        port = listener.getsockname()[1]
        error, elapsed = fails(providers("segmind", f"http://127.0.0.1:{port}/v1"), RetryableError,
                               "connect never completes")
    assert "cannot connect" in str(error) and elapsed < LATE


def test_headers_dripped_a_byte_at_a_time(fake, providers):
    fake.script({"drip_headers": 20})  # ~200 bytes of status line and headers: 10 s at 20 bytes a second
    error, elapsed = fails(providers("segmind", fake.base_url), AmbiguousError, "headers dripped")
    assert TOO_SLOW in str(error) and elapsed < LATE


def test_a_body_dripped_a_byte_at_a_time(fake, providers):
    fake.script({"drip": 20})
    error, elapsed = fails(providers("segmind", fake.base_url), AmbiguousError, "body dripped")
    assert TOO_SLOW in str(error) and "billed" in str(error) and elapsed < LATE


@pytest.mark.parametrize("ping", [": ping\n\n", "\n", ":\n"])
def test_keep_alives_forever_and_no_text(fake, providers, ping):
    fake.script({"chunks": [], "keepalive": ping, "chunk_delay": 0.005})
    error, elapsed = fails(providers("openai", fake.base_url), AmbiguousError, f"keep-alive {ping!r}, no text")
    assert TOO_SLOW in str(error) and elapsed < LATE


@pytest.mark.parametrize("chunked", [True, False])
def test_keep_alives_forever_after_some_text_keep_the_text(fake, providers, chunked):
    fake.script({"chunks": ["Hello", " world"], "keepalive": ": ping\n\n", "chunk_delay": 0.005,
                 "chunked": chunked})
    seen: list[str] = []
    with timed(f"keep-alive after text (chunked={chunked})") as elapsed:
        reply = providers("openai", fake.base_url).complete(MESSAGES, {}, Call(on_delta=seen.append))
    assert reply.content == "Hello world" and seen == ["Hello", " world"]
    assert reply.incomplete and STOPPED in reply.incomplete and elapsed[0] < LATE


@pytest.mark.parametrize("chunked", [True, False])
def test_a_stream_that_stalls_after_some_text_keeps_the_text(fake, providers, chunked):
    fake.script({"chunks": ["kept ", "never sent"], "stall": 30, "chunked": chunked})
    with timed(f"stall after text (chunked={chunked})") as elapsed:
        reply = providers("openai", fake.base_url).complete(MESSAGES)
    assert reply.content == "kept " and STOPPED in reply.incomplete and elapsed[0] < LATE


@pytest.mark.parametrize("kind", ["openai", "segmind"])
def test_a_stream_whose_text_keeps_coming_is_never_cut(fake, providers, kind):
    # 30 pieces, one every 0.1 s: 3 s of text against a 1 s timeout, each gap well inside it.
    pieces = [f"w{n} " for n in range(30)]
    fake.segmind_streams = True
    fake.script({"chunks": pieces, "chunk_delay": 0.1})
    with timed(f"text flowing for 3 s ({kind})") as elapsed:
        reply = providers(kind, fake.base_url, stream=True).complete(MESSAGES)
    assert reply.content == "".join(pieces) and reply.incomplete is None
    assert elapsed[0] > 2 * TIMEOUT  # it did run past the timeout


def test_a_stream_that_reasons_past_the_timeout_before_its_text_is_not_cut(fake, providers):
    # 20 pieces of reasoning, one every 0.1 s: 2 s of thinking against a 1 s timeout, then the reply's text.
    thoughts = [f"t{n} " for n in range(20)]
    fake.script({"reasoning": thoughts, "chunks": ["done"], "chunk_delay": 0.1})
    seen: list[str] = []
    with timed("reasoning for 2 s, then text") as elapsed:
        reply = providers("openai", fake.base_url).complete(MESSAGES, {}, Call(on_reasoning=seen.append))
    assert reply.content == "done" and reply.reasoning == "".join(thoughts) and reply.incomplete is None
    assert seen == thoughts and elapsed[0] > 1.5 * TIMEOUT  # it did run past the timeout


def test_empty_events_do_not_keep_a_stream_alive(fake, providers):
    """Chunks with no text (an empty delta, forever) are silence: the stream ends at the timeout."""
    fake.script({"chunks": ["some text"], "keepalive": 'data: {"choices":[{"delta":{"content":""}}]}\n\n',
                 "chunk_delay": 0.01})
    with timed("empty deltas after text") as elapsed:
        reply = providers("openai", fake.base_url).complete(MESSAGES)
    assert reply.content == "some text" and STOPPED in reply.incomplete and elapsed[0] < LATE


def test_only_a_provider_that_bills_speaks_of_billing(fake, providers):
    for kind, said, unsaid in (("segmind", "may already have been billed", "started on it"),
                               ("openai", "may already have started on it", "billed")):
        fake.script({"hang": 30})
        error, _ = fails(providers(kind, fake.base_url), AmbiguousError, f"hang ({kind})")
        assert said in str(error) and unsaid not in str(error) and "not resent" in str(error)


def test_an_endless_line_is_cut_at_the_deadline(fake, providers):
    fake.script({"endless_line": 200, "chunk_delay": 0.01})  # 20 kB a second, never a newline
    error, elapsed = fails(providers("openai", fake.base_url), AmbiguousError, "endless line, slow")
    assert TOO_SLOW in str(error) and elapsed < LATE


def test_an_endless_line_sent_fast_is_stopped_by_the_size_cap(fake, providers):
    fake.script({"endless_line": 256 * 1024, "chunk_delay": 0.001})
    error, elapsed = fails(providers("openai", fake.base_url, timeout=10), BadResponseError, "endless line, fast")
    assert elapsed < 5  # stopped by a bound on what is held, well before the 10 s deadline


def test_an_endless_gzip_body_is_cut_at_the_deadline(fake, providers):
    fake.script({"gzip_forever": 2000, "chunk_delay": 0.01})
    error, elapsed = fails(providers("segmind", fake.base_url), AmbiguousError, "endless gzip, slow")
    assert TOO_SLOW in str(error) and elapsed < LATE


def test_an_endless_gzip_body_sent_fast_is_stopped_by_the_size_cap(fake, providers):
    fake.script({"gzip_forever": 4 * 1024 * 1024, "chunk_delay": 0.001})  # megabytes a write once unpacked
    error, elapsed = fails(providers("segmind", fake.base_url, timeout=10), BadResponseError, "endless gzip, fast")
    assert "larger than" in str(error) and elapsed < 5


def test_a_gzip_bomb_never_unpacks_past_the_cap():
    bomb = gzip.compress(b"{" + b" " * (64 * 1024 * 1024))  # 64 MiB in about 64 kB
    transport = httpx.MockTransport(lambda request: httpx.Response(
        200, headers={"content-encoding": "gzip"}, content=iter([bomb[i:i + 65536]
                                                                 for i in range(0, len(bomb), 65536)])))
    provider = Segmind("https://api.example/v1", "m", KEY, transport=transport)
    tracemalloc.start()
    try:
        with pytest.raises(BadResponseError, match="larger than"):
            provider.complete(MESSAGES)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        provider.close()
    assert peak < 3 * MAX_BODY, f"held {peak / 2**20:.0f} MiB while unpacking"


def _packed(coding, data):
    if coding == "deflate (raw)":
        packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        return "deflate", packer.compress(data) + packer.flush()
    return coding, {"gzip": gzip.compress, "x-gzip": gzip.compress, "deflate": zlib.compress,
                    "identity": bytes}[coding](data)


@pytest.mark.parametrize("coding", ["gzip", "x-gzip", "deflate", "deflate (raw)", "identity"])
def test_compressed_bodies_are_unpacked_exactly_in_bounded_pieces(coding):
    text = "".join(f"{i} 🙂 " for i in range(200_000))  # about 2 MB unpacked: many pieces
    header, packed = _packed(coding, json.dumps({"choices": [{"message": {"content": text}}]}).encode())
    chunks = [packed[i:i + 777] for i in range(0, len(packed), 777)]
    transport = httpx.MockTransport(lambda request: httpx.Response(
        200, headers={"content-encoding": header}, content=iter(chunks)))
    provider = Segmind("https://api.example/v1", "m", KEY, transport=transport)
    try:
        assert provider.complete(MESSAGES).content == text
        assert provider.http.client.headers["accept-encoding"] == "gzip, deflate"  # only what is unpacked here
    finally:
        provider.close()


def test_an_encoding_that_is_not_unpacked_is_refused():
    transport = httpx.MockTransport(lambda request: httpx.Response(
        200, headers={"content-encoding": "br"}, content=b"\x0b\x02\x80{}\x03"))
    provider = Segmind("https://api.example/v1", "m", KEY, transport=transport)
    try:
        with pytest.raises(BadResponseError, match="encoding"):
            provider.complete(MESSAGES)
    finally:
        provider.close()


def test_the_deadline_spans_retries(fake, providers):
    fake.script({"status": 503, "headers": {"retry-after": "0.5"}}, {"hang": 30})
    error, elapsed = fails(providers("segmind", fake.base_url, timeout=1.5), AmbiguousError,
                           "retry after 0.5 s, then hang (timeout 1.5)")
    assert "took longer than the 1.5 s timeout" in str(error)
    assert len(fake.requests) == 2 and 1.3 < elapsed < 1.5 + 1.5  # not 0.5 + a fresh 1.5 s


# -- retry waits count against the same deadline ---------------------------------------------------------


@pytest.mark.parametrize("status", [503, 429])
def test_a_retry_after_past_the_deadline_is_not_waited(fake, providers, status):
    fake.script({"status": status, "headers": {"retry-after": "30"}, "error": "slow down"})
    error, elapsed = fails(providers("segmind", fake.base_url, timeout=2), RetryableError,
                           f"retry-after 30, timeout 2 ({status})")
    message = str(error)
    assert "busy" in message and str(status) in message and error.status == status
    assert "billed" not in message and "took longer" not in message
    assert elapsed < 1.5 and len(fake.requests) == 1  # not the 2 s deadline, nor the 30 s asked


def test_backoff_that_would_pass_the_deadline_is_not_started(fake, providers):
    fake.script(*[{"status": 503}] * 6)
    error, elapsed = fails(providers("segmind", fake.base_url, retries=5), RetryableError,
                           "backoff past the deadline")
    # the first backoff (0.375-0.5 s) fits in 1 s; the second (0.75-1 s) would pass the deadline
    assert "busy" in str(error) and "503" in str(error) and "billed" not in str(error)
    assert len(fake.requests) == 2 and elapsed < TIMEOUT


def test_a_reconnect_that_would_pass_the_deadline_says_it_cannot_connect(providers):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    error, elapsed = fails(providers("segmind", f"http://127.0.0.1:{port}/v1", timeout=0.6, retries=5),
                           RetryableError, "refused, backoff past the deadline")
    assert "cannot connect" in str(error) and "busy" not in str(error) and elapsed < 1.5  # 5 retries would not


# -- Ctrl-C: abort() from another thread ------------------------------------------------------------------


def aborted(provider, case, *, when_text=False):
    """Send with a call aborted from another thread, 0.3 s after the request (or its first text) went out."""
    trigger = threading.Event()
    call = Call(on_delta=lambda text: trigger.set()) if when_text else Call()
    if not when_text:
        trigger.set()
    with abort_when(trigger, call) as when, timed(case) as elapsed, pytest.raises(Cancelled) as info:
        provider.complete(MESSAGES, {}, call)
    late = time.monotonic() - when[0]
    print(f"[deadline] {case}: Cancelled {late:.3f} s after abort()")
    return info.value, late, elapsed[0]


def test_abort_while_waiting_for_headers(fake, providers):
    fake.script({"hang": 30})
    _, late, _ = aborted(providers("segmind", fake.base_url, timeout=30), "abort, no headers yet")
    assert late < AT_ONCE


def test_abort_on_a_port_that_never_answers(providers):
    with silent_port() as listener:
        port = listener.getsockname()[1]
        _, late, _ = aborted(providers("segmind", f"http://127.0.0.1:{port}/v1", timeout=30),
                             "abort, silent port")
    assert late < AT_ONCE


def test_abort_while_connecting(providers):
    listener, filler = unreachable_port()
    with listener, filler:
        port = listener.getsockname()[1]
        _, late, _ = aborted(providers("segmind", f"http://127.0.0.1:{port}/v1", timeout=30), "abort, connecting")
    assert late < AT_ONCE


def test_abort_while_the_body_drips(fake, providers):
    fake.script({"drip": 5})
    _, late, _ = aborted(providers("segmind", fake.base_url, timeout=30), "abort, body dripping")
    assert late < AT_ONCE


def test_abort_during_endless_keep_alives(fake, providers):
    fake.script({"chunks": [], "keepalive": ": ping\n\n", "chunk_delay": 0.05})
    _, late, _ = aborted(providers("openai", fake.base_url, timeout=30), "abort, keep-alives only")
    assert late < AT_ONCE


@pytest.mark.parametrize("chunked", [True, False])
def test_abort_during_a_stream_keeps_the_text_so_far(fake, providers, chunked):
    fake.script({"chunks": ["first ", "words", " never"], "chunk_delay": 0.01, "stall": 30, "chunked": chunked})
    error, late, _ = aborted(providers("openai", fake.base_url, timeout=30),
                             f"abort, stream stalled after text (chunked={chunked})", when_text=True)
    assert error.partial == "first " and late < AT_ONCE


def test_abort_during_a_stream_that_keeps_pinging(fake, providers):
    fake.script({"chunks": ["some ", "text"], "keepalive": ": ping\n\n", "chunk_delay": 0.01})
    error, late, _ = aborted(providers("openai", fake.base_url, timeout=30), "abort, stream pinging after text",
                             when_text=True)
    assert error.partial == "some text" and late < AT_ONCE


def test_after_an_abort_the_same_provider_still_works(fake, providers):
    provider = providers("openai", fake.base_url, timeout=30)
    fake.script({"chunks": ["a "], "stall": 30})
    aborted(provider, "abort, then ask again", when_text=True)
    with timed("the next request after an abort"):
        assert provider.complete(MESSAGES).content == "echo: hi"


# -- the same over TLS: abort() must shut the socket the TLS layer took over ---------------------------------

@pytest.fixture
def tls_server(tmp_path, monkeypatch):
    """Start an HTTPS server on loopback that reads a request, then answers `reply` or (None) nothing."""
    context = trusted(tmp_path, monkeypatch)
    servers = Loopback()

    def handle(conn, reply):
        with conn:
            try:
                tls = context.wrap_socket(conn, server_side=True)
                read_request(tls)
                if reply is not None:
                    tls.sendall(reply)
                servers.stopping.wait(30)
            except OSError:
                pass

    def start(reply=None):
        return f"https://127.0.0.1:{servers.serve(lambda conn: handle(conn, reply))}/v1"

    yield start
    servers.close()


def test_tls_works_through_the_guarded_connection(tls_server, providers):
    body = json.dumps({"choices": [{"message": {"content": "over TLS"}}]}).encode()
    url = tls_server(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
                     b"connection: close\r\n\r\n%s" % (len(body), body))
    assert providers("segmind", url).complete(MESSAGES).content == "over TLS"


def test_tls_server_that_never_answers(tls_server, providers):
    error, elapsed = fails(providers("segmind", tls_server()), AmbiguousError, "TLS, never answers")
    assert TOO_SLOW in str(error) and elapsed < LATE


def test_abort_while_a_tls_server_never_answers(tls_server, providers):
    _, late, _ = aborted(providers("segmind", tls_server(), timeout=30), "abort, TLS, no headers yet")
    assert late < AT_ONCE
