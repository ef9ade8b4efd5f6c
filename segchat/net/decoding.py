"""What the server sends, parsed: bodies unpacked, completions, streams, error details, credits, Retry-After."""

from __future__ import annotations

import json
import math
import zlib
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Iterable, Iterator

from segchat.errors import APIError, BadResponseError, Cancelled
from segchat.model.reply import MAX_TOKENS, Balance, Reply
from segchat.text.excerpt import excerpt

MAX_CREDITS = Decimal(10) ** 15  # beyond this a credits figure is nonsense, not a balance
_PIECE = 64 * 1024  # the most one compressed chunk may unpack to at a time


def parse_credits(raw: Any) -> Decimal | None:
    """A credits figure (header text or JSON number) as a Decimal; None when absent, unparsable or absurd.

    Absurd: not finite, more than 10**15 either way, or finer than 10**-30. Checked on the exponent before
    any arithmetic: Decimal("1e999999999") parses at once, but printing or adding it would not end. Negative
    figures are real (an overdrawn account).
    """
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        if abs(raw) > 10**15:
            return None
        raw = str(raw)
    elif isinstance(raw, float):
        if not math.isfinite(raw) or abs(raw) > 1e15:
            return None
        raw = str(raw)
    elif not isinstance(raw, str) or len(raw) > 64:  # no credits figure needs 5,000 digits
        return None
    try:
        value = Decimal(raw.strip())
    except (InvalidOperation, ValueError):
        return None
    exponent = value.as_tuple().exponent  # a str for NaN and Infinity
    if not isinstance(exponent, int) or exponent < -30 or value.adjusted() > 15:
        return None
    return value if abs(value) <= MAX_CREDITS else None


def parse_cost(raw: Any) -> Decimal | None:
    """What a request cost, as a server states it (a header's text): a credits figure (see parse_credits) that
    is not negative; None when absent, unparsable or absurd."""
    cost = parse_credits(raw)
    return cost if cost is not None and cost >= 0 else None


def _usage(raw: Any) -> dict[str, int] | None:
    """The token counts of a usage object; anything that is not a count in 0..10**9 is dropped."""
    if not isinstance(raw, dict):
        return None
    usage = {k: v for k, v in raw.items() if isinstance(k, str) and _is_count(v)}
    return usage or None


def _text_of(content: Any) -> str | None:
    """Message or delta content as text: a string, or a list of content blocks whose text blocks are joined.

    Blocks of other kinds (reasoning, images) are skipped; None when content is neither shape, or a list
    holds something that is not a block.
    """
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return None
    texts = []
    for block in content:
        if not isinstance(block, dict):
            return None
        kind = block.get("type", "text")
        if kind == "text":
            if not isinstance(block.get("text"), str):
                return None
            texts.append(block["text"])
        elif not isinstance(kind, str):
            return None
    return "".join(texts)


# Stop reasons as the families word them, in the words segchat's rules read ("length": a length limit cut the reply).
# Others are kept as sent (Anthropic's "refusal", Gemini's "SAFETY"): shown as they are, they say the most.
STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",  # Anthropic
                "STOP": "stop", "MAX_TOKENS": "length"}  # Gemini


def completion(data: bytes, status: int) -> Reply:
    """A whole reply, in whichever family's shape it comes (see completion_from)."""
    return completion_from(parse_json(data, status), status, data)


def completion_from(obj: Any, status: int, raw: bytes) -> Reply:
    """A whole reply read from its JSON, which must hold some text (see no_text). Segmind's gateway passes each
    model family's own JSON through, told apart here by their top-level keys, as Segmind's SDK does (a slug says
    nothing certain about the shape):

    - "choices": OpenAI's chat.completion, choices[0].message.content; its reasoning (see reasoning_of) apart;
    - "candidates": Gemini, candidates[0].content.parts[].text; parts marked "thought" are reasoning;
    - "content" as a list (with "stop_reason"): Anthropic, the text of its "text" blocks; "thinking" blocks are
      reasoning.

    Each is read into the same Reply: usage as prompt_tokens, completion_tokens and total_tokens, the stop reason
    in OpenAI's words where segchat has a rule for it (STOP_REASONS). raw: what to quote when the reply is unreadable.
    """
    if isinstance(obj, dict) and "choices" in obj:
        reply = _openai(obj, status, raw)
    elif isinstance(obj, dict) and "candidates" in obj:
        reply = _gemini(obj, status, raw)
    elif isinstance(obj, dict) and (isinstance(obj.get("content"), list) or "stop_reason" in obj):
        reply = _anthropic(obj, status, raw)
    else:
        raise BadResponseError(f"the reply has none of choices, content or candidates: {excerpt(raw)}", status)
    if not reply.content.strip():
        raise no_text(reply, status)
    return reply


