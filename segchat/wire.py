"""What the server sends, parsed: completions, error details, SSE events, credits, Retry-After."""

from __future__ import annotations

import email.utils
import json
import re
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Iterable, Iterator

from segchat.errors import APIError, BadResponseError, Cancelled


@dataclass
class Reply:
    """A chat completion as segchat needs it."""

    content: str
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    credits: Decimal | None = None
    credits_raw: str | None = None
    elapsed: float = 0.0
    incomplete: str | None = None
    streamed: bool = False  # shown piece by piece as it arrived
    interrupted: bool = False  # the user stopped it (Ctrl-C): what arrived is all there is


@dataclass
class Balance:
    credits: Decimal | None
    free: Decimal | None


def parse_credits(raw: Any) -> Decimal | None:
    """A credits figure (header text or JSON number) as a Decimal; None when absent or unparsable."""
    if raw is None or isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        return None
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def completion(data: bytes, status: int) -> Reply:
    """choices[0].message.content of a chat.completion body, which must be text."""
    obj = parse_json(data, status)
    try:
        choice = obj["choices"][0]
        content = choice["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise BadResponseError(f"the reply has no choices[0].message.content: {excerpt(data)}", status) from None
    if not isinstance(content, str):
        raise BadResponseError(f"choices[0].message.content is {type(content).__name__}, not text", status)
    usage = obj.get("usage")
    finish = choice.get("finish_reason") if isinstance(choice, dict) else None
    return Reply(content, finish if isinstance(finish, str) else None, usage if isinstance(usage, dict) else None)


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
            try:
                obj = json.loads(data)
            except (ValueError, RecursionError):
                reply.incomplete = f"the stream sent invalid JSON: {excerpt(data.encode())}"
                break
            if event == "error" or (isinstance(obj, dict) and "error" in obj):
                reply.incomplete = f"the stream reported an error: {error_detail(data.encode())}"
                break
            _take_chunk(obj, parts, reply, on_delta)
    except (Cancelled, KeyboardInterrupt):
        raise Cancelled("".join(parts)) from None
    except APIError as exc:  # cut off (timeout, dropped): what arrived is kept, marked incomplete
        if not parts:
            raise
        reply.incomplete = str(exc)
    reply.content = "".join(parts)
    if not done and reply.finish_reason is None and reply.incomplete is None:
        reply.incomplete = "the stream ended before the reply was complete"
    if not reply.content and reply.incomplete:
        raise BadResponseError(reply.incomplete, status)
    return reply


def _take_chunk(obj: Any, parts: list[str], reply: Reply, on_delta: Callable[[str], None] | None) -> None:
    if not isinstance(obj, dict):
        return
    choices = obj.get("choices")
    for choice in choices if isinstance(choices, list) else []:
        if not isinstance(choice, dict):
            continue
        delta = choice.get("delta")
        if isinstance(delta, dict) and isinstance(delta.get("content"), str) and delta["content"]:
            parts.append(delta["content"])
            if on_delta is not None:
                on_delta(delta["content"])
        if isinstance(choice.get("finish_reason"), str):
            reply.finish_reason = choice["finish_reason"]
    if isinstance(obj.get("usage"), dict):
        reply.usage = obj["usage"]


def sse_events(chunks: Iterable[bytes]) -> Iterator[tuple[str, str]]:
    """(event, data) pairs from raw bytes.

    Lines are split on b"\\n" before decoding: str.splitlines would also split on U+2028
    inside JSON, and a multi-byte character can never contain a newline byte.
    """
    buffer, event, data = b"", "message", list[str]()
    for chunk in chunks:
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for raw in lines:
            line = raw.rstrip(b"\r").decode("utf-8", "replace")
            if not line:
                if data:
                    yield event, "\n".join(data)
                event, data = "message", []
            elif not line.startswith(":"):
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "data":
                    data.append(value)
                elif name == "event":
                    event = value
    if data:
        yield event, "\n".join(data)


def retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (a number or an HTTP date); None if absent or unusable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return seconds if 0 < seconds < float("inf") else None


def parse_json(data: bytes, status: int) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        kind = "an HTML page" if data.lstrip()[:1] == b"<" else "invalid JSON"
        raise BadResponseError(f"the server answered {kind} (status {status}): {excerpt(data)}", status) from None


def error_detail(data: bytes) -> str:
    """The server's own words: {"error": str | {message}} or a short excerpt of the body."""
    try:
        obj = json.loads(data)
    except ValueError:
        return excerpt(data)
    if isinstance(obj, dict):
        error = obj.get("error", obj.get("message", obj.get("detail")))
        if isinstance(error, dict):
            error = error.get("message", error)
        if error is not None:
            return excerpt(str(error).encode())
    return excerpt(data)


def excerpt(data: bytes, limit: int = 200) -> str:
    """A short one-line excerpt; HTML is reduced to its text. Sanitised later, at output."""
    text = data.decode("utf-8", "replace")
    if text.lstrip().startswith("<"):
        text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S | re.I)
        text = re.sub(r"<[^>]*>", " ", text)
    text = " ".join(text.split())
    if not text:
        return "(empty body)"
    return text if len(text) <= limit else text[:limit] + "…"
