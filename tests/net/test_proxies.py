"""Proxies the environment names carry requests as httpx would send them, under the same deadline and cancel."""

from __future__ import annotations

import json
import os
import select
import socket
import threading
import time

import pytest
from support.tls import Loopback, read_request, trusted

from segchat.errors import AmbiguousError, Cancelled
from segchat.model.call import Call
from segchat.net import http
from segchat.net.http import environment_proxies
from segchat.providers.segmind import Segmind

KEY = "test-key-12345"
MESSAGES = [{"role": "user", "content": "hi"}]
MODEL = "llama-v3p1-8b-instruct"


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch):
    """Only the proxies a test names: none of the machine's."""
    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)


@pytest.fixture
def providers():
    made = []

    def make(base_url, **kw):
        made.append(Segmind(base_url, MODEL, KEY, **kw))
        return made[-1]

    yield make
    for provider in made:
        provider.close()


def test_the_proxies_are_read_as_httpx_reads_them(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "proxy.example:3128")
    monkeypatch.setenv("https_proxy", "http://secure.example:8080")
    monkeypatch.setenv("NO_PROXY", "localhost, 10.0.0.1,::1, .internal.example,example.org,http://plain.example")
    assert environment_proxies() == {
        "http://": "http://proxy.example:3128", "https://": "http://secure.example:8080", "all://localhost": None,
        "all://10.0.0.1": None, "all://[::1]": None, "all://*.internal.example": None, "all://*example.org": None,
        "http://plain.example": None}
    monkeypatch.setenv("NO_PROXY", "*")
    assert environment_proxies() == {}


def test_an_http_proxy_carries_the_request(fake, providers, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{fake.port}")  # the fake answers as the proxy would
    reply = providers("http://segmind.invalid/v1", timeout=5).complete(MESSAGES)
    assert reply.content == "echo: hi"
    (request,) = fake.requests
    assert request.path == f"http://segmind.invalid/v1/{MODEL}" and request.headers["x-api-key"] == KEY


def test_no_proxy_exempts_a_host(fake, providers, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{dead}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert providers(fake.base_url, timeout=5).complete(MESSAGES).content == "echo: hi"


def test_the_deadline_holds_through_a_proxy(fake, providers, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{fake.port}")
    fake.script({"hang": 30})
    started = time.monotonic()
    with pytest.raises(AmbiguousError, match="took longer than the 1 s timeout"):
        providers("http://segmind.invalid/v1", timeout=1).complete(MESSAGES)
    assert time.monotonic() - started < 2.5


# -- an https:// proxy to an https:// server: TLS inside TLS -------------------------------------------------


@pytest.fixture
def tls_pair(tmp_path, monkeypatch):
    """An HTTPS server that answers `reply` (or, with None, nothing) and an https:// proxy that tunnels to it:
    yields start(reply) -> (server URL, proxy URL, the CONNECT lines the proxy was sent)."""
    context = trusted(tmp_path, monkeypatch)
    monkeypatch.setattr(http, "_contexts", {})  # a context made earlier would not trust this certificate
    servers, connects = Loopback(), []

    def start(reply):
        def answer(conn):
            with conn, context.wrap_socket(conn, server_side=True) as tls:
                read_request(tls)
                if reply is not None:
                    tls.sendall(reply)
                servers.stopping.wait(30)

        def tunnel(conn):
            with conn, context.wrap_socket(conn, server_side=True) as tls:
                head = b""
                while b"\r\n\r\n" not in head:
                    head += tls.recv(4096)
                connects.append(head.split(b"\r\n")[0].decode())
                host, port = head.split()[1].decode().rsplit(":", 1)
                with socket.create_connection((host, int(port))) as upstream:
                    tls.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    while not servers.stopping.is_set():
                        ready = [tls] if tls.pending() else select.select([tls, upstream], [], [], 0.05)[0]
                        for side in ready:
                            data = side.recv(65536)
                            if not data:
                                return
                            (upstream if side is tls else tls).sendall(data)

        server, proxy = servers.serve(answer), servers.serve(tunnel)
        return f"https://127.0.0.1:{server}/v1", f"https://127.0.0.1:{proxy}", connects

    yield start
    servers.close()


def test_an_https_proxy_tunnels_tls_inside_its_tls(tls_pair, providers, monkeypatch):
    body = json.dumps({"choices": [{"message": {"content": "through the tunnel"}}]}).encode()
    server, proxy, connects = tls_pair(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
                                       b"connection: close\r\n\r\n%s" % (len(body), body))
    monkeypatch.setenv("HTTPS_PROXY", proxy)
    assert providers(server, timeout=5).complete(MESSAGES).content == "through the tunnel"
    assert connects == [f"CONNECT {server.split('/')[2]} HTTP/1.1"]


def test_abort_through_an_https_proxy_is_at_once(tls_pair, providers, monkeypatch):
    server, proxy, connects = tls_pair(None)
    monkeypatch.setenv("HTTPS_PROXY", proxy)
    call = Call()
    threading.Timer(0.5, call.abort).start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        providers(server, timeout=30).complete(MESSAGES, {}, call)
    assert time.monotonic() - started < 10 and len(connects) == 1  # not the 30 s timeout