def _openai(obj: dict[str, Any], status: int, raw: bytes) -> Reply:
    try:
        choice = obj["choices"][0]
        message = choice["message"]
        content = message["content"]
    except (KeyError, IndexError, TypeError):
        raise BadResponseError(f"the reply has no choices[0].message.content: {excerpt(raw)}", status) from None
    text = "" if content is None else _text_of(content)  # null content: a message without text (only reasoning)
    if text is None:
        raise BadResponseError(f"choices[0].message.content is {type(content).__name__}, not text: {excerpt(raw)}",
                               status)
    finish = choice.get("finish_reason") if isinstance(choice, dict) else None
    return Reply(text, finish if isinstance(finish, str) else None, _usage(obj.get("usage")),
                 reasoning=reasoning_of(message))


def _anthropic(obj: dict[str, Any], status: int, raw: bytes) -> Reply:
    """Anthropic's message: content blocks {"type": "text", "text"} and {"type": "thinking", "thinking"} (others,
    such as redacted thinking or tool use, hold no text); usage.input_tokens (with the cached ones) and
    output_tokens; stop_reason."""
    blocks = obj.get("content")
    if not isinstance(blocks, list):
        raise BadResponseError(f"the reply has no content blocks: {excerpt(raw)}", status)
    texts, thoughts = [], []
    for block in blocks:
        kind = block.get("type", "text") if isinstance(block, dict) else None
        if kind == "thinking" and isinstance(block.get("thinking"), str):
            thoughts.append(block["thinking"])
        elif kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif not isinstance(kind, str) or kind == "text":
            raise BadResponseError(f"the reply holds a content block that is not one: {excerpt(raw)}", status)
    usage = obj.get("usage") if isinstance(obj.get("usage"), dict) else {}
    prompt, completion = usage.get("input_tokens"), usage.get("output_tokens")
    counts = None
    if _is_count(prompt) and _is_count(completion):
        cached = sum(_count(usage, k) for k in ("cache_creation_input_tokens", "cache_read_input_tokens"))
        counts = _tokens(prompt + cached, completion)
    return Reply("".join(texts), _stop_reason(obj.get("stop_reason")), counts, reasoning="".join(thoughts))


def _gemini(obj: dict[str, Any], status: int, raw: bytes) -> Reply:
    """Gemini's answer: candidates[0].content.parts[], each {"text"} (with "thought": true, reasoning; others, such
    as inline data, hold no text); usageMetadata.promptTokenCount and candidatesTokenCount (with the thoughts' count,
    as OpenAI counts reasoning in completion_tokens); finishReason. A prompt Gemini blocked has no candidates, and
    says why in promptFeedback.blockReason: no reply, with that reason."""
    candidates = obj.get("candidates")
    usage = obj.get("usageMetadata") if isinstance(obj.get("usageMetadata"), dict) else {}
    counts = None
    if _is_count(usage.get("promptTokenCount")):
        prompt = usage["promptTokenCount"] + _count(usage, "toolUsePromptTokenCount")
        completion = _count(usage, "candidatesTokenCount") + _count(usage, "thoughtsTokenCount")
        counts = _tokens(prompt, completion, usage.get("totalTokenCount"))
    if not isinstance(candidates, list) or not candidates:
        feedback = obj.get("promptFeedback")
        blocked = feedback.get("blockReason") if isinstance(feedback, dict) else None
        if isinstance(blocked, str):
            return Reply("", blocked, counts)
        raise BadResponseError(f"the reply has no candidates: {excerpt(raw)}", status)
    candidate = candidates[0]
    content = candidate.get("content") if isinstance(candidate, dict) else None
    parts = content.get("parts") if isinstance(content, dict) else None
    if not isinstance(candidate, dict) or not isinstance(content, (dict, type(None))) \
            or not isinstance(parts, (list, type(None))):
        raise BadResponseError(f"candidates[0] has no content parts: {excerpt(raw)}", status)
    texts, thoughts = [], []
    for part in parts or []:  # none: a candidate stopped before any (by a safety rule, or at the length limit)
        text = part.get("text") if isinstance(part, dict) else None
        if not isinstance(part, dict) or ("text" in part and not isinstance(text, str)):
            raise BadResponseError(f"candidates[0] holds a part that is not one: {excerpt(raw)}", status)
        if isinstance(text, str):
            (thoughts if part.get("thought") is True else texts).append(text)
    return Reply("".join(texts), _stop_reason(candidate.get("finishReason")), counts, reasoning="".join(thoughts))


