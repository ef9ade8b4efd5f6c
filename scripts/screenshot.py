"""Make docs/screenshot.svg from a real chat: `.venv/bin/python scripts/screenshot.py [--out PATH]`.

The installed segchat runs in a pseudo-terminal against the tests' loopback server (tests/support/fakeserver.py,
scripted with one Markdown reply and Segmind's credits header), one question is typed, and once the reply and the
toolbar have settled the bytes the terminal received are replayed through the pyte terminal emulator. Its screen,
cell by cell with colours and attributes, is written as an SVG by rich: text that diffs, made again with this one
command when the look changes. Needs the test extras (pexpect, pyte).

Deterministic: the home, config and session store are fresh temporary directories, the session has a fixed name,
the terminal a fixed size, the server a fixed balance and cost. The one figure that varies from run to run, the
reply's elapsed seconds on its cost line, is written as the delay the server is scripted to take.
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
import tempfile
import time
from pathlib import Path

import pyte
from rich.console import Console
from rich.style import Style
from rich.text import Text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.cli import KEY  # noqa: E402
from support.fakeserver import FakeSegmind  # noqa: E402
from support.homes import home_variables  # noqa: E402
from support.screen import Terminal  # noqa: E402

ROWS, COLS = 30, 100
SESSION = "lists"
QUESTION = "how do I reverse a list in Python?"
DELAY = 1.3  # seconds the server takes to answer, as the cost line shows it
REPLY = """\
## Reversing a list

Two ways, depending on whether you need the original:

- **slicing** makes a new, reversed list and leaves `items` alone;
- **`reverse()`** turns the list around *in place* and returns `None`.

```python
items = [1, 2, 3]
backwards = items[::-1]   # [3, 2, 1], items unchanged
items.reverse()           # items is now [3, 2, 1]
```

For any iterable, `reversed(items)` walks it backwards without copying.
"""

# pyte's colour names, as rich spells them; 256-colour and true-colour cells come as hex digits.
_PYTE_COLOURS = {"brown": "yellow", "brightbrown": "bright_yellow"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.svg",
                        help="where to write the SVG (default: docs/screenshot.svg)")
    args = parser.parse_args(argv)
    screen = capture()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(to_svg(screen), encoding="utf-8")
    print(args.out)
    return 0


def capture() -> pyte.Screen:
    """Chat once in a pseudo-terminal; the screen as the terminal showed it once the toolbar settled."""
    fake = FakeSegmind().start()
    try:
        with tempfile.TemporaryDirectory(prefix="segchat-screenshot-") as home:
            term = Terminal(["--session", SESSION], _environment(Path(home), fake.base_url), rows=ROWS, cols=COLS)
            try:
                term.wait_for("credits 10")  # the balance, fetched in the background at start-up
                fake.script({"content": REPLY, "delay": DELAY})
                term.type(QUESTION + "\r")
                term.wait_for("reversed(items) walks", timeout=30)
                _settle(term, lambda: "spent 0.0125" in term.bottom_line())
                raw = term.raw
                term.type("\x04")  # Ctrl-D: leave
                term.wait_exit()
            finally:
                term.close()
    finally:
        fake.stop()
    # Replayed on a quiet emulator of its own: the live one answered the program's questions as they came.
    screen = pyte.Screen(COLS, ROWS)
    pyte.ByteStream(screen).feed(raw)
    _steady(screen)
    return screen


def _environment(home: Path, base_url: str) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TERM": "xterm-256color", "COLORTERM": "truecolor",
            "SEGMIND_API_KEY": KEY, "SEGCHAT_BASE_URL": base_url, **home_variables(home)}


def _settle(term: Terminal, ready, timeout: float = 15.0) -> None:
    """Wait until ready() holds and the screen has stopped changing for half a second."""
    end = time.monotonic() + timeout
    last, still_since = None, time.monotonic()
    while time.monotonic() < end:
        term.pump(0.1)
        now = term.text()
        if now != last:
            last, still_since = now, time.monotonic()
        elif ready() and time.monotonic() - still_since >= 0.5:
            return
    raise AssertionError(f"the screen did not settle:\n{term.text()}")


def to_svg(screen: pyte.Screen) -> str:
    """The screen's cells, with their colours and attributes, as rich's SVG of a terminal window."""
    console = Console(record=True, width=screen.columns, file=_Nowhere(), force_terminal=True,
                      color_system="truecolor")
    for y in range(screen.lines):
        line = Text(no_wrap=True, overflow="crop")
        row = screen.buffer[y]
        cells = [row[x] for x in range(screen.columns) if row[x].data != ""]  # "": a wide character's right half
        # A run of cells alike in style is one piece of text: the SVG holds words, not letters, and diffs so.
        for style, run in itertools.groupby(cells, key=_style):
            line.append("".join(cell.data for cell in run), style)
        console.print(line, crop=True)
    return console.export_svg(title="segchat")


def _steady(screen: pyte.Screen) -> None:
    """The cost line's elapsed seconds, which vary from run to run, written as the scripted delay."""
    for y in range(screen.lines):
        row = screen.buffer[y]
        text = "".join(row[x].data for x in range(screen.columns))
        match = re.search(r"cost \S+ · (\d+\.\d)s ·", text)
        if match and len(match.group(1)) == len(f"{DELAY:.1f}"):
            for x, char in zip(range(*match.span(1)), f"{DELAY:.1f}", strict=True):
                row[x] = row[x]._replace(data=char)


def _style(cell: pyte.screens.Char) -> Style:
    return Style(color=_colour(cell.fg), bgcolor=_colour(cell.bg), bold=cell.bold or None,
                 italic=cell.italics or None, underline=cell.underscore or None, reverse=cell.reverse or None,
                 strike=cell.strikethrough or None)


def _colour(name: str) -> str | None:
    if name == "default":
        return None
    if re.fullmatch(r"[0-9a-fA-F]{6}", name):
        return "#" + name
    name = _PYTE_COLOURS.get(name, name)
    return "bright_" + name[len("bright"):] if name.startswith("bright") and "_" not in name else name


class _Nowhere:
    """A file that forgets what is written: the console only records."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


if __name__ == "__main__":
    sys.exit(main())
