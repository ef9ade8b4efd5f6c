"""Which process owns an unsent message: this one's token, and whether another's owner still lives."""

from __future__ import annotations

import functools
import os


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), so a reused pid is not mistaken for it."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return "?"


@functools.cache
def _host() -> str:
    """This machine's name, as gethostname() gives it (uname's node name; Windows keeps it in COMPUTERNAME)."""
    return os.uname().nodename if hasattr(os, "uname") else os.environ.get("COMPUTERNAME", "")


def token() -> str:
    """This process: host, pid and start time."""
    return f"{_host()}:{os.getpid()}:{_start_time(os.getpid())}"


def alive(owner: str | None) -> bool:
    """True while the process that wrote owner runs (on another host: assumed alive, never taken over)."""
    if not owner:
        return False
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    host, pid, started = parts[0], int(parts[1]), parts[2]
    if host != _host():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process with that pid: it lives
    return started == "?" or _start_time(pid) in (started, "?")
