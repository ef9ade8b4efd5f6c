"""Text files attached to a message: read and checked before anything is sent, inlined with their names."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, BinaryIO

from segchat.errors import UsageError
from segchat.private_files import NotAFile, read_bytes
from segchat.text.sanitize import one_line, whole_text

MAX_FILE = 4 * 2**20  # a 128K-token context holds about 512 KB of text; this stops `-f /dev/zero` early


@dataclass(frozen=True, slots=True)
class Attachment:
    """A text file as it will be sent: its name (as the user gave it) and its text."""

    name: str
    text: str

    @property
    def size(self) -> int:
        return len(self.text.encode("utf-8"))

    @property
    def tokens(self) -> int:
        return len(self.text) // 4 + 8  # the same rough measure as the context meter

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "text": self.text}

    @classmethod
    def from_dict(cls, data: Any) -> Attachment:
        if not isinstance(data, dict) or not isinstance(data.get("name"), str) or not isinstance(data.get("text"), str):
            raise ValueError("an attachment must be an object with text 'name' and 'text'")
        return cls(whole_text(data["name"]), whole_text(data["text"]))


def read(path: str, stdin: BinaryIO | None = None) -> Attachment:
    """The file at path ("-": standard input) as text, or a UsageError naming it. Only a regular file (or a
    symlink to one) is read: a FIFO, a socket, a device or a directory is refused at once, never waited on."""
    if path == "-":
        if stdin is None:
            raise UsageError("-f - reads standard input, and there is none")
        return Attachment("stdin", _decode("standard input", stdin.read(MAX_FILE + 1)))
    try:
        data = read_bytes(os.path.expanduser(path), MAX_FILE + 1)
    except NotAFile as exc:
        raise UsageError(f"cannot attach {one_line(path)}: it is {exc.kind}, not a file") from None
    except OSError as exc:
        raise UsageError(f"cannot attach {one_line(path)}: {exc.strerror}") from None
    return Attachment(path, _decode(path, data))


def _decode(path: str, data: bytes) -> str:
    name = one_line(path)
    if len(data) > MAX_FILE:
        raise UsageError(f"cannot attach {name}: it is over {MAX_FILE // 2**20} MiB, more than the model can read")
    if b"\0" in data:
        raise UsageError(f"cannot attach {name}: it is a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"cannot attach {name}: it is not UTF-8 text (invalid byte at offset {exc.start})") from None


def inline(text: str, attachments: list[Attachment]) -> str:
    """The message as the model reads it: the text, then each file fenced under its name.

    The fence is longer than any run of backticks in the file, so a file holding Markdown cannot end it.
    """
    parts = [text]
    for item in attachments:
        longest = max((len(run) for run in re.findall(r"`+", item.text)), default=0)
        fence = "`" * max(3, longest + 1)
        body = item.text if item.text.endswith("\n") else item.text + "\n"
        parts.append(f"File: {item.name}\n{fence}{_language(item.name)}\n{body}{fence}")
    return "\n\n".join(parts)


def _language(name: str) -> str:
    suffix = os.path.splitext(name)[1].lstrip(".").lower()
    return suffix if suffix.isalnum() and len(suffix) <= 10 else ""


def describe(item: Attachment) -> str:
    """One line for the screen: name (its line breaks and controls shown, see one_line), size, estimated tokens;
    never the contents."""
    size = item.size
    shown = f"{size} B" if size < 1024 else f"{size / 1024:.1f} KB"
    return f"{one_line(item.name)} ({shown}, ~{item.tokens:,} tokens)"


def of(meta: dict[str, Any]) -> list[Attachment]:
    """The attachments recorded in a message's meta; what cannot be read is left out."""
    items = meta.get("attachments")
    if not isinstance(items, list):
        return []
    out = []
    for data in items:
        try:
            out.append(Attachment.from_dict(data))
        except ValueError:
            continue
    return out


def fits(files: list[Attachment], used: int, window: int | None) -> None:
    """Refuse the first file that would take the conversation past the context window, naming it; with no
    window known, nothing is refused here (the server's own refusal is explained when it comes)."""
    if window is None:
        return
    for item in files:
        used += item.tokens
        if used > window:
            raise UsageError(f"cannot attach {one_line(item.name)}: with its ~{item.tokens:,} tokens the "
                             f"conversation would need ~{used:,}, more than the {window:,}-token context")
