"""Files segchat reads and writes: written whole or not at all, private, never a change to what it did not create."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from segchat.errors import ConfigError

Where = str | os.PathLike[str]  # a path, as str or pathlib.Path


def private_dir(path: Where) -> None:
    """Make path (and missing parents) mode 0700; a directory that already exists is left as it is."""
    path = Path(path)
    missing = [at for at in (path, *path.parents) if not at.exists()]
    path.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":
        for created in missing:
            created.chmod(0o700)


def private_file(path: Where) -> None:
    """Create path empty with mode 0600 if it is not there yet."""
    os.close(os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600))


def present(path: Where, file: bool = False) -> bool:
    """Whether path is there (as a file, with file): a ConfigError where that cannot be told (no permission to
    look), rather than going on as if there were no config file."""
    try:
        mode = Path(path).stat().st_mode
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP):
            return False
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return stat.S_ISREG(mode) if file else True


def read_text(path: Where) -> str:
    try:  # utf-8-sig: editors on some systems add a BOM, which tomllib rejects
        return Path(path).read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def key_file_warnings(path: Where) -> list[str]:
    """A file holding the key that others can read: what to do about it."""
    if os.name != "posix":
        return []
    mode = Path(path).stat().st_mode & 0o777
    if mode & 0o077:
        return [f"{path} holds your API key and is readable by others (mode {mode:o}); run: chmod 600 {path}"]
    return []
