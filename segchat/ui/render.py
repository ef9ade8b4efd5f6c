"""All terminal output of server and stored text, each passed through the one sanitiser (text.sanitize)."""

from __future__ import annotations

import base64
import contextlib
import os
import sys
import textwrap
import time
from typing import IO, Any, Iterator, Sequence

from segchat.text.redact import hide_secrets, needs_redacting, redact
from segchat.text.sanitize import as_it_is, safe, sanitize
from segchat.ui.markdown import renderable
from segchat.ui.markdown_stream import MarkdownStream, PlainStream
from segchat.ui.table import aligned, room_on


class Renderer:
    """Writes replies, notices, errors and tables; rich's console and Markdown are loaded when first needed."""

    def __init__(self, out: IO[str] | None = None, err: IO[str] | None = None, *,
                 rich_output: bool | None = None, code_theme: str = "monokai",
                 shows_reasoning: bool | None = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.rich_output = is_terminal(self.out) if rich_output is None else rich_output
        # A reply's reasoning is for a person reading a terminal; a pipe gets the reply alone.
        self.shows_reasoning = is_terminal(self.out) if shows_reasoning is None else shows_reasoning
        self.code_theme = code_theme
        self.broken = False  # the output went away (a closed pipe) while a reply streamed to it
        self._console: Any = None

    @property
    def console(self) -> Any:
        if self._console is None:
            from rich.console import Console

            # Told, not left to rich's own reading of the environment: colour_allowed is the one rule.
            colour = self.rich_output and colour_allowed()
            self._console = Console(file=self.out, force_terminal=self.rich_output, no_color=not colour,
                                    color_system=_colour_system() if colour else None,
                                    highlight=False, markup=False, emoji=False)
        return self._console

    def reply(self, text: str) -> None:
        """The model's reply: Markdown with highlighted code on a terminal, plain text elsewhere; a key segchat
        was given is hidden (hide_secrets), a header written out is not (it is the reply's own)."""
        clean = sanitize(hide_secrets(text))
        if not self.rich_output:
            self.out.write(clean if clean.endswith("\n") else clean + "\n")
            self.out.flush()
            return
        self.console.print(self.markdown(clean))

    def reasoning(self, text: str) -> None:
        """A reply's reasoning, set apart before the reply: each line behind a bar, wrapped to the width, dim where
        colour is allowed, a blank line after it. Nothing when there is none, or when shows_reasoning is off."""
        if not self.shows_reasoning or not text.strip():
            return
        width = max(room_on(self.out) - 2, 20)
        pieces = [piece for line in sanitize(hide_secrets(text)).strip("\n").split("\n")
                  for piece in textwrap.wrap(line, width, replace_whitespace=False, break_on_hyphens=False) or [""]]
        self._line("\n".join(f"│ {piece}" if piece else "│" for piece in pieces), "2")  # dim
        self.out.write("\n")
        self.out.flush()

    def markdown(self, clean: str) -> Any:
        """Sanitised text as a rich renderable in this renderer's code theme (see markdown.renderable)."""
        return renderable(clean, self.code_theme)

    def stream(self) -> MarkdownStream | PlainStream:
        """A view that shows a reply as it arrives: Markdown on a terminal, plain text flushed piece by piece."""
        if self.rich_output:  # redrawn in place on a terminal only: FORCE_COLOR's pipe gets each block once
            return MarkdownStream(self.console, self.code_theme, live=is_terminal(self.out))
        return PlainStream(self.out)

    def clipboard(self, text: str) -> str | None:
        """Send text to the terminal's clipboard with OSC 52 (works over SSH); how it went, or None when
        there is no terminal. Inside tmux the sequence is wrapped so tmux passes it on to the terminal.
        """
        if not is_terminal(self.out):
            return None
        # The terminal gets the text, so no key: a reply stored before keys were hidden may hold one.
        osc = f"\x1b]52;c;{base64.b64encode(hide_secrets(text).encode()).decode()}\x07"
        if os.environ.get("TMUX"):
            self.out.write("\x1bPtmux;" + osc.replace("\x1b", "\x1b\x1b") + "\x1b\\")
            how = "OSC 52 through tmux"
        else:
            self.out.write(osc)
            how = "OSC 52"
        self.out.flush()
        return how

    def plain(self, text: str | list[str]) -> None:
        """Text as it is (sanitised), never interpreted as Markdown; a long one may come as pieces that each
        end a line (then each is sanitised and written on its own, which is the same as the whole)."""
        pieces = [text] if isinstance(text, str) else text
        if any(needs_redacting(piece) for piece in pieces):  # what it looks for never spans a line break
            pieces = [redact("".join(pieces))]
        for piece in pieces:
            self.out.write(sanitize(piece))
        self.out.write("\n")
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

        Plain SGR codes, not rich: notices come before the first prompt, and rich loads with the first reply.
        """
        if self.rich_output and colour_allowed():
            clean = f"\x1b[{sgr}m{clean}\x1b[0m"
        self.out.write(clean + "\n")
        self.out.flush()

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]], shorten: int | None = None) -> None:
        """Aligned columns on a terminal (see table.aligned; shorten: the column to cut short when they do not
        fit); tab-separated when piped, for scripts. Each cell is what safe() makes of it, a tab or line break
        in it shown as a space."""
        cells = [[str(cell) for cell in row] for row in rows]
        # All the cells are looked through at once, joined by line breaks: no secret or header name spans one
        # (a secret that holds one is then seen in the joined text), and sanitize() looks no further than the
        # next character, which a line break ends. So when the joined text needs no change, no cell does.
        if not as_it_is("\n".join(map("\n".join, cells)).encode("utf-8", "surrogatepass")):
            cells = [[safe(cell) for cell in row] for row in cells]
        lines = [[cell.replace("\t", " ").replace("\n", " ") for cell in line] for line in [list(headers), *cells]]
        if self.rich_output:
            bold = colour_allowed()
            self.out.write(aligned(lines, room_on(self.out), bold, shorten))
        else:
            self.out.write("".join("\t".join(line) + "\n" for line in lines))
        self.out.flush()

    def exchange(self, role: str, text: str, limit: int = 600, mark: str = "") -> None:
        """A stored message shown briefly (on resume): plain text, no Markdown, wrapped at words on a terminal.
        mark: how a reply is not whole ("cut off"), shown with its label."""
        clean = safe(text)
        if len(clean) > limit:
            clean = clean[:limit] + " …"
        label = {"user": "you", "assistant": "model", "system": "system"}.get(role, role)
        label = f"{label} ({mark})" if mark else label
        if self.rich_output:
            clean = _wrapped(clean, room_on(self.out), len(label) + 2)
        bold = self.rich_output and colour_allowed()
        self.out.write(f"\x1b[1m{label}:\x1b[0m {clean}\n" if bold else f"{label}: {clean}\n")
        self.out.flush()

    @contextlib.contextmanager
    def waiting(self, label: str = "waiting for the model") -> Iterator[Any]:
        """A spinner with elapsed seconds; yields tick(state=None, counting=False) to call while waiting (state:
        what the request is doing, such as a queued job's "queued" or "running", shown instead of the label;
        counting: state counts its own seconds, "sending in 9 s", and is shown without the elapsed ones). On a
        terminal only: it is for a person watching, and FORCE_COLOR's pipe would keep every frame."""
        if not self.rich_output or not is_terminal(self.out):
            yield lambda state=None, counting=False: None
            return
        started = time.monotonic()

        def tick(state: str | None = None, counting: bool = False) -> None:
            shown = safe(state) if state else label
            seconds = "" if counting and state else f"… {time.monotonic() - started:.0f}s"
            status.update(f"{shown}{seconds}  (Ctrl-C cancels)")

        with self.console.status(f"{label}… 0s", spinner="dots") as status:
            yield tick


def _wrapped(text: str, width: int, first: int) -> str:
    """text wrapped at words to width columns, its first line first columns shorter (a label goes before it)."""
    lines = []
    for number, line in enumerate(text.split("\n")):
        indent = " " * first if number == 0 else ""
        pieces = textwrap.wrap(line, width, initial_indent=indent, break_on_hyphens=False) or [indent]
        lines += [pieces[0][len(indent):], *pieces[1:]]
    return "\n".join(lines)


def is_terminal(stream: IO[str] | None) -> bool:
    """Whether stream is a terminal (a closed or missing stream is not)."""
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):
        return False


