"""The HTTP client against a real loopback server and in-process transports."""

from __future__ import annotations

import json
import socket
import threading
from decimal import Decimal

import httpx
import pytest
from support.fakeserver import FakeSegmind

from segchat.errors import (
    AmbiguousError,
    APIError,
    AuthError,
    BadResponseError,
    Cancelled,
    MethodError,
    NotFoundError,
    RedirectError,
    RetryableError,
)
from segchat.model.call import Call
from segchat.net.http import MAX_BODY
from segchat.providers.segmind import Segmind
from segchat.text.redact import register_secret

KEY = "test-key-12345"
MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def client(fake, sleeps):
    register_secret(KEY)
    c = Segmind(fake.base_url, "llama-v3p1-8b-instruct", KEY, timeout=3.0, sleep=sleeps.append,
                   key_source="environment variable SEGMIND_API_KEY")
    yield c
    c.close()


def test_success_sends_key_messages_and_sampling(client, fake):
    reply = client.complete(MESSAGES, {"temperature": 0.2, "max_tokens": 50})
    assert reply.content == "echo: hi"
    assert reply.credits == Decimal("9.9875") and reply.credits_raw is None
    assert reply.usage["total_tokens"] > 0 and reply.finish_reason == "stop"
    (request,) = fake.requests
    assert request.path == "/v1/llama-v3p1-8b-instruct"
    assert request.headers["x-api-key"] == KEY
    assert request.body == {"messages": MESSAGES, "temperature": 0.2, "max_tokens": 50}


@pytest.mark.parametrize("status, error_type, needle", [
    (401, AuthError, "SEGMIND_API_KEY"),
    (404, NotFoundError, "llama-v3p1-8b-instruct"),
    (405, MethodError, "405"),
    (406, APIError, "406"),  # its text tells what more: see tests/providers
    (400, APIError, "400"),
])
def test_client_errors_are_typed_and_not_retried(client, fake, status, error_type, needle):
    fake.script({"status": status, "error": "server says no"})
    with pytest.raises(error_type) as info:
        client.complete(MESSAGES)
    assert needle in str(info.value) and "server says no" in str(info.value)
    assert KEY not in str(info.value)
    assert len(fake.requests) == 1


def test_server_error_is_retried_then_succeeds(client, fake, sleeps):
    fake.script({"status": 500}, {"status": 503})
    assert client.complete(MESSAGES).content == "echo: hi"
    assert len(fake.requests) == 3 and len(sleeps) == 2
    assert 0.375 <= sleeps[0] <= 0.5 and 0.75 <= sleeps[1] <= 1.0  # jittered exponential backoff


def test_server_error_gives_up_after_retries(client, fake, sleeps):
    fake.script(*[{"status": 502, "body": "<html><body><h1>502 Bad Gateway</h1></body></html>",
                   "content_type": "text/html"}] * 3)
    with pytest.raises(RetryableError) as info:
        client.complete(MESSAGES)
    assert "502" in str(info.value) and "Bad Gateway" in str(info.value) and "<h1>" not in str(info.value)
    assert "3 attempts" in str(info.value)
    assert len(fake.requests) == 3


@pytest.mark.parametrize("header, expected", [("2", 2.0), ("0.5", 0.5)])
def test_retry_after_is_honoured(client, fake, sleeps, header, expected):
    fake.script({"status": 429, "headers": {"retry-after": header}})
    client.complete(MESSAGES)
    assert sleeps == [expected] and len(fake.requests) == 2


def test_retry_after_too_long_is_reported_not_waited(client, fake, sleeps):
    fake.script({"status": 429, "headers": {"retry-after": "3600"}, "error": "slow down"})
    with pytest.raises(RetryableError, match="wait 3600"):
        client.complete(MESSAGES)
    assert sleeps == [] and len(fake.requests) == 1


@pytest.mark.parametrize("header", ["garbage", "-5", "Wed, 21 Oct 2015 07:28:00 GMT"])
def test_unusable_retry_after_falls_back_to_backoff(client, fake, sleeps, header):
    fake.script({"status": 503, "headers": {"retry-after": header}})
    client.complete(MESSAGES)
    assert len(sleeps) == 1 and 0.375 <= sleeps[0] <= 0.5


def test_connection_refused_is_retried_then_reported(sleeps):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    c = Segmind(f"http://127.0.0.1:{port}/v1", "m", KEY, sleep=sleeps.append)
    with pytest.raises(RetryableError, match="cannot connect.*3 times"):
        c.complete(MESSAGES)
    assert len(sleeps) == 2


def test_read_timeout_is_not_retried(fake, sleeps):
    c = Segmind(fake.base_url, "m", KEY, timeout=0.5, sleep=sleeps.append)
    fake.script({"hang": 5})
    with pytest.raises(AmbiguousError, match="billed"):
        c.complete(MESSAGES)
    assert len(fake.requests) == 1 and sleeps == []


def test_a_question_that_bills_nothing_says_nothing_of_billing(fake, sleeps):
    """A GET (the balance, a queued job's state) is never billed: its timeout says the server may have started on
    it, not that it may have been billed."""
    c = Segmind(fake.base_url, "m", KEY, timeout=0.5, sleep=sleeps.append)
    fake.script({"for": "credits", "hang": 5})
    with pytest.raises(AmbiguousError, match="may already have started on it") as info:
        c.balance()
    assert "billed" not in str(info.value)


