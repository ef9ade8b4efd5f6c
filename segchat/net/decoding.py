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


def _usage(raw: Any) -> dict[str, int] | None:
    """The token counts of a usage object; anything that is not a count in 0..10**9 is dropped."""
    if not isinstance(raw, dict):
        return None
    usage = {k: v for k, v in raw.items() if isinstance(k, str) and type(v) is int and 0 <= v < MAX_TOKENS}
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


def completion(data: bytes, status: int) -> Reply:
    """choices[0].message.content of a chat.completion body, which must be text."""
    obj = parse_json(data, status)
    try:
        choice = obj["choices"][0]
        content = choice["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise BadResponseError(f"the reply has no choices[0].message.content: {excerpt(data)}", status) from None
    text = _text_of(content)
    if text is None or (not text and not isinstance(content, str)):
        kind = "null" if content is None else "a list without text" if isinstance(content, list) else \
            type(content).__name__
        raise BadResponseError(f"choices[0].message.content is {kind}, not text: {excerpt(data)}", status)
    finish = choice.get("finish_reason") if isinstance(choice, dict) else None
    return Reply(text, finish if isinstance(finish, str) else None, _usage(obj.get("usage")))


def balance(data: bytes, status: int) -> Balance:
    obj = parse_json(data, status)
    if not isinstance(obj, dict):
        raise BadResponseError(f"credits answer is not a JSON object: {excerpt(data)}", status)
    return Balance(parse_credits(obj.get("credits")), parse_credits(obj.get("free-credits")))


def stream(events: Iterable[tuple[str, str]], status: int, on_delta: Callable[[str], None] | None = None) -> Reply:
    """An OpenAI-style event stream as one Reply, each piece of text passed to on_delta as it arrives.

    What breaks the stream off (an error event, invalid JSON, the end without [DONE]) is kept, marked incomplete.
    """
    parts: list[str] = []
    reply, done = Reply("", streamed=True), False
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
            if (problem := _take_chunk(obj, parts, reply, on_delta)) is not None:
                reply.incomplete = f"the stream sent {problem}: {excerpt(data.encode())}"
                break
    except (Cancelled, KeyboardInterrupt):
        raise Cancelled("".join(parts)) from None
    except APIError as exc:  # cut off (timeout, dropped): what arrived is kept, marked incomplete
        if not parts:
            if isinstance(exc, BadResponseError) and exc.status is None:
                exc.status = status  # a stream sse_events refused (an oversized event)
            raise
        reply.incomplete = str(exc)
    reply.content = "".join(parts)
    if not done and reply.finish_reason is None and reply.incomplete is None:
        reply.incomplete = "the stream ended before the reply was complete"
    if not reply.content and reply.incomplete:
        raise BadResponseError(reply.incomplete, status)
    return reply


def _take_chunk(obj: Any, parts: list[str], reply: Reply, on_delta: Callable[[str], None] | None) -> str | None:
    """Take one chunk's text, finish reason and usage; what is wrong with it, if its content is unreadable."""
    if not isinstance(obj, dict):
        return None
    choices = obj.get("choices")
    for choice in choices if isinstance(choices, list) else []:
        if not isinstance(choice, dict):
            continue
        delta = choice.get("delta")
        content = delta.get("content") if isinstance(delta, dict) else None
        if content is not None:  # null content is normal: role-only, tool-call and final chunks
            text = _text_of(content)
            if text is None:
                return f"a delta whose content is {type(content).__name__}, not text"
            if text:
                parts.append(text)
                if on_delta is not None:
                    on_delta(text)
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