def _stop_reason(raw: Any) -> str | None:
    return STOP_REASONS.get(raw, raw) if isinstance(raw, str) else None


def _is_count(value: Any) -> bool:
    return type(value) is int and 0 <= value < MAX_TOKENS


def _count(fields: dict[str, Any], key: str) -> int:
    """A count that may be absent (0 then), as the families leave out the ones that are nought."""
    return fields[key] if _is_count(fields.get(key)) else 0


def _tokens(prompt: int, completion: int, total: Any = None) -> dict[str, int] | None:
    """Usage in OpenAI's words, which the rest of segchat reads; the total the server gave, else the sum."""
    total = total if _is_count(total) else prompt + completion
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total} \
        if _is_count(prompt + completion) and _is_count(total) else None


def reasoning_of(fields: Any) -> str:
    """The reasoning in a message or a stream delta: reasoning_content (DeepSeek, vLLM, llama.cpp) or reasoning
    (other servers), the first that is text; "" when neither is. Servers that send both send the same text."""
    if not isinstance(fields, dict):
        return ""
    for key in ("reasoning_content", "reasoning"):
        if isinstance(fields.get(key), str) and fields[key]:
            return fields[key]
    return ""


def no_text(reply: Reply, status: int | None) -> BadResponseError:
    """The error for an answer that holds no reply text: content empty, null or only whitespace, a stream of
    nothing but [DONE], or only reasoning. Nothing is added to the conversation: the message stays unsent.
    Says the stop reason, and when the model reasoned, that the reasoning is all it sent."""
    finish = reply.finish_reason
    why = f"stop reason: {finish[:40]}" if finish else "no stop reason given"
    if reply.reasoning.strip():
        why += "; the length limit was spent on reasoning" if finish == "length" else "; it sent only reasoning"
    return BadResponseError(f"the server sent no reply text ({why})", status)


def balance(data: bytes, status: int) -> Balance:
    obj = parse_json(data, status)
    if not isinstance(obj, dict):
        raise BadResponseError(f"credits answer is not a JSON object: {excerpt(data)}", status)
    return Balance(parse_credits(obj.get("credits")), parse_credits(obj.get("free-credits")))


def stream(events: Iterable[tuple[str, str]], status: int, on_delta: Callable[[str], None] | None = None,
           on_reasoning: Callable[[str], None] | None = None) -> Reply:
    """An OpenAI-style event stream as one Reply, each piece of text passed to on_delta as it arrives, each piece
    of reasoning (delta.reasoning_content or delta.reasoning) to on_reasoning.

    What breaks the stream off (an error event, invalid JSON, the end without [DONE]) is kept, marked incomplete,
    when some text came before it; else it is the error. A stream that ends without any text is no reply (no_text).
    """
    parts: list[str] = []
    thoughts: list[str] = []
    reply, done = Reply("", streamed=True), False

    def text(piece: str) -> None:
        parts.append(piece)
        if on_delta is not None:
            on_delta(piece)

    def thought(piece: str) -> None:
        thoughts.append(piece)
        if on_reasoning is not None:
            on_reasoning(piece)

    try:
        for event, data in events:
            if data == "[DONE]":
                done = True
                break
            if event == "error":  # whatever its data holds
                reply.incomplete = f"the stream reported an error: {error_detail(data.encode())}"
                break
            try:
                obj = json.loads(data)
            except (ValueError, RecursionError) as exc:
                why = "JSON nested too deeply" if isinstance(exc, RecursionError) else "invalid JSON"
                reply.incomplete = f"could not parse an event of the stream ({why}): {excerpt(data.encode())}"
                break
            if isinstance(obj, dict) and "error" in obj:
                reply.incomplete = f"the stream reported an error: {error_detail(data.encode())}"
                break
            if (problem := _take_chunk(obj, reply, text, thought)) is not None:
                reply.incomplete = f"the stream sent {problem}: {excerpt(data.encode())}"
                break
    except (Cancelled, KeyboardInterrupt):
        raise Cancelled("".join(parts)) from None
    except APIError as exc:  # cut off (timeout, dropped): what arrived is kept, marked incomplete
        if not "".join(parts).strip():
            if isinstance(exc, BadResponseError) and exc.status is None:
                exc.status = status  # a stream sse_events refused (an oversized event)
            raise
        reply.incomplete = str(exc)
    reply.content, reply.reasoning = "".join(parts), "".join(thoughts)
    if not done and reply.finish_reason is None and reply.incomplete is None:
        reply.incomplete = "the stream ended before the reply was complete"
    if not reply.content.strip():
        raise BadResponseError(reply.incomplete, status) if reply.incomplete else no_text(reply, status)
    return reply


