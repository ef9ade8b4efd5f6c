"""A self-signed certificate for 127.0.0.1: trusted by a test through SSL_CERT_FILE, presented by its servers."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path
from typing import Callable

import pytest

# A self-signed certificate for 127.0.0.1 (P-256, valid 2000-9999).
TLS_KEY = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgTv4UhzyhC8uCnfGE
Lu7FcwrY1kTj/BANrkVy6JvCr9ShRANCAAQZIInx45luMwp0OqrRrecmO5Ut7xFB
e4qZnwpQCuqysztUzwCmi5Kb1h0k51gctbLwCPwAZR54e2JhgC7r3Gcw
-----END PRIVATE KEY-----
"""
TLS_CERT = """-----BEGIN CERTIFICATE-----
MIIBgDCCASegAwIBAgIBATAKBggqhkjOPQQDAjAUMRIwEAYDVQQDDAkxMjcuMC4w
LjEwIBcNMDAwMTAxMDAwMDAwWhgPOTk5OTEyMzEyMzU5NTlaMBQxEjAQBgNVBAMM
CTEyNy4wLjAuMTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABBkgifHjmW4zCnQ6
qtGt5yY7lS3vEUF7ipmfClAK6rKzO1TPAKaLkpvWHSTnWBy1svAI/ABlHnh7YmGA
LuvcZzCjaDBmMA8GA1UdEwEB/wQFMAMBAf8wHQYDVR0OBBYEFGE/PLAwWxZ5tyQG
TNGjfJc/KecfMA8GA1UdEQQIMAaHBH8AAAEwDgYDVR0PAQH/BAQDAgKEMBMGA1Ud
JQQMMAoGCCsGAQUFBwMBMAoGCCqGSM49BAMCA0cAMEQCIFes3V6bqqR3yQ1hRmxl
v3PyJxyI48XLSWUp6cInBnQjAiBEa8aJXjn/0sVWVAdnZ3U2jsmK9x6qc9/vRr7D
XrPeDA==
-----END CERTIFICATE-----
"""


def trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """Trust the certificate for this test (SSL_CERT_FILE); the server's TLS context that presents it."""
    (tmp_path / "cert.pem").write_text(TLS_CERT)
    (tmp_path / "key.pem").write_text(TLS_KEY)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return context


class Loopback:
    """Servers on 127.0.0.1, each connection handed to handle(conn) in a thread of its own; close() stops them.
    A handler that waits does so on .stopping, which close() sets."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._listeners: list[socket.socket] = []

    def serve(self, handle: Callable[[socket.socket], None]) -> int:
        """A new server whose connections go to handle; its port."""
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(0.05)
        self._listeners.append(listener)

        def accept() -> None:
            while not self.stopping.is_set():
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                conn.settimeout(None)
                self._start(handle, conn)

        self._start(accept)
        return listener.getsockname()[1]

    def _start(self, target: Callable[..., None], *args: object) -> None:
        self._threads.append(threading.Thread(target=target, args=args))
        self._threads[-1].start()

    def close(self) -> None:
        self.stopping.set()
        for thread in list(self._threads):
            thread.join()
        for listener in self._listeners:
            listener.close()


def read_request(tls: ssl.SSLSocket) -> bytes:
    """A request's head, read up to its blank line (or until the client closes)."""
    request = b""
    while b"\r\n\r\n" not in request and (chunk := tls.recv(65536)):
        request += chunk
    return request
