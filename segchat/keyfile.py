"""The API key saved into config.toml: written whole or not at all, readable only by its owner."""

from __future__ import annotations

import os
import re
from pathlib import Path


def save_api_key(path: Path, key: str) -> None:
    """Write api_key into the config file (created 0600 in a 0700 dir), keeping its other lines."""
    from segchat.config import read_text

    text = read_text(path) if path.exists() else ""
    line = f"api_key = {_toml_string(key)}"
    pattern = re.compile(r"^\s*api_key\s*=.*$", re.MULTILINE)
    text = pattern.sub(lambda _: line, text, count=1) if pattern.search(text) else f"{line}\n{text}"
    atomic_write(path, text)


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def atomic_write(path: Path, text: str) -> None:
    """Replace path with text in one step, mode 0600, so a crash leaves old or new, never half."""
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":
        os.chmod(path.parent, 0o700)
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
