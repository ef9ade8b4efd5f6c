"""Named roles: <config dir>/roles/NAME.md is a system prompt, with optional TOML front matter between +++ lines."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segchat.config.validate import NAME
from segchat.errors import UsageError
from segchat.private_files import NotAFile, read_bytes

SETTINGS = ("model", "temperature", "top_p", "max_tokens", "profile")
MAX_ROLE = 4 * 2**20


@dataclass(frozen=True)
class Role:
    name: str
    system: str
    settings: dict[str, Any] = field(default_factory=dict)  # what its front matter sets

    @property
    def first_line(self) -> str:
        return next((line.strip() for line in self.system.splitlines() if line.strip()), "")


def folder(config_path: str | Path) -> Path:
    return Path(config_path).parent / "roles"


def names(config_path: str | Path) -> list[str]:
    """The roles there are, by name, sorted."""
    try:
        return sorted(p.stem for p in folder(config_path).glob("*.md") if re.fullmatch(NAME, p.stem))
    except OSError:
        return []


def load(config_path: str | Path, name: str) -> Role:
    """The role called name, or a UsageError: naming the roles there are when there is none of that name,
    saying what is there when it is not a regular file (a FIFO is never waited on)."""
    path = folder(config_path) / f"{name}.md"
    try:
        data = read_bytes(path, MAX_ROLE + 1) if re.fullmatch(NAME, name) else None
    except (FileNotFoundError, NotADirectoryError):
        data = None
    except NotAFile as exc:
        raise UsageError(f"the role {path} is {exc.kind}, not a file") from None
    except OSError as exc:
        raise UsageError(f"cannot read the role {path}: {exc.strerror}") from None
    if data is None:
        there = names(config_path)
        known = f"roles in {folder(config_path)}: {', '.join(there)}" if there else \
            f"there are no roles yet; write one as {folder(config_path)}/NAME.md"
        raise UsageError(f"unknown role {name[:40]!r} ({known})")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"the role {path} is not UTF-8 text (byte {exc.start})") from None
    if len(data) > MAX_ROLE:
        raise UsageError(f"the role {path} is over {MAX_ROLE // 2**20} MiB")
    settings, system = _split(path, text)
    if not system:
        raise UsageError(f"the role {path} has no text to use as the system prompt")
    return Role(name, system, settings)


def _split(path: Path, text: str) -> tuple[dict[str, Any], str]:
    """Front matter (checked) and the prompt text."""
    lines = text.replace("\r\n", "\n").split("\n")
    if not lines or lines[0].strip() != "+++":
        return {}, text.strip()
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "+++")
    except StopIteration:
        raise UsageError(f"the role {path}: the front matter that starts with +++ on line 1 never ends") from None
    try:
        settings = tomllib.loads("\n".join(lines[1:end]))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"the role {path}: its front matter is not valid TOML ({exc})") from None
    for key in settings:
        if key not in SETTINGS:
            raise UsageError(f"the role {path}: unknown setting {key!r} in its front matter "
                             f"(a role may set {', '.join(SETTINGS)})")
    return settings, "\n".join(lines[end + 1:]).strip()


def listing(config_path: str | Path) -> list[tuple[str, str]]:
    """(name, first line) of every role that can be read; unreadable ones say why."""
    rows = []
    for name in names(config_path):
        try:
            rows.append((name, load(config_path, name).first_line[:100]))
        except UsageError as exc:
            rows.append((name, f"(cannot be used: {exc})"))
    return rows