def _take_chunk(obj: Any, reply: Reply, text: Callable[[str], None], thought: Callable[[str], None]) -> str | None:
    """Take one chunk's text and reasoning (passed on), finish reason and usage; what is wrong with it, if its
    content is unreadable."""
    if not isinstance(obj, dict):
        return None
    choices = obj.get("choices")
    for choice in choices if isinstance(choices, list) else []:
        if not isinstance(choice, dict):
            continue
        delta = choice.get("delta")
        if piece := reasoning_of(delta):  # before the text: a model reasons, then answers
            thought(piece)
        content = delta.get("content") if isinstance(delta, dict) else None
        if content is not None:  # null content is normal: role-only, reasoning, tool-call and final chunks
            piece = _text_of(content)
            if piece is None:
                return f"a delta whose content is {type(content).__name__}, not text"
            if piece:
                text(piece)
        if isinstance(choice.get("finish_reason"), str):
            reply.finish_reason = choice["finish_reason"]
    if (usage := _usage(obj.get("usage"))) is not None:
        reply.usage = usage
    return None


def parse_json(data: bytes, status: int) -> Any:
    try:
        return json.loads(data)
    except RecursionError:
        raise BadResponseError(f"could not parse the server's answer (status {status}): JSON nested too deeply: "
                               f"{excerpt(data)}", status) from None
    except ValueError:
        kind = "an HTML page" if data.lstrip()[:1] == b"<" else "invalid JSON"
        raise BadResponseError(f"could not parse the server's answer (status {status}): {kind}: {excerpt(data)}",
                               status) from None


def error_detail(data: bytes) -> str:
    """The server's own words: {"error": str | {message}} or a short excerpt of the body."""
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError):
        return excerpt(data)
    if isinstance(obj, dict):
        error = obj.get("error", obj.get("message", obj.get("detail")))
        if isinstance(error, dict):
            error = error.get("message", error)
        if error is not None:
            try:
                return excerpt(str(error).encode())
            except RecursionError:  # nested nearly as deep as json.loads allows
                return excerpt(data)
    return excerpt(data)


def unpacked(raw: Iterator[bytes], encoding: str) -> Iterator[bytes]:
    """The body with its content-encoding undone, in pieces of at most _PIECE bytes (a small compressed
    chunk can unpack to gigabytes; the size cap counts what comes out)."""
    coding = encoding.strip().lower()
    if coding in ("", "identity"):
        yield from raw
        return
    if coding not in ("gzip", "x-gzip", "deflate"):
        raise BadResponseError(f"the reply is in an encoding segchat does not read ({coding[:40]})")
    unpacker = zlib.decompressobj(zlib.MAX_WBITS | 16 if coding != "deflate" else zlib.MAX_WBITS)
    started = False
    for data in raw:
        while data and not unpacker.eof:
            try:
                piece = unpacker.decompress(data, _PIECE)
            except zlib.error as exc:
                if coding == "deflate" and not started:  # sent raw, without the zlib wrapper: read it as such
                    unpacker, started = zlib.decompressobj(-zlib.MAX_WBITS), True
                    continue
                raise BadResponseError(f"the reply could not be decoded ({coding}: {exc})") from None
            started = True
            data = unpacker.unconsumed_tail
            if piece:
                yield piece
            while len(piece) == _PIECE and not data and not unpacker.eof:  # more may wait inside
                piece = unpacker.decompress(b"", _PIECE)
                if piece:
                    yield piece
    rest = unpacker.flush()
    if rest:
        yield rest
