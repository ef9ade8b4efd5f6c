"""The loopback server's OpenAI-compatible side, driven with plain httpx so client tests can trust it."""

from __future__ import annotations

import json

import httpx
import pytest

MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello there world"}]


def chat(**body):
    return {"model": "llama3.1:8b", "messages": MESSAGES, "temperature": 0.2, **body}


def sse_blocks(raw: bytes) -> list[str]:
    # split on blank lines ourselves: httpx's iter_lines also breaks on U+2028
    return [block.decode() for block in raw.split(b"\n\n") if block]


def data_of(blocks: list[str]) -> list[str]:
    return [b.removeprefix("data: ") for b in blocks if b.startswith("data: ")]


def stream(url: str, body: dict, **kw) -> tuple[httpx.Response, bytes]:
    with httpx.Client(timeout=5) as client, client.stream("POST", url, json=body, **kw) as resp:
        return resp, b"".join(resp.iter_raw())


def test_non_streamed_completion_echoes_model_and_bills_nothing(fake):
    balance = fake.balance
    resp = httpx.post(fake.base_url + "/chat/completions", json=chat(), headers={"authorization": "Bearer x"})
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/json"
    body = resp.json()
    assert body["model"] == "llama3.1:8b" and body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "echo: hello there world"}
    assert body["usage"]["total_tokens"] > 0
    assert "x-remaining-credits" not in resp.headers and fake.balance == balance
    (seen,) = fake.chat_requests()
    assert seen.path == "/v1/chat/completions" and seen.body["temperature"] == 0.2
    assert seen.headers["authorization"] == "Bearer x" and fake.stream_requests() == []


def test_openai_errors_are_nested_and_headers_scriptable(fake):
    fake.script({"status": 429, "error": "slow down", "headers": {"retry-after": "1"}},
                {"content": "ok", "headers": {"x-remaining-credits": "3.5"}})
    resp = httpx.post(fake.base_url + "/chat/completions", json=chat())
    assert resp.status_code == 429 and resp.headers["retry-after"] == "1"
    assert resp.json() == {"error": {"message": "slow down", "type": "invalid_request_error"}}
    resp = httpx.post(fake.base_url + "/chat/completions", json=chat())
    assert resp.json()["choices"][0]["message"]["content"] == "ok" and resp.headers["x-remaining-credits"] == "3.5"


def test_stream_sends_role_words_finish_usage_then_done(fake):
    resp, raw = stream(fake.base_url + "/chat/completions",
                       chat(stream=True, stream_options={"include_usage": True}))
    assert resp.headers["content-type"] == "text/event-stream"
    assert resp.headers["transfer-encoding"] == "chunked" and "x-remaining-credits" not in resp.headers
    data = data_of(sse_blocks(raw))
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == "llama3.1:8b" for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant"}
    pieces = [c["choices"][0]["delta"]["content"] for c in chunks[1:-2]]
    assert len(pieces) == 4 and "".join(pieces) == "echo: hello there world"
    assert chunks[-2]["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "stop"}
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    assert len(fake.stream_requests()) == 1


def test_stream_scripted_chunks_and_finish_reason_without_usage(fake):
    fake.script({"chunks": ["héllo", " wörld", "\n"], "finish_reason": "length"})
    _, raw = stream(fake.base_url + "/chat/completions", chat(stream=True))
    chunks = [json.loads(d) for d in data_of(sse_blocks(raw))[:-1]]
    assert [c["choices"][0]["delta"].get("content") for c in chunks] == [None, "héllo", " wörld", "\n", None]
    assert chunks[-1]["choices"][0]["finish_reason"] == "length" and "usage" not in chunks[-1]


def test_reasoning_comes_apart_from_the_content_whole_and_streamed(fake):
    fake.script({"content": "", "reasoning": "Let me think. Done.", "finish_reason": "length"},
                {"content": "42", "reasoning": ["6 times", " 7"]})
    body = httpx.post(fake.base_url + "/chat/completions", json=chat()).json()
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "", "reasoning_content":
                                             "Let me think. Done."}
    assert body["choices"][0]["finish_reason"] == "length"
    _, raw = stream(fake.base_url + "/chat/completions", chat(stream=True))
    deltas = [json.loads(d)["choices"][0]["delta"] for d in data_of(sse_blocks(raw))[:-1]]
    assert deltas == [{"role": "assistant"}, {"reasoning_content": "6 times", "content": None},
                      {"reasoning_content": " 7", "content": None}, {"content": "42"}, {}]


def test_bearer_is_required_when_set_and_401_keeps_the_script(fake):
    fake.bearer = "sk-right"
    fake.script({"content": "scripted"})
    for headers in ({}, {"authorization": "Bearer sk-wrong"}, {"x-api-key": "sk-right"}):
        resp = httpx.post(fake.base_url + "/chat/completions", json=chat(), headers=headers)
        assert resp.status_code == 401
        assert resp.json() == {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}
    resp = httpx.post(fake.base_url + "/chat/completions", json=chat(), headers={"authorization": "Bearer sk-right"})
    assert resp.status_code == 200 and resp.json()["choices"][0]["message"]["content"] == "scripted"
    assert len(fake.chat_requests()) == 4


def test_models_lists_ids_respects_bearer_and_can_be_absent(fake):
    resp = httpx.get(fake.base_url + "/models")
    assert resp.json() == {"object": "list", "data": [
        {"id": "llama3.1:8b", "object": "model", "created": 0, "owned_by": "fake"},
        {"id": "meta-llama/Llama-3.1-8B-Instruct", "object": "model", "created": 0, "owned_by": "fake"}]}
    fake.bearer = "sk-right"
    assert httpx.get(fake.base_url + "/models").status_code == 401
    fake.models = ["only"]
    resp = httpx.get(fake.base_url + "/models", headers={"authorization": "Bearer sk-right"})
    assert [m["id"] for m in resp.json()["data"]] == ["only"]
    fake.models = None
    assert httpx.get(fake.base_url + "/models", headers={"authorization": "Bearer sk-right"}).status_code == 404
    assert [r.path for r in fake.requests] == ["/v1/models"] * 4


