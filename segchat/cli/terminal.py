"""Where input comes from: a piped system prompt, the controlling terminal, a hidden key prompt."""

from __future__ import annotations

import getpass
import os
import sys
from typing import IO

from segchat.config.settings import KEY_ENV
from segchat.errors import UsageError
from segchat.ui.render import is_terminal

MAX_PIPED = 4 * 2**20  # far beyond a 128K-token context; stops `yes | segchat` from reading forever


def read_piped_stdin() -> str | None:
    """All of standard input when it is a pipe or file (the system prompt), else None."""
    if sys.stdin is None or is_terminal(sys.stdin):
        return None
    try:
        data = sys.stdin.buffer.read(MAX_PIPED + 1)
    except (OSError, ValueError):
        return None
    if len(data) > MAX_PIPED:
        raise UsageError(f"standard input is over {MAX_PIPED // 2**20} MiB; a system prompt that large "
                         "would not fit the model's context")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"standard input is not UTF-8 text (invalid byte at offset {exc.start}); "
                         "convert it first, e.g. iconv -t UTF-8") from None


class Tty:
    """The controlling terminal as a reader and a writer (a tty is not seekable, so not one 'r+' file)."""

    def __init__(self, reader: IO[str], writer: IO[str]) -> None:
        self.reader, self.writer = reader, writer

    def write(self, text: str) -> None:
        self.writer.write(text)

    def flush(self) -> None:
        self.writer.flush()


def open_tty() -> Tty | None:
    """The controlling terminal, for a REPL whose standard input was a pipe; None if there is none."""
    try:
        reader = open("/dev/tty", encoding="utf-8", errors="replace")
    except OSError:
        return None
    try:
        return Tty(reader, open("/dev/tty", "w", encoding="utf-8", errors="replace"))
    except OSError:
        reader.close()
        return None


def stdio_tty() -> Tty:
    """Standard input and output, when both are the terminal."""
    return Tty(sys.stdin, sys.stdout)


def find_tty() -> Tty | None:
    """The terminal to chat on: standard input and output when both are one, else the controlling terminal
    (standard input or output is a pipe); None when there is none."""
    return stdio_tty() if is_terminal(sys.stdin) and is_terminal(sys.stdout) else open_tty()


def ask_api_key(tty: Tty, replacing: bool = False) -> str:
    """Hidden input on the terminal; the key never echoes nor enters the prompt history."""
    if not replacing:
        tty.write("No Segmind API key found (get one at segmind.com → API Keys).\n")
        tty.flush()
    try:
        key = getpass.getpass("Segmind API key (input hidden): ", stream=tty.writer)
    except EOFError:
        key = ""
    if not key.strip():
        raise UsageError(f"no API key given; set {KEY_ENV} or run segchat again to enter one")
    return key


def system_prompt(system: str | None, system_file: str | None, *, piped: bool = True,
                  role: str | None = None) -> str | None:
    """The system prompt from --system, --system-file, a role or piped standard input (only one of them).

    piped=False: standard input is something else (an attachment, -f -), never the system prompt.
    """
    text = read_piped_stdin() if piped else None
    given = [n for n, v in (("--system", system), ("--system-file", system_file), ("--role", role),
                            ("piped standard input", text and text.strip())) if v]
    if len(given) > 1:
        raise UsageError(f"the system prompt is given twice ({' and '.join(given)}); use one")
    if system_file:
        return _read_prompt_file(system_file)
    return system or role or (text.strip() if text and text.strip() else None)


def _read_prompt_file(name: str) -> str | None:
    """A prompt file, with the same size cap as piped input."""
    try:
        with open(os.path.expanduser(name), "rb") as handle:
            data = handle.read(MAX_PIPED + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror}") from None
    if len(data) > MAX_PIPED:
        raise UsageError(f"{name} is over {MAX_PIPED // 2**20} MiB; a system prompt that large would not fit "
                         "the model's context")
    try:
        return data.decode("utf-8-sig").strip() or None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{name} is not UTF-8 text (invalid byte at offset {exc.start})") from None
