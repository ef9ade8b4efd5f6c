"""One TLS context per process, with certificates loaded only for https:// servers."""

from __future__ import annotations

import ssl

from segchat.net.http import Http
from segchat.providers.openai_compat import OpenAI
from segchat.providers.segmind import Segmind


def context_of(http: Http) -> ssl.SSLContext:
    assert http.client is not None  # built on first use, and the transport with it
    return http.transport.ssl_context


def test_clients_share_one_verified_context():
    first, second = Http(), Http()
    try:
        shared = context_of(first)
        assert context_of(second) is shared
        assert shared.verify_mode == ssl.CERT_REQUIRED and shared.check_hostname
        assert shared.cert_store_stats()["x509_ca"] > 0  # the certificates are loaded
    finally:
        first.close(), second.close()


def test_a_server_at_an_http_address_loads_no_certificates_and_verifies_anyway():
    for provider in (Segmind("http://127.0.0.1:9/v1", "m", "key-12345678"), OpenAI("http://localhost:9/v1", "m", None)):
        try:
            context = context_of(provider.http)
            assert context.cert_store_stats()["x509_ca"] == 0
            # Should an https:// address ever come up, the handshake fails: nothing is trusted, nothing unverified.
            assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
        finally:
            provider.close()
    remote = Segmind("https://api.segmind.com/v1", "m", "key-12345678")
    try:
        assert context_of(remote.http).cert_store_stats()["x509_ca"] > 0
    finally:
        remote.close()
