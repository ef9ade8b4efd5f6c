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
    # Only the top level, before the first [table]: a profile's own key is another server's, never touched.
    table = re.search(r"^\s*\[", text, re.MULTILINE)
    top, rest = (text[: table.start()], text[table.start():]) if table else (text, "")
    pattern = re.compile(r"^\s*api_key\s*=.*$", re.MULTILINE)
    top = pattern.sub(lambda _: line, top, count=1) if pattern.search(top) else f"{line}\n{top}"
    atomic_write(path, top + rest)


def remove_api_key(path: Where) -> bool:
    """Take the top-level api_key out of the config file (its other lines kept): whether there was one."""
    if not present(path):
        return False
    text = read_text(path)
    table = re.search(r"^\s*\[", text, re.MULTILINE)
    top, rest = (text[: table.start()], text[table.start():]) if table else (text, "")
    kept = re.sub(r"^\s*api_key\s*=.*(\n|$)", "", top, count=1, flags=re.MULTILINE)
    if kept == top:
        return False
    atomic_write(path, kept + rest)
    return True


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def atomic_write(path: Where, text: str) -> None:
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
