"""Parsing what the server sends, without any HTTP."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from email.utils import formatdate

import pytest

from segchat.errors import AmbiguousError, BadResponseError, Cancelled
from segchat.net import decoding
from segchat.net.http import retry_after
from segchat.net.sse import sse_events


@pytest.mark.parametrize("raw, value", [
    ("9.9875", Decimal("9.9875")), (" 0.00042 ", Decimal("0.00042")), ("abc", None), ("", None), (None, None),
    ("NaN", None), ("Infinity", None), (3, Decimal(3)), (True, None), (0.1, Decimal("0.1"))])
def test_parse_credits(raw, value):
    assert decoding.parse_credits(raw) == value


def test_retry_after_forms():
    assert retry_after("2") == 2.0
    assert retry_after("-5") is None and retry_after("soon") is None and retry_after(None) is None
    future = retry_after(formatdate(time.time() + 30, usegmt=True))
    assert future is not None and 25 < future <= 31


def test_error_detail_shapes():
    assert decoding.error_detail(b'{"error": "Invalid key"}') == "Invalid key"
    assert decoding.error_detail(b'{"error": {"message": "nested"}}') == "nested"
    assert decoding.error_detail(b"<html><script>x()</script><h1>Bad Gateway</h1></html>") == "Bad Gateway"
    assert decoding.error_detail(b"") == "(empty body)"
    assert decoding.error_detail(b"x" * 500).endswith("…") and len(decoding.error_detail(b"x" * 500)) == 201


def test_completion_requires_text():
    body = {"choices": [{"message": {"content": "hi"}, "finish_reason": "length"}], "usage": {"total_tokens": 3}}
    reply = decoding.completion(json.dumps(body).encode(), 200)
    assert (reply.content, reply.finish_reason, reply.usage) == ("hi", "length", {"total_tokens": 3})
    for bad in ({"choices": "x"}, [], {"choices": [{"message": {"content": ["a"]}}]}):
        with pytest.raises(BadResponseError):
            decoding.completion(json.dumps(bad).encode(), 200)


def test_sse_events_split_on_newlines_only():
    chunks = [b'data: {"a": "x\xe2\x80', b'\xa8y"}\r\n\r\n', b": comment\n\nevent: error\ndata: 1\ndata: 2\n\n"]
    assert list(sse_events(chunks)) == [("message", '{"a": "x\u2028y"}'), ("error", "1\n2")]


def _events(count, then=None):
    for _ in range(count):
        yield "message", json.dumps({"choices": [{"delta": {"content": "ab"}}]})
    if then is not None:
        raise then


def test_stream_passes_each_piece_on_and_keeps_text_when_cut_off():
    seen = []
    reply = decoding.stream(_events(2, AmbiguousError("the connection dropped")), 200, seen.append)
    assert seen == ["ab", "ab"] and reply.content == "abab" and reply.streamed
    assert reply.incomplete == "the connection dropped"


def test_a_cancelled_stream_carries_what_arrived():
    with pytest.raises(Cancelled) as info:
        decoding.stream(_events(3, KeyboardInterrupt()), 200)
    assert info.value.partial == "ababab"


def test_a_cut_before_any_text_is_the_error_itself():
    with pytest.raises(AmbiguousError):
        decoding.stream(_events(0, AmbiguousError("dropped")), 200)


def test_stream_with_nothing_is_an_error():
    with pytest.raises(BadResponseError, match="ended before"):
        decoding.stream(iter([]), 200)


# -- replies without text, and reasoning apart from the text ------------------------------------------------------

def _whole(message, finish="stop"):
    return json.dumps({"choices": [{"message": message, "finish_reason": finish}]}).encode()


@pytest.mark.parametrize("message, finish, why", [
    ({"content": ""}, "stop", "stop reason: stop"),
    ({"content": "\n \n"}, None, "no stop reason given"),
    ({"content": None, "reasoning_content": "Let me think. " * 50}, "length",
     "stop reason: length; the length limit was spent on reasoning"),
    ({"content": "", "reasoning": "hmm"}, "stop", "stop reason: stop; it sent only reasoning")])
def test_a_whole_reply_without_text_is_no_reply(message, finish, why):
    with pytest.raises(BadResponseError) as info:
        decoding.completion(_whole(message, finish), 200)
    assert str(info.value) == f"the server sent no reply text ({why})" and info.value.status == 200


def test_a_whole_reply_s_reasoning_comes_apart_from_its_text():
    reply = decoding.completion(_whole({"content": "42", "reasoning_content": "6 times 7"}), 200)
    assert (reply.content, reply.reasoning) == ("42", "6 times 7")
    assert decoding.completion(_whole({"content": "42", "reasoning": "6 times 7"}), 200).reasoning == "6 times 7"
    for odd in (None, 5, {"text": "x"}, ["a"], ""):  # reasoning that is not text is no reasoning
        assert decoding.completion(_whole({"content": "42", "reasoning_content": odd}), 200).reasoning == ""
    assert decoding.completion(_whole({"content": "42"}), 200).reasoning == ""


def _chunk(delta=None, finish=None):
    choice = {"index": 0, "delta": delta or {}, "finish_reason": finish}
    return "message", json.dumps({"choices": [choice]})


DONE = ("message", "[DONE]")


@pytest.mark.parametrize("events, why", [
    ([DONE], "no stop reason given"),
    ([_chunk({"role": "assistant"}), _chunk({"content": ""}), _chunk(finish="stop"), DONE], "stop reason: stop"),
    ([_chunk({"content": " \n"}), _chunk(finish="stop"), DONE], "stop reason: stop"),
    ([_chunk({"reasoning_content": "First, "}), _chunk({"reasoning_content": "the sum."}), _chunk(finish="length"),
      DONE], "stop reason: length; the length limit was spent on reasoning"),
    ([_chunk({"reasoning": "hmm", "content": None}), _chunk(finish="stop"), DONE],
     "stop reason: stop; it sent only reasoning")])
def test_a_stream_without_text_is_no_reply(events, why):
    seen, thought = [], []
    with pytest.raises(BadResponseError) as info:
        decoding.stream(iter(events), 200, seen.append, thought.append)
    assert str(info.value) == f"the server sent no reply text ({why})" and info.value.status == 200
    assert not "".join(seen).strip()  # no text was passed on as the reply's


def test_a_stream_s_reasoning_is_passed_on_apart_from_its_text():
    seen, thought = [], []
    events = [_chunk({"role": "assistant", "content": None}), _chunk({"reasoning_content": "6 "}),
              _chunk({"reasoning_content": "times 7"}), _chunk({"content": "4"}), _chunk({"content": "2"}),
              _chunk(finish="stop"), DONE]
    reply = decoding.stream(iter(events), 200, seen.append, thought.append)
    assert (reply.content, reply.reasoning, reply.incomplete) == ("42", "6 times 7", None)
    assert seen == ["4", "2"] and thought == ["6 ", "times 7"]


def _reasoning_then(then):
    yield _chunk({"reasoning_content": "thinking"})
    raise then


def test_a_stream_cut_or_cancelled_after_only_reasoning_keeps_nothing():
    with pytest.raises(AmbiguousError):
        decoding.stream(_reasoning_then(AmbiguousError("dropped")), 200)
    with pytest.raises(Cancelled) as info:
        decoding.stream(_reasoning_then(KeyboardInterrupt()), 200)
    assert info.value.partial == ""
    with pytest.raises(BadResponseError, match="reported an error: overloaded"):
        decoding.stream(iter([_chunk({"reasoning_content": "x"}), ("error", '{"error": "overloaded"}')]), 200)


# -- the families Segmind passes through: Anthropic's and Gemini's own replies -------------------------------------

# Shaped as on Segmind's model pages (claude-4-sonnet, gemini-1.5-pro).
ANTHROPIC = {"id": "msg_abc123", "type": "message", "role": "assistant",
             "content": [{"type": "text", "text": "I can see a beautiful sunset."}], "model": "claude-4-sonnet",
             "stop_reason": "end_turn", "usage": {"input_tokens": 56, "output_tokens": 31}}
GEMINI = {"candidates": [{"content": {"parts": [{"text": "I can see a beautiful sunset."}], "role": "model"},
                          "finishReason": "STOP", "index": 0}],
          "usageMetadata": {"promptTokenCount": 56, "candidatesTokenCount": 31, "totalTokenCount": 87}}
COUNTS = {"prompt_tokens": 56, "completion_tokens": 31, "total_tokens": 87}


def _family(base, **changes):
    return json.dumps({**base, **changes}).encode()


def _gemini(parts, finish="STOP", **changes):
    return _family(GEMINI, candidates=[{"content": {"parts": parts, "role": "model"}, "finishReason": finish}],
                   **changes)


@pytest.mark.parametrize("body", [ANTHROPIC, GEMINI], ids=["anthropic", "gemini"])
def test_each_family_s_reply_reads_as_an_openai_one(body):
    reply = decoding.completion(json.dumps(body).encode(), 200)
    assert (reply.content, reply.finish_reason, reply.usage, reply.reasoning) == (
        "I can see a beautiful sunset.", "stop", COUNTS, "")
    assert reply.tokens == 87  # what the context meter reads


@pytest.mark.parametrize("data, finish", [
    (_family(ANTHROPIC, stop_reason="max_tokens"), "length"), (_family(ANTHROPIC, stop_reason="stop_sequence"), "stop"),
    (_family(ANTHROPIC, stop_reason="refusal"), "refusal"), (_family(ANTHROPIC, stop_reason=None), None),
    (_gemini([{"text": "I can"}], "MAX_TOKENS"), "length"), (_gemini([{"text": "I"}], "SAFETY"), "SAFETY"),
    (_gemini([{"text": "I"}], 7), None)])
def test_a_family_s_stop_reason_is_worded_as_segchat_s_rules_read_it(data, finish):
    """"length" is what the "reply cut at max_tokens" rule reads; a reason without a rule is kept as sent."""
    assert decoding.completion(data, 200).finish_reason == finish


def test_the_counts_are_the_whole_prompt_and_the_whole_reply():
    """Anthropic's cached input is input too; Gemini's thoughts are output, as OpenAI counts reasoning."""
    usage = {"input_tokens": 6, "cache_creation_input_tokens": 40, "cache_read_input_tokens": 10, "output_tokens": 31}
    assert decoding.completion(_family(ANTHROPIC, usage=usage), 200).usage == COUNTS
    metadata = {"promptTokenCount": 56, "candidatesTokenCount": 20, "thoughtsTokenCount": 11, "totalTokenCount": 87}
    assert decoding.completion(_family(GEMINI, usageMetadata=metadata), 200).usage == COUNTS
    without_total = {"promptTokenCount": 56, "candidatesTokenCount": 31}
    assert decoding.completion(_family(GEMINI, usageMetadata=without_total), 200).usage == COUNTS
    for odd in ({"input_tokens": "56", "output_tokens": 31}, {"output_tokens": 31}, {"input_tokens": -1,
                "output_tokens": 2}, {"input_tokens": 10**9, "output_tokens": 1}, [56, 31], None):
        assert decoding.completion(_family(ANTHROPIC, usage=odd), 200).usage is None
    for odd in ({"candidatesTokenCount": 31}, {"promptTokenCount": True}, "87"):
        assert decoding.completion(_family(GEMINI, usageMetadata=odd), 200).usage is None


def test_thinking_is_reasoning_not_text():
    blocks = [{"type": "thinking", "thinking": "Six times seven.", "signature": "EqQB"},
              {"type": "redacted_thinking", "data": "EmwKAhgB"}, {"type": "text", "text": "It is "},
              {"type": "tool_use", "id": "t", "name": "calc", "input": {}}, {"type": "text", "text": "42."}]
    reply = decoding.completion(_family(ANTHROPIC, content=blocks), 200)
    assert (reply.content, reply.reasoning) == ("It is 42.", "Six times seven.")
    parts = [{"text": "Six times seven.", "thought": True}, {"inlineData": {"mimeType": "image/png", "data": "iV"}},
             {"text": "It is "}, {"text": "42.", "thoughtSignature": "CiIB"}]
    reply = decoding.completion(_gemini(parts), 200)
    assert (reply.content, reply.reasoning) == ("It is 42.", "Six times seven.")


@pytest.mark.parametrize("data, why", [
    (_family(ANTHROPIC, content=[]), "stop reason: stop"),
    (_family(ANTHROPIC, content=[{"type": "text", "text": " \n"}], stop_reason=None), "no stop reason given"),
    (_family(ANTHROPIC, content=[{"type": "thinking", "thinking": "Let me see."}], stop_reason="max_tokens"),
     "stop reason: length; the length limit was spent on reasoning"),
    (_gemini([{"text": "Hmm.", "thought": True}], "MAX_TOKENS"),
     "stop reason: length; the length limit was spent on reasoning"),
    (_family(GEMINI, candidates=[{"finishReason": "SAFETY", "index": 0}]), "stop reason: SAFETY"),
    (_family(GEMINI, candidates=[{"content": {"role": "model"}, "finishReason": "MAX_TOKENS"}]),
     "stop reason: length"),
    (_family(GEMINI, candidates=[], promptFeedback={"blockReason": "PROHIBITED_CONTENT"}),
     "stop reason: PROHIBITED_CONTENT")])
def test_a_family_s_reply_without_text_is_no_reply(data, why):
    with pytest.raises(BadResponseError) as info:
        decoding.completion(data, 200)
    assert str(info.value) == f"the server sent no reply text ({why})" and info.value.status == 200


@pytest.mark.parametrize("body", [
    {"id": "msg_1", "type": "message"}, {"type": "error", "error": {"message": "overloaded"}},
    {"stop_reason": "end_turn"}, {"content": "text, not blocks", "stop_reason": "end_turn"},
    {**ANTHROPIC, "content": ["a"]}, {**ANTHROPIC, "content": [{"type": "text", "text": 5}]},
    {**ANTHROPIC, "content": [{"type": 3}]},
    {"candidates": "x"}, {"candidates": []}, {"candidates": [5]}, {"candidates": [{"content": "x"}]},
    {"candidates": [{"content": {"parts": "x"}}]}, {"candidates": [{"content": {"parts": [5]}}]},
    {"candidates": [{"content": {"parts": [{"text": 5}]}}]}])
def test_a_reply_in_no_family_s_shape_is_refused(body):
    with pytest.raises(BadResponseError) as info:
        decoding.completion(json.dumps(body).encode(), 200)
    assert "no reply text" not in str(info.value) and info.value.status == 200
