"""Server-sent events from raw bytes: any line ending, split characters intact, every buffer bounded."""

from __future__ import annotations

import re
from typing import Iterable, Iterator

from segchat.errors import BadResponseError

MAX_EVENT = 1024 * 1024  # bytes of one server-sent event line, or of one event's data

_LINE_END = re.compile(rb"\r\n?|\n")


def sse_events(chunks: Iterable[bytes]) -> Iterator[tuple[str, str]]:
    """(event, data) pairs from raw bytes.

    Lines end in CRLF, LF or a lone CR, as SSE allows; they are split as bytes, before decoding:
    str.splitlines would also split on U+2028 inside JSON, and no byte of a multi-byte UTF-8
    character is CR or LF. A CR ending one chunk ends the line at once; an LF starting the next
    is then the rest of that CRLF. A line, or an event's data, over MAX_EVENT bytes is an error:
    a server that never ends a line must not fill memory.
    """
    partial, skip_lf, first = bytearray(), False, True
    event, data, size = "message", list[str](), 0
    for chunk in chunks:
        if not chunk:
            continue
        if skip_lf and chunk[:1] == b"\n":
            chunk = chunk[1:]
        skip_lf, start = False, 0
        for end in _LINE_END.finditer(chunk):
            raw = chunk[start:end.start()]
            if partial:
                partial += raw
                raw, partial = bytes(partial), bytearray()
            start = end.end()
            if len(raw) > MAX_EVENT:
                raise BadResponseError(f"an event in the stream is larger than {MAX_EVENT >> 20} MiB")
            line = raw.decode("utf-8", "replace")
            if first:
                line, first = line.removeprefix("\ufeff"), False
            if not line:
                if data:
                    yield event, "\n".join(data)
                event, data, size = "message", [], 0
            elif not line.startswith(":"):
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "data":
                    size += len(raw) + 1
                    if size > MAX_EVENT:
                        raise BadResponseError(f"an event in the stream is larger than {MAX_EVENT >> 20} MiB")
                    data.append(value)
                elif name == "event":
                    event = value
        skip_lf = chunk.endswith(b"\r")
        partial += chunk[start:]
        if len(partial) > MAX_EVENT:
            raise BadResponseError(f"an event in the stream is larger than {MAX_EVENT >> 20} MiB")
    if data:
        yield event, "\n".join(data)
