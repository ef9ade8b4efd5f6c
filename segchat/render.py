"""All terminal output of server and stored text, and the one sanitiser it passes through."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from typing import IO, Any, Iterator, Sequence

from segchat.errors import redact

_VISIBLE: dict[int, str] = {c: "^" + chr(c + 0x40) for c in range(0x20) if chr(c) not in "\n\t"}
_VISIBLE[0x7F] = "^?"
_VISIBLE.update({c: f"<U+{c:04X}>" for c in range(0x80, 0xA0)})
# Bidi overrides/isolates and tag characters reorder or hide text (Trojan Source).
for _c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C, *range(0xE0000, 0xE0080)]:
    _VISIBLE[_c] = f"<U+{_c:04X}>"
_VISIBLE.update({c: "\ufffd" for c in range(0xD800, 0xE000)})


def sanitize(text: str) -> str:
    """Make untrusted text inert for a terminal: controls become visible (ESC as ^[), never raw.

    Per character and stateless, so chunked and whole text come out the same.
    """
    return text.replace("\r\n", "\n").translate(_VISIBLE)


def safe(text: Any) -> str:
    """Sanitised and with secrets redacted: for anything that may hold server or user data."""
    return sanitize(redact(str(text)))


class Renderer:
    """Writes replies, notices and errors; rich is loaded only when first needed."""

    def __init__(self, out: IO[str] | None = None, err: IO[str] | None = None, *,
                 rich_output: bool | None = None, code_theme: str = "monokai") -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.rich_output = _is_tty(self.out) if rich_output is None else rich_output
        self.code_theme = code_theme
        self._console: Any = None

    @property
    def console(self) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(file=self.out, force_terminal=self.rich_output or None,
                                    highlight=False, markup=False, emoji=False)
        return self._console

    def reply(self, text: str) -> None:
        """The model's reply: Markdown with highlighted code on a terminal, plain text elsewhere."""
        clean = sanitize(text)
        if not self.rich_output:
            self.out.write(clean if clean.endswith("\n") else clean + "\n")
            self.out.flush()
            return
        from rich.markdown import Markdown

        self.console.print(Markdown(clean, code_theme=self.code_theme, hyperlinks=False))

    def stream(self) -> Any:
        """A view that shows a reply as it arrives: Markdown on a terminal, plain text flushed piece by piece."""
        from segchat.mdstream import MarkdownStream, PlainStream

        if self.rich_output:
            return MarkdownStream(self.console, self.code_theme)
        return PlainStream(self.out)

    def page(self, markdown: str) -> None:
        """Long text through the pager ($PAGER), short text straight out."""
        if not self.rich_output:
            self.plain(markdown)
            return
        from rich.markdown import Markdown

        document = Markdown(sanitize(markdown), code_theme=self.code_theme, hyperlinks=False)
        with self.console.capture() as captured:
            self.console.print(document)
        text = captured.get()
        if text.count("\n") < self.console.size.height - 2:
            self.out.write(text)
            self.out.flush()
            return
        with self.console.pager(styles=True):
            self.console.print(document)

    def clipboard(self, text: str) -> None:
        """Put text on the clipboard with OSC 52, which the terminal handles, even over SSH."""
        import base64

        self.out.write(f"\x1b]52;c;{base64.b64encode(text.encode()).decode()}\x07")
        self.out.flush()

    def plain(self, text: str) -> None:
        """Text as it is (sanitised), never interpreted as Markdown."""
        self.out.write(safe(text) + "\n")
        self.out.flush()

    def notice(self, text: str) -> None:
        self._line(safe(text), "2")  # dim

    def warning(self, text: str) -> None:
        self._line(safe(text), "33")  # yellow

    def error(self, text: str, *, to_stderr: bool = False) -> None:
        """One line; in the REPL on stdout so it stays in order with the conversation."""
        stream = self.err if to_stderr else self.out
        line = f"segchat: error: {safe(text)}" if to_stderr else f"error: {safe(text)}"
        if to_stderr:
            stream.write(line + "\n")
            stream.flush()
        else:
            self._line(line, "1;31")  # bold red

    def _line(self, clean: str, sgr: str) -> None:
        """One styled line of already-sanitised text.

        Plain SGR codes, not rich: notices are printed before the first prompt, and importing
        rich there would cost more start-up time than everything else segchat does.
        """
        if self.rich_output and not os.environ.get("NO_COLOR"):
            clean = f"\x1b[{sgr}m{clean}\x1b[0m"
        self.out.write(clean + "\n")
        self.out.flush()

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Aligned columns on a terminal; tab-separated when piped, for scripts."""
        rows = [[safe(cell) for cell in row] for row in rows]
        if not self.rich_output:
            for row in [list(headers), *rows]:
                self.out.write("\t".join(c.replace("\t", " ").replace("\n", " ") for c in row) + "\n")
            self.out.flush()
            return
        from rich.table import Table
        from rich.text import Text

        table = Table(box=None, header_style="bold", pad_edge=False)
        for header in headers:
            table.add_column(Text(header))
        for row in rows:
            table.add_row(*[Text(c.replace("\n", " ")) for c in row])
        self.console.print(table)

    def exchange(self, role: str, text: str, limit: int = 600) -> None:
        """A stored message shown briefly (on resume): cheap plain text, no Markdown."""
        clean = safe(text)
        if len(clean) > limit:
            clean = clean[:limit] + " …"
        label = {"user": "you", "assistant": "model", "system": "system"}.get(role, role)
        bold = self.rich_output and not os.environ.get("NO_COLOR")
        self.out.write(f"\x1b[1m{label}:\x1b[0m {clean}\n" if bold else f"{label}: {clean}\n")
        self.out.flush()

    @contextlib.contextmanager
    def waiting(self, label: str = "waiting for the model") -> Iterator[Any]:
        """A spinner with elapsed seconds; yields a tick() to call while waiting."""
        if not self.rich_output:
            yield lambda: None
            return
        started = time.monotonic()
        with self.console.status(f"{label}… 0s", spinner="dots") as status:
            yield lambda: status.update(f"{label}… {time.monotonic() - started:.0f}s  (Ctrl-C cancels)")


def preload() -> None:
    """Import rich's Markdown machinery ahead of the first reply (called off the main thread)."""
    import rich.console  # noqa: F401
    import rich.markdown  # noqa: F401
    import rich.status  # noqa: F401


def _is_tty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
