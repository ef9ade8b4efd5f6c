"""A request's JSON as bytes, each message of a long conversation encoded once while it is sent turn after turn."""

from __future__ import annotations

import json
from typing import Any

# As httpx's json= writes a body (from httpx 0.28): compact, UTF-8, NaN and infinities refused. One encoder:
# json.dumps() with options builds a new one each call, which for a conversation's messages one by one costs more
# than the text.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)

Key = tuple[tuple[str, str], ...]


def dumps(value: Any) -> bytes:
    return _JSON.encode(value).encode("utf-8")


class Encoder:
    """dumps() of request bodies; a message (an object of text fields) already encoded for the previous body,
    or learnt while the user typed, is not encoded again. Every turn sends the whole conversation: at a full
    128K context, encoding it anew costs more than all else this side does for a turn."""

    def __init__(self) -> None:
        self._known: dict[Key, bytes] = {}

    def learn(self, messages: list[Any]) -> None:
        """Encode these messages ahead of the body that will hold them; what was known before is let go."""
        self._known = self._encoded(messages)[1]

    def encode(self, body: Any) -> bytes:
        messages = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(messages, list) or not all(isinstance(key, str) for key in body):
            return dumps(body)
        parts, self._known = self._encoded(messages)  # kept: what this body held (a dropped message is let go)
        out = [b"{"]
        for key, value in body.items():
            out += (b"," if len(out) > 1 else b"", dumps(key), b":")
            if key == "messages":  # its parts go into the one join: a second copy of a long text costs more
                out.append(b"[")
                for n, part in enumerate(parts):
                    out += (b",", part) if n else (part,)
                out.append(b"]")
            else:
                out.append(dumps(value))
        out.append(b"}")
        return b"".join(out)

    def _encoded(self, messages: list[Any]) -> tuple[list[bytes], dict[Key, bytes]]:
        known, kept, parts = self._known, {}, []
        for message in messages:
            if type(message) is dict and all(type(k) is str and type(v) is str for k, v in message.items()):
                # Keyed by its fields in their order (they are the JSON); a text keeps its hash, so a message
                # sent before is found without reading its text again.
                key = tuple(message.items())
                data = kept.get(key) or known.get(key) or dumps(message)
                kept[key] = data
            else:
                data = dumps(message)
            parts.append(data)
        return parts, kept
