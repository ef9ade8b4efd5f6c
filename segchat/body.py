"""A request's JSON as bytes, each message of a long conversation encoded once while it is sent turn after turn."""

from __future__ import annotations

import json
from typing import Any


def dumps(value: Any) -> bytes:
    """JSON as httpx's json= writes it: compact, UTF-8, NaN and infinities refused."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


class Encoder:
    """dumps() of request bodies; a message (an object of text fields) that the previous body held is not
    encoded again. Every turn sends the whole conversation: at a full 128K context, encoding it anew costs more
    than the rest of what this side does for a turn."""

    def __init__(self) -> None:
        self._known: dict[tuple[tuple[str, str], ...], bytes] = {}

    def encode(self, body: Any) -> bytes:
        messages = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(messages, list) or not all(isinstance(key, str) for key in body):
            return dumps(body)
        known, kept, parts = self._known, {}, []
        for message in messages:
            if type(message) is dict and all(type(value) is str for value in message.values()):
                # Keyed by its fields in their order (they are the JSON); a text's hash is kept with it, so a
                # message sent before is found without reading its text again.
                key = tuple(message.items())
                data = kept.get(key) or known.get(key) or dumps(message)
                kept[key] = data
            else:
                data = dumps(message)
            parts.append(data)
        self._known = kept  # what this body held: a message dropped from the conversation is let go
        fields = [dumps(key) + b":" + (b"[" + b",".join(parts) + b"]" if key == "messages" else dumps(value))
                  for key, value in body.items()]
        return b"{" + b",".join(fields) + b"}"
