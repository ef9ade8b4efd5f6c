"""The conversation as plain data: messages in, API payload and JSON out, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from segchat.model import attachments
from segchat.text.sanitize import whole_text

ROLES = ("system", "user", "assistant")
FORMAT_VERSION = 1


@dataclass(slots=True)
class Message:
    """One turn's text. meta holds what the server said about it (cost, usage, timing); id is its stored row,
    left out of comparisons (the same turn stored or not is the same message)."""

    role: str
    content: str
    created: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    id: int | None = field(default=None, compare=False)

    @property
    def interrupted(self) -> bool:
        return bool(self.meta.get("interrupted"))

    @property
    def shortfall(self) -> str | None:
        return shortfall(self.meta)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.created is not None:
            data["created"] = self.created
        if self.meta:
            data["meta"] = self.meta
        return data

    @classmethod
    def from_dict(cls, data: Any) -> Message:
        if not isinstance(data, dict):
            raise ValueError(f"a message must be an object, not {type(data).__name__}")
        role, content = data.get("role"), data.get("content")
        if role not in ROLES:
            raise ValueError(f"unknown message role {str(role)[:20]!r}")
        if not isinstance(content, str):
            raise ValueError(f"message content must be text, not {type(content).__name__}")
        created = data.get("created")
        if created is not None and (isinstance(created, bool) or not isinstance(created, (int, float))
                                    or not 0 <= created < 10**11):
            raise ValueError("message 'created' must be a time (seconds since 1970)")
        meta = data.get("meta", {})
        if not isinstance(meta, dict):
            raise ValueError("message 'meta' must be an object")
        return cls(role, whole_text(content), created, dict(meta))


# What a stored reply's meta holds, as its JSON text shows it, when the reply is not whole: a reader that only
# needs the meta of such replies (and of those with files) can pass over the others unread.
NOT_WHOLE_MARKS = ('"interrupted"', '"incomplete"', '"finish_reason": "length"')


def shortfall(meta: dict[str, Any]) -> str | None:
    """How a reply is not whole, as a code the UI words: "interrupted" (the user stopped it), "length" (it
    reached a length limit), "cut_off" (the server or the network ended it, or an error event did); None for
    a whole reply."""
    if meta.get("interrupted"):
        return "interrupted"
    if meta.get("finish_reason") == "length":
        return "length"
    if meta.get("incomplete"):
        return "cut_off"
    return None


def _pairs(messages: list[Message]) -> list[tuple[Message, Message | None]]:
    pairs: list[tuple[Message, Message | None]] = []
    for message in messages:
        if message.role == "user":
            pairs.append((message, None))
        elif message.role == "assistant" and pairs and pairs[-1][1] is None:
            pairs[-1] = (pairs[-1][0], message)
    return pairs


def sent(text: str, meta: dict[str, Any]) -> str:
    """A message's text as the model reads it: with its attached files, if it has any."""
    if not meta.get("attachments"):
        return text
    return attachments.inline(text, attachments.of(meta))


@dataclass
class UnsentMessage:
    """A user message with no reply yet: part of the next request, not of the history.

    id is its stored row; the process that wrote it owns it while that process lives.
    """

    text: str
    id: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Conversation:
    """System prompt plus alternating user/assistant messages, and the unsent message if there is one."""

    system: str | None = None
    messages: list[Message] = field(default_factory=list)
    unsent: UnsentMessage | None = None
    _estimate: tuple[Any, int] = field(default=(None, 0), compare=False, repr=False)

    def payload(self) -> list[dict[str, str]]:
        """The whole conversation in the API's shape: system first, then the turns, files inlined."""
        out = [{"role": "system", "content": self.system}] if self.system else []
        out += [{"role": m.role, "content": sent(m.content, m.meta)} for m in self.messages if m.role != "system"]
        if self.unsent is not None:
            out.append({"role": "user", "content": sent(self.unsent.text, self.unsent.meta)})
        return out

    def exchanges(self) -> list[tuple[Message, Message | None]]:
        """(user, reply) pairs in order; a trailing user message has reply None."""
        return _pairs(self.messages)

    def first(self, role: str) -> Message | None:
        """The first message of role (the one a title comes from)."""
        return next((m for m in self.messages if m.role == role), None)

    def last(self, role: str) -> Message | None:
        return next((m for m in reversed(self.messages) if m.role == role), None)

    def pop_exchange(self) -> list[Message]:
        """Remove and return the last user message and everything after it."""
        for index in range(len(self.messages) - 1, -1, -1):
            if self.messages[index].role == "user":
                removed = self.messages[index:]
                del self.messages[index:]
                return removed
        return []

    def drop_oldest(self, count: int) -> list[Message]:
        """Remove the count oldest exchanges (the system prompt stays); return what went."""
        pairs = self.exchanges()[:count]
        gone = {id(m) for pair in pairs for m in pair if m is not None}
        removed = [m for m in self.messages if id(m) in gone]
        self.messages = [m for m in self.messages if id(m) not in gone]
        return removed

    def context_tokens(self) -> int:
        """The tokens the history takes (system prompt and messages, not the unsent message): the server's own
        count after the last reply when it gave one, else an estimate.

        The toolbar asks on every keypress, so the estimate is cached until the conversation changes.
        """
        last = self.messages[-1] if self.messages else None
        usage = last.meta.get("usage") if last is not None and last.role == "assistant" else None
        if isinstance(usage, dict):
            total, prompt, completion = (usage.get(k) for k in ("total_tokens", "prompt_tokens", "completion_tokens"))
            if isinstance(total, int) and 0 <= total < 10**9:
                return total
            if isinstance(prompt, int) and isinstance(completion, int) and 0 <= prompt + completion < 10**9:
                return prompt + completion
        key = (len(self.messages), id(last), self.system)
        if self._estimate[0] != key:
            self._estimate = (key, self.estimate_tokens())
        return self._estimate[1]

    def estimate_tokens(self) -> int:
        """A rough count of the history's tokens: about four characters a token, plus a few per message."""
        payload = self.payload()
        if self.unsent is not None:
            payload.pop()
        return sum(len(m["content"]) // 4 + 4 for m in payload)

    def to_dict(self) -> dict[str, Any]:
        data = {
            "version": FORMAT_VERSION,
            "system": self.system,
            "messages": [m.to_dict() for m in self.messages],
            "pending": self.unsent.text if self.unsent is not None else None,
        }
        if self.unsent is not None and self.unsent.meta:
            data["pending_meta"] = self.unsent.meta  # its attached files
        return data

    @classmethod
    def from_dict(cls, data: Any) -> Conversation:
        if not isinstance(data, dict):
            raise ValueError("a conversation must be a JSON object")
        version = data.get("version", FORMAT_VERSION)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ValueError(f"conversation format version {version!r} is newer than this segchat understands")
        system, unsent = data.get("system"), data.get("pending")
        for name, value in (("system", system), ("pending", unsent)):
            if value is not None and not isinstance(value, str):
                raise ValueError(f"'{name}' must be text")
        messages = data.get("messages", [])
        if not isinstance(messages, list):
            raise ValueError("'messages' must be a list")
        meta = data.get("pending_meta", {})
        if not isinstance(meta, dict):
            raise ValueError("'pending_meta' must be an object")
        unsent = UnsentMessage(whole_text(unsent), meta=dict(meta)) if unsent is not None else None
        return cls(whole_text(system) if system else system, [Message.from_dict(m) for m in messages], unsent)
