"""Stored message rows made into Messages, each meta as json.loads reads it: at once, or on first use."""

from __future__ import annotations

import json

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing; checkers read it as True
if TYPE_CHECKING:
    from typing import Any, Callable

    from segchat.model.conversation import Message

_SCAN = json.JSONDecoder().scan_once  # json.loads's parser without its checks around it


def reader(damaged: Callable[[], Exception]) -> Callable[[Any], Any]:
    """What makes a stored meta (non-empty text or bytes) into its value: json.loads's, or damaged() raised.

    Each meta is read by json's own scanner (what json.loads runs between its checks); one it does not take
    whole (leading blanks, damage, not text) goes to json.loads itself, so the result is still json.loads's.
    """

    def read(meta: Any) -> Any:
        try:
            value, end = _SCAN(meta, 0)
            if end == len(meta):
                return value
        except Exception:  # StopIteration, a damaged text, a value that is not text: json.loads decides
            pass
        try:
            return json.loads(meta)
        except ValueError:
            raise damaged() from None

    return read


def build(rows: list[tuple], read: Callable[[Any], Any], lazy: bool) -> list[Message]:
    """Messages of rows (id, role, content, created, meta), each meta made by read.

    lazy: a meta stays its text until the message's meta is first asked for. Reading ten thousand metas is
    the larger part of resuming a long session, and its first screen needs only the last few.
    """
    from segchat.model.conversation import Message

    if lazy:
        return [Message(role, content, created, meta, row_id, read) if meta else
                Message(role, content, created, {}, row_id) for row_id, role, content, created, meta in rows]
    scan, messages = _SCAN, []
    append = messages.append
    for row_id, role, content, created, meta in rows:  # read() inlined: one call less for each of thousands
        try:
            value, end = scan(meta, 0) if meta else ({}, 0)
        except Exception:  # as in read()
            end = -1
        if meta and end != len(meta):
            value = read(meta)
        append(Message(role, content, created, value, row_id))
    return messages
