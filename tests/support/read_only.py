"""Files, directories and file systems this process cannot write, made for real where this machine allows.

chmod binds an ordinary user, not root (root writes whatever the mode says). As root, chattr +i makes a file or
directory immutable (it needs CAP_LINUX_IMMUTABLE and a file system that has the flag, such as ext4 or tmpfs), and
a private mount namespace (unshare -m, or -rm for a user namespace) can bind a directory read-only for one command.
Each is checked to hold before it is used; where none does, the test is skipped, saying why.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def writable(path: Path) -> bool:
    """Whether this process can still write path: a file it can open for appending, a directory it can add to."""
    try:
        if path.is_dir():
            probe = path / f".probe-{uuid.uuid4().hex}"
            probe.touch()
            probe.unlink()
        else:
            with open(path, "ab"):
                pass
    except OSError:
        return False
    return True


@contextlib.contextmanager
def read_only(where: str | Path) -> Iterator[str]:
    """where (a file or a directory) read-only for this process while inside; yields how ("chmod" or "chattr")."""
    path = Path(where)
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        try:
            if writable(path):
                pytest.skip(f"chmod does not stop this process writing {path}")
            yield "chmod"
        finally:
            path.chmod(mode)
        return
    if shutil.which("chattr") is None:
        pytest.skip("running as root, where chmod does not stop writes, and chattr is not installed")
    made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    try:
        if made.returncode != 0 or writable(path):
            pytest.skip(f"running as root, where chmod does not stop writes, and chattr +i does not either here "
                        f"({made.stderr.strip() or 'the file stays writable'})")
        yield "chattr"
    finally:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)


def on_read_only_mount(directory: Path, argv: list[str], **run: object) -> subprocess.CompletedProcess:
    """Run argv with directory bound read-only over itself, in a mount namespace of its own (the test's view of
    the file system is not changed); skipped where no such namespace can be made here."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed: no read-only mount can be made")
    bind = 'mount --bind -o ro "$1" "$1" || exit 97; shift; '
    probe = '! touch "$1/.probe" 2>/dev/null'  # the bind holds: the directory cannot be written
    for unshare in (["unshare", "-m"], ["unshare", "-rm"]):
        held = subprocess.run([*unshare, "--", "sh", "-c", bind + probe, "sh", str(directory), str(directory)],
                              capture_output=True)
        if held.returncode == 0:
            return subprocess.run([*unshare, "--", "sh", "-c", bind + 'exec "$@"', "sh", str(directory), *argv],
                                  **run)
    pytest.skip("no mount namespace with a read-only bind can be made here (unshare -m and -rm refused)")