def test_cut_after_drops_without_done(fake):
    fake.script({"chunks": ["a", "b", "c", "d"], "cut_after": 2},
                {"chunks": ["a", "b"], "cut_after": 1, "chunked": False})
    got = b""
    with pytest.raises(httpx.RemoteProtocolError), httpx.Client(timeout=5) as client:
        with client.stream("POST", fake.base_url + "/chat/completions", json=chat(stream=True)) as resp:
            for part in resp.iter_raw():
                got += part
    contents = [json.loads(d)["choices"][0]["delta"].get("content") for d in data_of(sse_blocks(got))]
    assert contents == [None, "a", "b"]
    # close-delimited: the cut looks like a clean end, only the missing [DONE] tells
    resp, raw = stream(fake.base_url + "/chat/completions", chat(stream=True))
    assert "transfer-encoding" not in resp.headers and b"[DONE]" not in raw and raw.count(b"data: ") == 2


def test_stream_error_event_ends_the_stream(fake):
    fake.script({"chunks": ["partial "], "stream_error": "overloaded"})
    _, raw = stream(fake.base_url + "/chat/completions", chat(stream=True))
    blocks = sse_blocks(raw)
    assert blocks[-1] == 'event: error\ndata: {"error": {"message": "overloaded"}}'
    assert b"[DONE]" not in raw and b"finish_reason\": \"stop" not in raw and len(blocks) == 3


def test_raw_sse_is_byte_exact(fake):
    euro = "€".encode()
    items = [b'data: {"choices":[{"delta":{"content":"' + euro[:1], euro[1:] + b'"}}]}\n\n',
             'data: {"choices":[{"delta":{"content":"a\u2028b"}}]}\n\n', "data: [DONE]\n\n"]
    fake.script({"raw_sse": items, "headers": {"x-trace": "1"}})
    resp, raw = stream(fake.base_url + "/chat/completions", chat())  # raw_sse streams even unasked
    assert resp.headers["x-trace"] == "1"
    assert raw == b"".join(i.encode() if isinstance(i, str) else i for i in items)


def test_stall_holds_the_stream_after_first_content_chunk(fake):
    fake.script({"chunks": ["first", "second"], "stall": 30})
    got = b""
    with pytest.raises(httpx.ReadTimeout), httpx.Client(timeout=httpx.Timeout(5, read=0.3)) as client:
        with client.stream("POST", fake.base_url + "/chat/completions", json=chat(stream=True)) as resp:
            for part in resp.iter_raw():
                got += part
    assert b'"first"' in got and b'"second"' not in got


def test_streams_keep_the_connection_alive(fake):
    with httpx.Client(timeout=5) as client:
        for _ in range(2):
            with client.stream("POST", fake.base_url + "/chat/completions", json=chat(stream=True)) as resp:
                assert resp.read().endswith(b"data: [DONE]\n\n")
    assert fake.requests[0].peer == fake.requests[1].peer


def test_segmind_path_ignores_stream_unless_segmind_streams(fake):
    url = fake.base_url + "/llama-v3p1-8b-instruct"
    resp = httpx.post(url, json=chat(stream=True), headers={"x-api-key": "k"})
    assert resp.headers["content-type"] == "application/json" and "x-remaining-credits" in resp.headers
    assert resp.json()["choices"][0]["message"]["content"] == "echo: hello there world"
    fake.segmind_streams = True
    resp, raw = stream(url, chat(stream=True), headers={"x-api-key": "k"})
    assert resp.headers["content-type"] == "text/event-stream" and "x-remaining-credits" in resp.headers
    assert data_of(sse_blocks(raw))[-1] == "[DONE]"


def test_a_family_s_reply_is_in_that_family_s_own_shape_on_v1_and_through_the_queue(fake):
    """As on Segmind's model pages, with only the keys that family's reply has at the top."""
    headers = {"x-api-key": "k"}
    fake.script({"family": "anthropic", "content": "Hi.", "finish_reason": "max_tokens"},
                {"family": "gemini", "content": "Hi.", "reasoning": "Greeting.", "usage": False})
    claude = httpx.post(fake.base_url + "/claude-4.5-sonnet", json=chat(), headers=headers).json()
    assert claude["content"] == [{"type": "text", "text": "Hi."}] and claude["stop_reason"] == "max_tokens"
    assert set(claude["usage"]) == {"input_tokens", "output_tokens"} and "choices" not in claude
    gemini = httpx.post(fake.base_url + "/gemini-2.5-flash", json=chat(), headers=headers).json()
    (candidate,) = gemini["candidates"]
    assert candidate["content"] == {"parts": [{"text": "Greeting.", "thought": True}, {"text": "Hi."}], "role": "model"}
    assert candidate["finishReason"] == "STOP" and "usageMetadata" not in gemini and "choices" not in gemini
    fake.script_jobs({"states": ["COMPLETED"], "family": "gemini"})
    job = httpx.post(fake.base_url[:-3] + "/v2/gemini-2.5-flash", json=chat(), headers=headers).json()
    output = json.loads(httpx.get(job["response_url"], headers=headers).json()["output"])  # a JSON string
    assert output["candidates"][0]["content"]["parts"] == [{"text": "queued echo: hello there world"}]
    assert output["usageMetadata"]["promptTokenCount"] == 10
