"""The API key written into the config file: its other lines kept, the file replaced whole and private."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from segchat.private_files import Where, present, private_dir, read_text


def save_api_key(path: Where, key: str) -> None:
    """Write api_key into the config file (created 0600 in a private dir), keeping its other lines."""
    text = read_text(path) if present(path) else ""
    line = f"api_key = {_toml_string(key)}"
    top, rest = _top_level(text)
    pattern = re.compile(r"^\s*api_key\s*=.*$", re.MULTILINE)
    top = pattern.sub(lambda _: line, top, count=1) if pattern.search(top) else f"{line}\n{top}"
    _atomic_write(path, top + rest)


def remove_api_key(path: Where) -> bool:
    """Take the top-level api_key out of the config file (its other lines kept): whether there was one."""
    if not present(path):
        return False
    top, rest = _top_level(read_text(path))
    kept = re.sub(r"^\s*api_key\s*=.*(\n|$)", "", top, count=1, flags=re.MULTILINE)
    if kept == top:
        return False
    _atomic_write(path, kept + rest)
    return True


def _top_level(text: str) -> tuple[str, str]:
    """A config's text cut before its first [table]: the top level, where segchat's own api_key is, and the rest,
    where a profile's key is another server's, never touched."""
    table = re.search(r"^\s*\[", text, re.MULTILINE)
    return (text[: table.start()], text[table.start():]) if table else (text, "")


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _atomic_write(path: Where, text: str) -> None:
    """Replace path with text in one step, mode 0600, so a crash leaves old or new, never half.

    A symlinked file is written where the link points: the link stays a link.
    """
    path = Path(path).resolve()
    private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
