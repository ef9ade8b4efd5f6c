"""Both providers against the loopback server: what goes on the wire, what comes back, how errors read."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from segchat.config.settings import Config
from segchat.errors import AuthError, Cancelled, NotFoundError, RetryableError, UsageError
from segchat.model.call import Call
from segchat.providers import configured
from segchat.providers.openai_compat import OpenAI
from segchat.providers.segmind import Segmind

KEY = "test-key-12345"
MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]


@pytest.fixture
def local(fake):
    """An OpenAI-compatible server that needs no key, as llama.cpp or Ollama on this machine."""
    provider = OpenAI(fake.base_url, "llama3.1:8b", None, timeout=5.0, stream=False,
                      key_hint="add api_key to [profiles.local]", sleep=lambda s: None)
    yield provider
    provider.close()


def test_segmind_requests_are_what_they_always_were(fake):
    provider = Segmind(fake.base_url, "llama-v3p1-8b-instruct", KEY, timeout=5.0)
    provider.complete(MESSAGES, {"temperature": 0.2})
    (request,) = fake.requests
    assert request.path == "/v1/llama-v3p1-8b-instruct"
    assert request.body == {"messages": MESSAGES, "temperature": 0.2}  # no model, no stream field
    assert request.headers["x-api-key"] == KEY and "authorization" not in request.headers
    assert set(request.headers) == {"host", "accept", "accept-encoding", "connection", "user-agent", "x-api-key",
                                    "content-length", "content-type"}
    assert request.headers["accept"] == "application/json" and request.headers["user-agent"].startswith("segchat/")


def test_openai_posts_model_and_messages_to_chat_completions_without_a_key(local, fake):
    reply = local.complete(MESSAGES, {"temperature": 0.2, "max_tokens": 9})
    assert reply.content == "echo: hi" and reply.credits is None
    (request,) = fake.requests
    assert request.path == "/v1/chat/completions"
    assert request.body == {"model": "llama3.1:8b", "messages": MESSAGES, "temperature": 0.2, "max_tokens": 9}
    assert "authorization" not in request.headers and "x-api-key" not in request.headers


def test_openai_sends_a_bearer_key_only_when_configured(fake):
    fake.bearer = "local-secret-1"
    with_key = OpenAI(fake.base_url, "m", "local-secret-1", stream=False)
    assert with_key.complete(MESSAGES).content == "echo: hi"
    assert fake.requests[-1].headers["authorization"] == "Bearer local-secret-1"
    assert "x-api-key" not in fake.requests[-1].headers


def test_openai_401_talks_about_this_profiles_key(local, fake):
    fake.bearer = "needed-key-1"
    with pytest.raises(AuthError) as missing:
        local.complete(MESSAGES)
    text = str(missing.value)
    assert fake.base_url in text and "asks for an API key" in text and "[profiles.local]" in text
    assert "SEGMIND" not in text
    wrong = OpenAI(fake.base_url, "m", "wrong-key-123", key_source="config file c.toml, profile local",
                   stream=False)
    with pytest.raises(AuthError, match="rejected the API key .* profile local") as rejected:
        wrong.complete(MESSAGES)
    assert "wrong-key-123" not in str(rejected.value) or "***" in str(rejected.value)


def test_openai_404_names_url_and_model(local, fake):
    fake.script({"status": 404, "error": {"message": "model 'llama3.1:8b' not found"}})
    with pytest.raises(NotFoundError) as info:
        local.complete(MESSAGES)
    assert f"{fake.base_url}/chat/completions" in str(info.value) and "llama3.1:8b" in str(info.value)


def test_connection_refused_names_the_base_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    provider = OpenAI(f"http://127.0.0.1:{port}/v1", "m", None, retries=1, sleep=lambda s: None)
    with pytest.raises(RetryableError, match=f"cannot connect to http://127.0.0.1:{port}") as info:
        provider.complete(MESSAGES)
    assert f"is the server at http://127.0.0.1:{port}/v1 running?" in str(info.value)


def test_model_ids_come_from_the_server(local, fake):
    assert local.models() == ["llama3.1:8b", "meta-llama/Llama-3.1-8B-Instruct"]
    fake.models = None
    with pytest.raises(NotFoundError):
        local.models()


def test_streamed_reply_reaches_on_delta_piece_by_piece(fake):
    provider = OpenAI(fake.base_url, "m", None)  # stream defaults to true for openai
    fake.script({"chunks": ["Hel", "lo ", "wor", "ld"], "usage": {"prompt_tokens": 5, "completion_tokens": 4,
                                                                   "total_tokens": 9}})
    pieces: list[str] = []
    reply = provider.complete(MESSAGES, {}, Call(on_delta=pieces.append))
    assert pieces == ["Hel", "lo ", "wor", "ld"] and reply.content == "Hello world"
    assert reply.streamed and reply.finish_reason == "stop" and reply.usage["total_tokens"] == 9
    body = fake.requests[0].body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_a_server_that_streams_unasked_is_read_as_a_stream(fake):
    provider = Segmind(fake.base_url, "llama-v3p1-8b-instruct", KEY)
    fake.script({"sse": ["one ", "two"]})
    pieces: list[str] = []
    reply = provider.complete(MESSAGES, {}, Call(on_delta=pieces.append))
    assert reply.content == "one two" and pieces == ["one ", "two"] and reply.streamed
    assert "stream" not in fake.requests[0].body


def test_a_stream_cut_midway_keeps_its_text_marked_incomplete(fake):
    provider = OpenAI(fake.base_url, "m", None)
    fake.script({"chunks": ["a", "b", "c", "d"], "cut_after": 2})
    reply = provider.complete(MESSAGES)
    assert reply.content == "ab" and reply.incomplete


def test_an_error_event_keeps_the_text_before_it(fake):
    provider = OpenAI(fake.base_url, "m", None)
    fake.script({"chunks": ["partial ", "answer"], "stream_error": "the model crashed"})
    reply = provider.complete(MESSAGES)
    assert reply.content == "partial answer" and "the model crashed" in reply.incomplete


def test_abort_during_a_stalled_stream_returns_the_text_so_far_at_once(fake):
    provider = OpenAI(fake.base_url, "m", None, timeout=30)
    fake.script({"chunks": ["first ", "second"], "stall": 20})
    call = Call(on_delta=lambda text: threading.Timer(0.2, call.abort).start())
    started = time.monotonic()
    with pytest.raises(Cancelled) as info:
        provider.complete(MESSAGES, {}, call)
    assert info.value.partial == "first " and time.monotonic() - started < 2


def test_build_picks_the_provider_and_never_sends_a_key_it_was_not_given(fake):
    config = Config(base_url=fake.base_url, model="llama3.1:8b", provider="openai", stream=True)
    provider = configured.build(config)
    assert isinstance(provider, OpenAI) and provider.stream and not provider.has_credits
    provider.complete(MESSAGES)
    assert "authorization" not in fake.requests[0].headers
    segmind = configured.build(Config(base_url=fake.base_url, model="llama-v3p1-8b-instruct", api_key=KEY))
    assert isinstance(segmind, Segmind) and segmind.has_credits and not segmind.stream


def test_what_a_provider_lacks_it_declares_and_refuses():
    segmind, local = Segmind("http://127.0.0.1:9/v1", "m", KEY), OpenAI("http://127.0.0.1:9/v1", "m", None)
    job = {"request_id": "r1", "status_url": "http://127.0.0.1:9/s", "response_url": "http://127.0.0.1:9/r"}
    try:
        assert (segmind.has_credits, segmind.lists_models, segmind.recovers_jobs) == (True, False, True)
        assert (local.has_credits, local.lists_models, local.recovers_jobs) == (False, True, False)
        with pytest.raises(UsageError):
            segmind.models(Call())
        with pytest.raises(UsageError):
            local.balance(Call())
        with pytest.raises(UsageError):
            local.resume(job, Call())
    finally:
        segmind.close(), local.close()
