"""Config files written for a test."""

from __future__ import annotations

from pathlib import Path

import pytest

from segchat.config import settings
from segchat.errors import ConfigError


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def refusal(path: Path, text: str, profile: str | None = None) -> str:
    """What settings.load says of a config file holding text (written at path), which it must refuse."""
    write(path, text)
    with pytest.raises(ConfigError) as info:
        settings.load(path, env={}, profile=profile)
    return str(info.value)