def colour_allowed() -> bool:
    """Whether rendered output (see styled) may carry escape codes for colour and emphasis (bold, dim). The one
    rule, first match wins: NO_COLOR set and not empty (--no-color sets it): never (no-color.org); FORCE_COLOR
    set and not empty, whatever its value, 0 too (force-color.org): always; TERM dumb or unknown: never; else
    yes. Layout (Markdown laid out, aligned tables, wrapping, a spinner) is not colour and stays."""
    if os.environ.get("NO_COLOR"):
        return False
    return bool(os.environ.get("FORCE_COLOR")) or not _dumb_terminal()


def styled(stream: IO[str]) -> bool:
    """Rendered output (Markdown, aligned tables, a spinner) for stream: on a terminal, and on any stream when
    FORCE_COLOR asks for colour there (as on a terminal) and NO_COLOR does not forbid it; else plain text."""
    return is_terminal(stream) or (bool(os.environ.get("FORCE_COLOR")) and colour_allowed())


def _dumb_terminal() -> bool:
    return os.environ.get("TERM", "") in ("dumb", "unknown")


def _colour_system() -> str:
    """rich's colours where colour is allowed: as TERM and COLORTERM say, the 16 basic ones when FORCE_COLOR
    overrides a dumb TERM (rich would give none)."""
    return "standard" if _dumb_terminal() else "auto"
