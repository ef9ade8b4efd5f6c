"""Drive segchat in a real pseudo-terminal and read the screen through a VT emulator."""

from __future__ import annotations

import shutil
import signal
import sys
import time
from pathlib import Path

import pexpect
import pyte


def segchat_command() -> str:
    """The installed console script, as a user would run it."""
    beside = Path(sys.executable).with_name("segchat")  # the venv the tests run in
    return str(beside) if beside.exists() else (shutil.which("segchat") or "segchat")


def _default_signals() -> None:
    # The test runner may ignore SIGINT; a terminal program's Ctrl-C must reach it as it would for a user.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Terminal:
    """A pty running segchat; answers cursor-position requests as a terminal would."""

    def __init__(self, args: list[str], env: dict[str, str], rows: int = 30, cols: int = 100,
                 command: str | None = None) -> None:
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = b""
        self.child = pexpect.spawn(command or segchat_command(), args, env=env, dimensions=(rows, cols),
                                   preexec_fn=_default_signals)
        self.child.delaybeforesend = None  # pexpect's own 50 ms pause before each send
        # pyte answers ESC[6n through this hook; send the reply back to the program.
        self.screen.write_process_input = lambda data: self.child.send(data.encode())

    def pump(self, seconds: float = 0.05) -> None:
        end = time.monotonic() + seconds
        while True:
            try:
                data = self.child.read_nonblocking(65536, timeout=max(0.01, end - time.monotonic()))
            except pexpect.TIMEOUT:
                data = b""
            except pexpect.EOF:
                return
            if data:
                self.raw += data
                self.stream.feed(data)
            if time.monotonic() >= end:
                return

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def wait_for(self, needle: str, timeout: float = 15.0) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.pump(0.05)
            if needle in self.text():
                return self.text()
            if not self.child.isalive() and needle not in self.text():
                self.pump(0.2)
                if needle in self.text():
                    return self.text()
                break
        raise AssertionError(f"{needle!r} not on screen after {timeout}s:\n{self.text()}")

    def bottom_line(self) -> str:
        return self.screen.display[-1].rstrip()

    def type(self, text: str) -> None:
        self.child.send(text.encode())

    def wait_exit(self, timeout: float = 15.0) -> int:
        end = time.monotonic() + timeout
        while self.child.isalive() and time.monotonic() < end:
            self.pump(0.05)
        self.pump(0.1)
        self.child.close()
        return self.child.exitstatus if self.child.exitstatus is not None else -(self.child.signalstatus or 0)

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)
