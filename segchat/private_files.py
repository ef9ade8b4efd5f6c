"""Files segchat reads and writes: written whole or not at all, private, never a change to what it did not create."""

from __future__ import annotations

import errno
import os
import re
import stat

from segchat.errors import ConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing; checkers read it as True
if TYPE_CHECKING:
    from os import PathLike

    Where = str | PathLike[str]

# Paths are str here and wherever the store and the settings are opened: importing pathlib (and the urllib it
# imports) costs more than the rest of a `segchat --list`. A pathlib.Path is taken wherever a path is.


def private_dir(path: Where) -> None:
    """Make path (and missing parents) mode 0700; a directory that already exists is left as it is."""
    path = os.fspath(path) or "."  # the directory of a bare file name
    missing, at = [], path
    while at and not os.path.exists(at):
        missing.append(at)
        at, parent = os.path.dirname(at), at
        if at == parent:
            break
    os.makedirs(path, exist_ok=True)
    for created in missing:
        if os.name == "posix":
            os.chmod(created, 0o700)


def private_file(path: Where) -> None:
    """Create path empty with mode 0600 if it is not there yet."""
    os.close(os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600))


def present(path: Where, file: bool = False) -> bool:
    """Whether path is there (as a file, with file), as pathlib tells it: a ConfigError where that cannot be
    told (no permission to look), rather than going on as if there were no config file."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP):
            return False
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return stat.S_ISREG(mode) if file else True


def read_text(path: Where) -> str:
    try:
        with open(path, "rb") as handle:  # utf-8-sig: editors on some systems add a BOM, which tomllib rejects
            return handle.read().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


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


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def atomic_write(path: Where, text: str) -> None:
    """Replace path with text in one step, mode 0600, so a crash leaves old or new, never half.

    A symlinked file is written where the link points: the link stays a link.
    """
    import tempfile

    path = os.path.realpath(path)
    directory = os.path.dirname(path)
    private_dir(directory)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def key_file_warnings(path: Where) -> list[str]:
    """A file holding the key that others can read: what to do about it."""
    if os.name != "posix":
        return []
    mode = os.stat(path).st_mode & 0o777
    if mode & 0o077:
        return [f"{path} holds your API key and is readable by others (mode {mode:o}); run: chmod 600 {path}"]
    return []
