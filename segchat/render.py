"""All terminal output of server and stored text, and the one sanitiser it passes through."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sys
import time
from typing import IO, Any, Iterator, Sequence

from segchat.errors import redact

_ASCII: dict[int, str] = {c: "^" + chr(c + 0x40) for c in range(0x20) if chr(c) not in "\n\t"}
_ASCII[0x7F] = "^?"
_NEEDS_WORK_ASCII = re.compile("[\x00-\x08\x0b-\x1f\x7f]")  # what sanitize changes in ASCII text
# Shown as <U+XXXX>: bidi overrides/isolates/marks reorder text (Trojan Source); the rest draw nothing and so
# can hide text or smuggle data (tag characters spell out hidden ASCII; so do runs of variation selectors).
# Nearly all of Unicode's Default_Ignorable_Code_Point set, plus the line/paragraph separators (no terminal
# breaks a line there, but str.splitlines and some widgets do). Kept: VS15/VS16 (U+FE0E/U+FE0F, emoji and text
# presentation) and, depending on what follows, ZWNJ/ZWJ (see _joiners).
_INVISIBLE = [
    0x00AD,  # soft hyphen
    0x034F,  # combining grapheme joiner
    0x061C,  # Arabic letter mark
    0x115F, 0x1160, 0x3164, 0xFFA0,  # Hangul fillers
    0x17B4, 0x17B5,  # Khmer inherent vowels
    *range(0x180B, 0x1810),  # Mongolian free variation selectors and vowel separator
    0x200B, 0x200E, 0x200F,  # zero-width space, LRM, RLM
    0x2028, 0x2029,  # line and paragraph separators
    *range(0x202A, 0x202F),  # bidi embeddings and overrides
    *range(0x2060, 0x2070),  # word joiner, invisible operators, bidi isolates, deprecated format controls
    *range(0xFE00, 0xFE0E),  # variation selectors 1-14
    0xFEFF,  # zero-width no-break space (BOM)
    *range(0xFFF0, 0xFFFC),  # unassigned specials, interlinear annotation
    *range(0x1BCA0, 0x1BCA4),  # shorthand format controls
    *range(0x1D173, 0x1D17B),  # musical beam/tie/slur/phrase format controls
    *range(0xE0000, 0xE1000),  # tag characters, variation selectors 17-256, the rest of plane 14's ignorables
]
# ZWNJ and ZWJ shape Arabic-script and Indic text (Persian "می‌خواهم", Sinhala "ශ්‍රී") and ZWJ joins emoji
# (👨‍👩‍👧): kept when the next character is one they act on, shown (<U+200C>, <U+200D>) anywhere else, where
# they would only be invisible. Only the next character counts, so see HOLD_BACK for text arriving in pieces.
_JOINING_SCRIPTS = ("\u0600-\u08ff\u0900-\u0dff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff\u1800-\u18af"
                    "\ua8e0-\ua8ff\ufb50-\ufdff\ufe70-\ufefe")
_EMOJI = ("\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u2199\u21a9\u21aa\u231a\u231b\u2328\u2388\u23cf"
          "\u23e9-\u23f3\u23f8-\u23fa\u24c2\u25aa\u25ab\u25b6\u25c0\u25fb-\u25fe\u2600-\u27bf\u2934\u2935"
          "\u2b05-\u2b07\u2b1b\u2b1c\u2b50\u2b55\u3030\u303d\u3297\u3299\U0001f000-\U0001faff\U0001fc00-\U0001fffd")


@functools.cache
def _unicode() -> tuple[dict[int, str], re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """The tables for text beyond ASCII, built on first need: building them costs start-up time.

    (what to show instead of each character, what needs work at all, a lone ZWJ, a lone ZWNJ)
    """
    visible = dict(_ASCII)
    visible.update({c: f"<U+{c:04X}>" for c in range(0x80, 0xA0)})
    visible.update({c: f"<U+{c:04X}>" for c in _INVISIBLE})
    visible.update({c: "\ufffd" for c in range(0xD800, 0xE000)})
    return (visible, re.compile(_char_class({*visible, 0x200C, 0x200D})),
            re.compile(f"\u200d(?![{_EMOJI}{_JOINING_SCRIPTS}])"), re.compile(f"\u200c(?![{_JOINING_SCRIPTS}])"))


HOLD_BACK = ("\r", "\u200c", "\u200d")
"""Endings that depend on the character after them ("\\r\\n" folds to "\\n"; a joiner stays or is shown).

