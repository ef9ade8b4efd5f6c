"""Running the installed segchat as scripts run it."""

from __future__ import annotations

import signal
import subprocess

from support.screen import segchat_command

KEY = "test-key-12345"


def default_signals() -> None:
    """For children: the test runner may ignore SIGINT, and a child would inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def segchat(*args: str, env: dict, stdin: bytes | None = b"", timeout: float = 30) -> subprocess.CompletedProcess:
    # start_new_session: no controlling terminal, as under cron or CI.
    return subprocess.run([segchat_command(), *args], input=stdin, capture_output=True, env=env, timeout=timeout,
                          start_new_session=True, preexec_fn=default_signals)
