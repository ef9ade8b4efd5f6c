"""Files segchat reads and writes: read only when regular files (never waiting on a FIFO or a device), written
whole or not at all, private, never a change to what it did not create."""

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


# What a file is when it is not a regular one, in words; the first test that fits tells.
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))
# Reading bytes as they are (O_BINARY, on Windows), and opening never waits: not for a FIFO's writer, nor for a
# device (and none becomes the controlling terminal).
_READ = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)


class NotAFile(Exception):
    """Something other than a regular file is where one is to be read; kind says what, in words ("a FIFO")."""

    def __init__(self, path: Where, kind: str) -> None:
        super().__init__(f"{os.fspath(path)}: it is {kind}, not a file")
        self.kind = kind


def _kind_of(mode: int) -> str | None:
    """What a file of this st_mode is, in words ("a FIFO", "a character device"); None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((words for test, words in _KINDS if test(mode)), "a special file")


def read_bytes(path: Where, limit: int = -1) -> bytes:
    """The regular file at path (a symlink to one is one), at most limit bytes of it (-1: all).

    Anything else there is a NotAFile, found before it is opened and again on what was opened (one swapped in
    between): neither a FIFO without a writer nor a device makes this wait. Other trouble is an OSError.
    """
    kind = _kind_of(os.stat(path).st_mode)
    if kind:
        raise NotAFile(path, kind)
    with open(os.open(path, _READ), "rb") as handle:
        kind = _kind_of(os.fstat(handle.fileno()).st_mode)
        if kind:
            raise NotAFile(path, kind)
        return handle.read(limit)


def present(path: Where) -> bool:
    """Whether a file is at path: False where nothing is. A ConfigError where something other than a regular
    file is (a directory, a FIFO, a device: never read as a config file) and where it cannot be told (no
    permission to look), rather than going on as if there were no config file."""
    try:
        mode = Path(path).stat().st_mode
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP):
            return False
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    kind = _kind_of(mode)
    if kind:
        raise ConfigError(str(NotAFile(path, kind)))
    return True


def read_text(path: Where) -> str:
    """The regular file at path as UTF-8 text, or a ConfigError naming it."""
    try:  # utf-8-sig: editors on some systems add a BOM, which tomllib rejects
        return read_bytes(path).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except NotAFile as exc:
        raise ConfigError(str(exc)) from None
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