The contract for text that arrives in pieces: never sanitize a piece ending in one of these on its own;
hold that last character back and put it in front of the next piece (or sanitize it alone at the end).
Then sanitize(a) + sanitize(b) == sanitize(a + b) for every cut.
"""


def _char_class(codes: Any) -> str:
    """A regex character class matching exactly the given code points, as ranges."""
    ranges: list[list[int]] = []
    for c in sorted(codes):
        if ranges and c == ranges[-1][1] + 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    return "[" + "".join(f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges) + "]"



def sanitize(text: str) -> str:
    """Make untrusted text inert for a terminal: controls and invisible characters become visible
    (ESC as ^[, U+200B as <U+200B>), never raw.

    Per character, except that "\\r\\n" becomes "\\n" and a ZWNJ/ZWJ depends on the next character:
    chunked and whole text come out the same when no piece ends in one of HOLD_BACK.
    """
    if text.isascii():  # most text: a small class, and a small table when there is work
        return text if _NEEDS_WORK_ASCII.search(text) is None else text.replace("\r\n", "\n").translate(_ASCII)
    if _unicode()[1].search(text) is None:
        return text
    return _sanitize_slow(text)


def _sanitize_slow(text: str) -> str:
    """sanitize() without the fast path; linear: a replace, a regex pass per joiner present, a translate."""
    visible, _, lone_zwj, lone_zwnj = _unicode()
    text = text.replace("\r\n", "\n")
    if "\u200d" in text:
        text = lone_zwj.sub("<U+200D>", text)
    if "\u200c" in text:
        text = lone_zwnj.sub("<U+200C>", text)
    return text.translate(visible)


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
        self.broken = False  # the output went away (a closed pipe) while a reply streamed to it
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
        self.console.print(self.markdown(clean))

    def markdown(self, clean: str) -> Any:
        """Sanitised text as a rich renderable: Markdown, or plain text when nested too deep for rich,
        which silently drops what no longer fits the width (40 nested quotes show nothing).
        """
        if nesting(clean) > MAX_NESTING:
            from rich.text import Text

            return Text(clean)
        return markdown_class()(clean, code_theme=self.code_theme, hyperlinks=False)

    def stream(self) -> Any:
        """A view that shows a reply as it arrives: Markdown on a terminal, plain text flushed piece by piece."""
        from segchat.mdstream import MarkdownStream, PlainStream

        if self.rich_output:
            return MarkdownStream(self.console, self.code_theme)
        return PlainStream(self.out)

    def page(self, markdown: str) -> None:
        """Long text through the pager ($PAGER, else less), short text straight out; rendered once."""
        if not self.rich_output:
            self.plain(markdown)
            return
        with self.console.capture() as captured:
            self.console.print(self.markdown(sanitize(markdown)))
        text = captured.get()
        if text.count("\n") < self.console.size.height - 2 or not self._pager(text):
            self.out.write(text)
            self.out.flush()

    def _pager(self, text: str) -> bool:
        """Show text in the pager on our own output (the terminal even when stdout is redirected);
        False when no pager could run. less gets -R so colours show as colours, not escape codes.
        """
        import shlex
        import subprocess

        command = shlex.split(os.environ.get("PAGER") or "less")
        env = dict(os.environ)
        if "R" not in env.get("LESS", ""):
            env["LESS"] = env.get("LESS", "") + "R"
        try:
            self.out.flush()
            subprocess.run(command, input=text.encode("utf-8", "replace"), stdout=self.out, env=env, check=False)
            return True
        except (OSError, ValueError):
            return False

    def clipboard(self, text: str) -> str | None:
        """Send text to the terminal's clipboard with OSC 52 (works over SSH); how it went, or None when
        there is no terminal. Inside tmux the sequence is wrapped so tmux passes it on to the terminal.
        """
        import base64

        if not _is_tty(self.out):
            return None
        osc = f"\x1b]52;c;{base64.b64encode(text.encode()).decode()}\x07"
        if os.environ.get("TMUX"):
            self.out.write("\x1bPtmux;" + osc.replace("\x1b", "\x1b\x1b") + "\x1b\\")
            how = "OSC 52 through tmux"
        else:
            self.out.write(osc)
            how = "OSC 52"
        self.out.flush()
        return how

    def plain(self, text: str) -> None:
        """Text as it is (sanitised), never interpreted as Markdown.

        safe(text), with a long text sanitised in pieces of about 64 KB that end at line breaks: the same
        result (sanitize's contract: no piece ends in one of HOLD_BACK), and the ASCII pieces take sanitize's
        quick path even when a few lines elsewhere are not ASCII (a whole session printed by --show).
        """
        clean, piece = redact(str(text)), 65536
        if len(clean) <= piece:
            clean = sanitize(clean)
        else:
            pieces, start = [], 0
            while start < len(clean):
                end = clean.find("\n", start + piece)
                end = len(clean) if end < 0 else end + 1
                pieces.append(sanitize(clean[start:end]))
                start = end
            clean = "".join(pieces)
        self.out.write(clean + "\n")
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
        """Aligned columns on a terminal; tab-separated when piped, for scripts.

        Each cell is what safe() makes of it. On a terminal the columns are padded to the widest cell (in
        terminal cells: wide characters count two), two spaces apart, the header bold; when they do not fit
        the width, the widest columns are cut to a common width, each cut cell ending in "…". Built from
        strings: a rich Table measures and wraps every cell, a thousand times slower on long listings.
        """
        cells = [[redact(str(cell)) for cell in row] for row in rows]
        # sanitize() works character by character (a CR before LF and a joiner look one ahead; a line break
        # stops both): when the cells joined by line breaks need nothing, no cell does, and a listing is
        # checked in one pass instead of one call per cell.
        joined = "\n".join("\n".join(row) for row in cells)
        if sanitize(joined) != joined:
            cells = [[sanitize(cell) for cell in row] for row in cells]
        lines = [[c.replace("\t", " ").replace("\n", " ") for c in row] for row in [list(headers), *cells]]
        if not self.rich_output:
            self.out.write("".join("\t".join(line) + "\n" for line in lines))
            self.out.flush()
            return
        width: Any = len
        if not all(c.isascii() for line in lines for c in line):
            from rich.cells import cell_len, set_cell_size

            width = cell_len
        count = max(map(len, lines))
        widths = [max((width(line[i]) for line in lines if i < len(line)), default=0) for i in range(count)]
        columns = os.environ.get("COLUMNS", "")
        room = int(columns) if columns.isdigit() else 0
        for fd in (() if room else (self.out, 0, 1, 2)):
            try:
                room = os.get_terminal_size(fd if isinstance(fd, int) else fd.fileno()).columns
            except (AttributeError, ValueError, OSError):
                continue
            if room:
                break
        room = room or 80
        gaps = 2 * (count - 1)
        cap = max(widths, default=0)
        while cap > 3 and sum(min(w, cap) for w in widths) + gaps > room:
            cap -= 1
        if cap < max(widths, default=0):
            for line in lines:
                for i, cell in enumerate(line):
                    if width(cell) > cap:
                        line[i] = (cell[: cap - 1] if width is len else set_cell_size(cell, cap - 1)) + "…"
            widths = [min(w, cap) for w in widths]
        sgr = os.environ.get("TERM", "") not in ("dumb", "unknown")
        out = []
        for n, line in enumerate(lines):
            padded = []
            for i, cell in enumerate(line):
                pad = "" if i == len(line) - 1 else " " * (widths[i] - width(cell))
                padded.append(f"\x1b[1m{cell}\x1b[0m{pad}" if n == 0 and sgr else cell + pad)
            out.append("  ".join(padded) + "\n")
        self.out.write("".join(out))
        self.out.flush()

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
        """A spinner with elapsed seconds; yields tick(state=None) to call while waiting (state: a queued
        job's, such as "queued" or "running", shown instead of the label)."""
        if not self.rich_output:
            yield lambda state=None: None
            return
        started = time.monotonic()
        with self.console.status(f"{label}… 0s", spinner="dots") as status:
            yield lambda state=None: status.update(f"{safe(state) if state else label}… "
                                                   f"{time.monotonic() - started:.0f}s  (Ctrl-C cancels)")


MAX_NESTING = 12


def nesting(text: str) -> int:
    """How deeply quotes and lists nest in Markdown text, by the leading marks of its lines (outside code)."""
    deepest, fence = 0, ""
    for line in text.split("\n"):
        stripped = line.lstrip()
        if stripped[:3] in ("```", "~~~") and (not fence or stripped.startswith(fence)):
            fence = "" if fence else stripped[:3]
            continue
        if fence:
            continue
        body = line.lstrip(" \t>")
        lead = line[: len(line) - len(body)]
        indent = len(lead.replace(">", "").expandtabs(4)) // 2 if _LIST_ITEM.match(body) else 0
        deepest = max(deepest, lead.count(">") + indent)
    return deepest


_LIST_ITEM = re.compile(r"(?:[-*+]|\d{1,9}[.)])(?:\s|$)")


@functools.cache
def markdown_class() -> Any:
    """rich's Markdown, with images shown with their address: "🌆 alt" alone would hide where it points."""
    from rich.markdown import ImageItem, Markdown
    from rich.text import Text

    class Image(ImageItem):
        def __rich_console__(self, console: Any, options: Any) -> Any:
            title = self.text or Text(self.destination.strip("/").rsplit("/", 1)[-1])
            yield Text.assemble("🌆 ", title, " (", self.destination, ") ", end="")

    return type("Markdown", (Markdown,), {"elements": {**Markdown.elements, "image": Image}})


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