def test_dropped_connection_is_not_retried(client, fake, sleeps):
    fake.script({"drop": True})
    with pytest.raises(AmbiguousError, match="may already have been billed"):
        client.complete(MESSAGES)
    assert len(fake.requests) == 1 and sleeps == []


def test_truncated_body_is_reported(client, fake):
    fake.script({"body": json.dumps({"choices": [{"message": {"content": "x" * 100}}]}), "truncate": 13})
    with pytest.raises(AmbiguousError, match="dropped before the reply was complete"):
        client.complete(MESSAGES)
    assert len(fake.requests) == 1


@pytest.mark.parametrize("action, needle", [
    ({"body": "<html><title>Oops</title><body>Proxy error</body></html>", "content_type": "text/html"},
     "HTML page.*Proxy error"),
    ({"body": "{not json"}, "invalid JSON"),
    ({"choices": []}, "no choices"),
    ({"message": {"role": "assistant", "content": None}}, r"no reply text \(stop reason: stop\)"),
    ({"message": {"role": "assistant"}}, "no choices"),
])
def test_unusable_success_bodies(client, fake, action, needle):
    fake.script(action)
    with pytest.raises(BadResponseError, match=needle):
        client.complete(MESSAGES)


def test_redirect_is_not_followed(client, fake):
    other = FakeSegmind().start()
    try:
        fake.script({"status": 307, "headers": {"location": other.base_url + "/x"}, "body": ""})
        with pytest.raises(RedirectError, match="does not follow"):
            client.complete(MESSAGES)
        assert other.requests == []
    finally:
        other.stop()


@pytest.mark.parametrize("at", [100, 110, 115, 118])
def test_a_redirect_to_the_key_shows_none_of_it(client, fake, at):
    location = "https://elsewhere.example/" + "p" * (at - 31) + "?key=" + KEY  # the key at at, across the cut
    assert location.index(KEY) == at
    fake.script({"status": 302, "headers": {"location": location}, "body": ""})
    with pytest.raises(RedirectError) as info:
        client.complete(MESSAGES)
    assert KEY[:4] not in str(info.value) and "elsewhere.example" in str(info.value)


def test_unparsable_credits_header(client, fake):
    fake.script({"credits": "abc"})
    reply = client.complete(MESSAGES)
    assert reply.credits is None and reply.credits_raw == "abc" and reply.content == "echo: hi"


def test_missing_credits_header(client, fake):
    fake.script({"credits": None})
    reply = client.complete(MESSAGES)
    assert reply.credits is None and reply.credits_raw is None


def test_one_connection_is_reused(client, fake):
    for _ in range(3):
        client.complete(MESSAGES)
    assert len({r.peer for r in fake.requests}) == 1


def test_body_size_is_capped():
    big = b'{"choices": [{"message": {"content": "' + b"x" * (MAX_BODY + 10) + b'"}}]}'
    chunks = [big[i:i + 65536] for i in range(0, len(big), 65536)]
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=iter(chunks)))
    c = Segmind("https://api.example/v1", "m", KEY, transport=transport)
    with pytest.raises(BadResponseError, match="larger than"):
        c.complete(MESSAGES)


def test_stream_is_read_exactly(client, fake):
    emoji = "🙂".encode()
    fake.script({"sse": [": keep-alive\n\n", "line\u2028sep ", b'data: {"choices":[{"delta":{"content":"' + emoji[:2],
                         emoji[2:] + b'"}}]}\n\n', "data: [DONE]\n\n"]})
    reply = client.complete(MESSAGES)
    assert reply.content == "line\u2028sep 🙂" and reply.incomplete is None


def test_stream_error_keeps_partial_marked_incomplete(client, fake):
    fake.script({"sse": ["partial ", 'event: error\ndata: {"error": "overloaded"}\n\n']})
    reply = client.complete(MESSAGES)
    assert reply.content == "partial " and "overloaded" in reply.incomplete


def test_stream_without_done_is_incomplete(client, fake):
    fake.script({"sse": ["cut "]})
    assert "ended before" in client.complete(MESSAGES).incomplete


def test_balance(client, fake):
    balance = client.balance()
    assert balance.credits == Decimal("10") and balance.free == Decimal("0.5")
    assert fake.requests[0].path == "/v1/get-user-credits"


def test_cancel_before_send():
    cancel = threading.Event()
    cancel.set()
    c = Segmind("https://api.example/v1", "m", KEY,
                   transport=httpx.MockTransport(lambda r: httpx.Response(200, json={})))
    with pytest.raises(Cancelled):
        c.complete(MESSAGES, call=Call(cancel=cancel))


def test_compressed_bodies_are_decoded():
    import gzip
    body = gzip.compress(json.dumps({"choices": [{"message": {"content": "zipped"}}]}).encode())
    transport = httpx.MockTransport(lambda request: httpx.Response(
        200, headers={"content-encoding": "gzip", "x-remaining-credits": "1.5"}, content=iter([body])))
    reply = Segmind("https://api.example/v1", "m", KEY, transport=transport).complete(MESSAGES)
    assert reply.content == "zipped" and reply.credits == Decimal("1.5")
