"""Streamed replies: the final screen equals the whole reply's, finished blocks are written once."""

from __future__ import annotations

import io
import os
import random

import pyte
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from rich.console import Console

from segchat.text.redact import register_secret
from segchat.text.sanitize import HOLD_BACK, sanitize
from segchat.ui.markdown import markdown_class
from segchat.ui.markdown_stream import MarkdownStream, PlainStream
from segchat.ui.render import Renderer

MIXED = """# Title

Intro with *emphasis*, **strong**, `code`, ~~gone~~, a [link](https://example.com) and [a ref][r1].

[r1]: https://example.com/ref "Ref"

## Lists

- one
- two
  - nested
- three

5. fifth
6. sixth

   a loose paragraph in the item

7. seventh

---
A paragraph right after a rule.

***

```python
def f(x):
    return x * 2  # a comment long enough to wrap when the terminal is narrow, as it is in one test
```

| Col A | Col B |
|-------|------:|
| 1     | 2     |
| a long cell text here | x |

> A quote
> spanning lines
>
> > nested quote

Setext Heading
==============

Another
-------

    indented code

<div>an html block</div>

A final line with a hard\\
break and ![an image](https://example.com/i.png)."""

CORPUS = {
    "mixed": MIXED,
    "starts with a list": "- a\n- b\n\nafter\n",
    "starts with a quote": "> q\n\n> r\n",
    "starts with a table": "| a | b |\n|---|---|\n| 1 | 2 |\n\ntext",
    "starts with a rule": "---\n---\n# h\n---\n\n***\ntext\n___",
    "code blocks": "```\nplain\n```\n```js\nlet x = 1;\n```\n\n~~~rust\nfn main() {}\n~~~\n```\nunclosed\n",
    "headings": "# one\n## two\n### three\npara\n# four\n#\n#x\n",
    "lists": "1. a\n1. b\n\n\n- x\n\n  y\n- z\n\n* other\n+ marker\n\n10) ten\n11) eleven\n",
    "html": "<div>\nblock\n</div>\n\n<!-- comment -->\n\ntext <b>inline</b> <kbd>Ctrl</kbd>\n",
    "references": "[x]: /first\n\nsee [x] and [y]\n\n[y]: /later\n\n[x]: /ignored\n\n[x] again",
    "hostile": ("Done.\x1b[32m ok\x1b[0m\n\n\x1b[2J\x1b[Hgone?\n\n```\n\x1b]52;c;cHduZWQ=\x07\n```\n\n"
                "a\x00b\x7fc\u202etxt\x9b"),
    "crlf": "line one\r\nline two\r\n\r\n- item\r\n- item\r\n\r\nlone\rcr\r",
    "emoji": ("👨‍👩‍👧‍👦 family 🇳🇱 flag 👍🏽 thumb e\u0301 combined می\u200cخواهم lone\u200d joiner\n\n"
              "| 👍🏽 | ✔ |\n|---|---|\n| 🇳🇱 | ok |\n"),
    "emoji in code": "```\n👍🏽 thumbs 👍🏽 up\n🇳🇱 ✔️ flag 👨\u200d👩\u200d👧 family\n```\n\nafter",
    "long lines": " ".join(["wrapping words"] * 40) + "\n\n" + "x" * 250 + "\n\n> " + "q " * 120,
    "long code": "```python\n" + "".join(f"line_{i} = {i}\n" for i in range(25)) + "```\n\nafter",
    "hard breaks": "two spaces  \nthen a backslash\\\nthen none\n",
    "no blocks": "\n\n\n",
    "empty": "",
}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def terminal_size(monkeypatch):
    """Renderer builds its console from the environment, as it does in a terminal."""
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("LINES", "500")
    monkeypatch.setenv("TERM", "xterm-256color")


def whole(text: str) -> str:
    out = io.StringIO()
    Renderer(out, rich_output=True).reply(text)
    return out.getvalue()


def streamed(pieces, ticks=None) -> str:
    """Feed pieces; ticks[i] says whether the clock has moved on enough to redraw before piece i."""
    out = io.StringIO()
    clock = Clock()
    stream = MarkdownStream(Renderer(out, rich_output=True).console, clock=clock)
    for i, piece in enumerate(pieces):
        clock.now += 1.0 if ticks is None or ticks[i] else 0.0
        stream.feed(piece)
    stream.finish()
    return out.getvalue()


def screen(raw: str, columns: int = 100, rows: int = 500) -> list[str]:
    display = pyte.Screen(columns, rows)
    pyte.Stream(display).feed(raw.replace("\n", "\r\n"))  # the tty's onlcr
    return display.display


def scrollback(raw: str, columns: int, rows: int) -> list[str]:
    """Everything that was ever on screen and not erased: history, then the screen, blank tail dropped."""
    display = pyte.HistoryScreen(columns, rows, history=100_000)
    pyte.Stream(display).feed(raw.replace("\n", "\r\n"))
    lines = ["".join(line[x].data for x in range(columns)).rstrip() for line in display.history.top]
    lines += [line.rstrip() for line in display.display]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def chunk(text: str, sizes) -> list[str]:
    pieces, i = [], 0
    for size in sizes:
        if i >= len(text):
            break
        pieces.append(text[i:i + size])
        i += size
    return pieces + ([text[i:]] if i < len(text) else [])


def random_pieces(text: str, seed: int) -> list[str]:
    rng = random.Random(seed)
    return chunk(text, [rng.randint(1, 12) for _ in range(len(text))])


@pytest.mark.parametrize("name", CORPUS)
@pytest.mark.parametrize("columns", [100, 37])
def test_final_screen_equals_whole_reply(name, columns, monkeypatch):
    monkeypatch.setenv("COLUMNS", str(columns))
    text = CORPUS[name]
    expected = screen(whole(text), columns)
    assert any(line.strip() for line in expected) or not text.strip()
    rng = random.Random(7)
    chunkings = {
        "one piece": ([text], None),
        "1 char, redraw each": (list(text), None),
        "random sizes": (random_pieces(text, 1), None),
        "random sizes, random redraws": (random_pieces(text, 2), [rng.random() < 0.3 for _ in text]),
    }
    for label, (pieces, ticks) in chunkings.items():
        assert "".join(pieces) == text
        assert screen(streamed(pieces, ticks), columns) == expected, (name, label)


@pytest.mark.parametrize("marker", ["\r\n", "```", "|---", "| 2", "\n\n", "👍🏽", "\u200d", "\u200c", "\x1b["])
def test_splits_inside_awkward_places(marker):
    """Cut at every offset around each occurrence of marker: inside CRLF, fences, tables, emoji."""
    text = CORPUS["mixed"].replace("\n", "\r\n") + "\r\n\r\n" + CORPUS["emoji"] + CORPUS["hostile"]
    expected = screen(whole(text))
    start = text.find(marker)
    assert start >= 0
    for _ in range(2):  # the first two occurrences: more only repeat the same cases
        for cut in range(start, start + len(marker) + 1):
            for cut2 in (cut + 1, cut + 2, len(text)):
                pieces = [text[:cut], text[cut:cut2], text[cut2:]]
                assert screen(streamed(pieces)) == expected, (marker, cut, cut2)
        start = text.find(marker, start + 1)
        if start < 0:
            break


def test_scrollback_of_a_small_terminal_holds_each_line_once(monkeypatch):
    """Committed blocks scroll into history normally; the preview never leaves copies behind."""
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.setenv("LINES", "12")
    text = "\n\n".join([MIXED, CORPUS["long code"], CORPUS["long lines"], MIXED])
    expected = scrollback(whole(text), 60, 12)
    assert len(expected) > 100
    for seed in (1, 2):
        assert scrollback(streamed(random_pieces(text, seed)), 60, 12) == expected


def test_preview_of_a_long_open_code_block_fits_the_screen(monkeypatch):
    """Only the newest lines of an open block are drawn: the preview never scrolls out of reach."""
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.setenv("LINES", "12")
    out = io.StringIO()
    clock = Clock()
    stream = MarkdownStream(Renderer(out, rich_output=True).console, clock=clock, budget=None)
    stream.feed("Intro.\n\n```python\n")
    for i in range(100):
        clock.now += 1
        stream.feed(f"line_{i} = {i}\n")
        frame = out.getvalue().rsplit("\x1b[?7l", 1)[1]  # drawn with autowrap off, up to its end
        assert frame.count("\n") <= 11
    display = [line.rstrip() for line in screen(out.getvalue(), 60, 12)]
    # The newest lines, then the block's bottom padding, then the cursor's line.
    assert display[0].strip() == "line_90 = 90" and display[-3].strip() == "line_99 = 99"
    stream.feed("```\n")
    stream.finish()
    text = stream.text
    assert scrollback(out.getvalue(), 60, 12) == scrollback(whole(text), 60, 12)


def test_preview_shows_text_before_it_is_final():
    out = io.StringIO()
    clock = Clock()
    stream = MarkdownStream(Renderer(out, rich_output=True).console, clock=clock)
    stream.feed("# Heading\n\nhalf a para")
    assert [line.rstrip() for line in screen(out.getvalue())[:3]] == ["Heading".center(100).rstrip(), "",
                                                                         "half a para"]
    clock.now += 1
    stream.feed("graph, still open")
    assert screen(out.getvalue())[2].rstrip() == "half a paragraph, still open"
    stream.finish()
    assert screen(out.getvalue()) == screen(whole("# Heading\n\nhalf a paragraph, still open"))


def test_redraws_are_throttled_by_the_clock():
    out = io.StringIO()
    clock = Clock()
    stream = MarkdownStream(Renderer(out, rich_output=True).console, clock=clock, min_interval=0.1)
    stream.feed("first")
    drawn = out.getvalue()
    assert "first" in drawn
    for _ in range(50):
        stream.feed(" more\n\nblocks")
    clock.now += 0.05
    stream.feed(" more")
    assert out.getvalue() == drawn  # nothing written between redraws
    clock.now += 0.05
    stream.feed(" last")
    assert out.getvalue() != drawn and "last" in out.getvalue()


def test_finished_blocks_are_written_once():
    out = io.StringIO()
    clock = Clock()
    stream = MarkdownStream(Renderer(out, rich_output=True).console, clock=clock)
    stream.feed("A unique-line-4711 paragraph.\n\nSecond\n")  # a complete line opens a block: the first is final
    assert out.getvalue().count("unique-line-4711") == 1
    for i in range(60):
        clock.now += 1
        stream.feed(f"words {i}\n\n- item {i}\n\n```\ncode-{i}-end\n```\n\npara\n")
    stream.finish()
    raw = out.getvalue()
    assert raw.count("unique-line-4711") == 1
    assert all(raw.count(f"code-{i}-end") == 1 for i in range(60))  # finished in the frame that brought them
    assert screen(raw) == screen(whole(stream.text))


def test_hostile_escapes_stay_visible():
    text = "before \x1b[2J\x1b[H after\n\n\x1b]0;title\x07 and \x9b31m"
    out = io.StringIO()
    with MarkdownStream(Renderer(out, rich_output=True).console, clock=Clock()) as stream:
        for c in text:
            stream.feed(c)
    raw = out.getvalue()
    assert "\x1b[2J" not in raw and "\x1b]0;" not in raw and "\x9b" not in raw
    shown = "\n".join(screen(raw))
    assert "before ^[[2J^[[H after" in shown
    assert "^[]0;title^G and <U+009B>31m" in shown


def test_abort_leaves_the_text_so_far():
    out = io.StringIO()
    clock = Clock()
    stream = MarkdownStream(Renderer(out, rich_output=True).console, clock=clock)
    text = MIXED
    for i, c in enumerate(text[:700]):
        clock.now += i % 3
        stream.feed(c)
    stream.abort()
    after_abort = out.getvalue()
    assert screen(after_abort) == screen(whole(text[:700]))
    assert stream.text == text[:700]
    stream.feed("ignored")  # late deltas after the interrupt change nothing
    stream.abort()
    stream.finish()
    assert out.getvalue() == after_abort


def test_abort_through_the_context_manager():
    out = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        with MarkdownStream(Renderer(out, rich_output=True).console, clock=Clock()) as stream:
            stream.feed("- one\n- tw")
            raise KeyboardInterrupt
    assert screen(out.getvalue()) == screen(whole("- one\n- tw"))
    assert "\x1b[?25h" in out.getvalue()  # the cursor hidden for the preview is back


def test_finish_twice_writes_nothing_more():
    out = io.StringIO()
    stream = MarkdownStream(Renderer(out, rich_output=True).console, clock=Clock())
    stream.feed("text\r")
    stream.finish()
    done = out.getvalue()
    stream.finish()
    stream.abort()
    assert out.getvalue() == done
    assert stream.text == "text\r"
    assert "text^M" in screen(done)[0]  # a lone trailing \r is shown, as whole text shows it


@pytest.mark.parametrize("term, force_terminal", [("xterm-256color", False), ("dumb", True), ("dumb", False)])
def test_without_a_live_terminal_output_is_byte_identical(monkeypatch, term, force_terminal):
    """No cursor movement where it can't work: finished blocks are printed in turn, the rest at the end."""
    monkeypatch.setenv("TERM", term)

    def console(out):
        return Console(file=out, force_terminal=force_terminal, width=80, highlight=False, markup=False,
                       emoji=False)

    text = MIXED + "\n\n" + CORPUS["hostile"]
    expected = io.StringIO()
    console(expected).print(markdown_class()(sanitize(text), hyperlinks=False))
    out = io.StringIO()
    clock = Clock()
    stream = MarkdownStream(console(out), clock=clock)
    for piece in random_pieces(text, 3):
        clock.now += 1
        stream.feed(piece)
    assert "Intro with" in out.getvalue()  # finished blocks appear before the end
    stream.finish()
    assert out.getvalue() == expected.getvalue()


FRAGMENTS = ["# h", "## h2", "para text", "more *text*", "", "", "- item", "  - sub", "1. one", "2. two",
             "   cont", "> quote", ">", "```", "```py", "~~~", "    indented", "---", "===", "***", "#", "#x",
             "| a | b |", "|---|---|", "| 1 | 2 |", "<div>", "</div>", "[r]: /u", "[r] link", "- ", "\t tab",
             "a\r", "\x1b[1m", "😀 wide", "👍🏽 x", "👨\u200d👩 z\u200d"]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=20), st.integers(0, 2**32 - 1),
       st.sampled_from([100, 23]))
def test_random_documents_stream_like_whole(lines, seed, columns):
    """Block boundaries hold for any mix of block starts, partial lines and redraw moments."""
    # A link used before its definition cannot be known when its block is printed: see below.
    definitions = [i for i, line in enumerate(lines) if line == "[r]: /u"]
    assume(not definitions or "[r]" not in "".join(lines[:definitions[-1]]))
    os.environ["COLUMNS"] = str(columns)  # the autouse fixture restores it
    text = "\n".join(lines)
    rng = random.Random(seed)
    pieces = random_pieces(text, seed)
    ticks = [rng.random() < 0.5 for _ in pieces]
    assert screen(streamed(pieces, ticks), columns) == screen(whole(text), columns)


def test_a_link_defined_after_its_block_was_printed_stays_literal():
    """The one known difference from the whole reply: later definitions can't reach printed blocks."""
    text = "See [the docs][d].\n\nMore text.\n\n[d]: https://example.com/docs\n"
    assert "the docs (https://example.com/docs)" in "\n".join(screen(whole(text)))
    final = "\n".join(screen(streamed([text[:31], text[31:]])))
    assert "See [the docs][d]." in final and "https://example.com/docs" not in final
    # Defined before use, or arriving in the same piece, it resolves as in the whole reply.
    assert screen(streamed([text])) == screen(whole(text))


def test_plain_stream_writes_progressively_and_equals_whole():
    text = "# Title\r\n\r\n**bold** \x1b[2J `code`\r\nlast line\r"
    expected = io.StringIO()
    Renderer(expected, rich_output=False).reply(text)
    out = io.StringIO()
    stream = PlainStream(out)
    for c in text:
        stream.feed(c)
        if c not in HOLD_BACK:
            assert out.getvalue().endswith(c.replace("\x1b", "^["))  # already written and flushed
    stream.finish()
    stream.finish()
    assert out.getvalue() == expected.getvalue()
    assert stream.text == text


@pytest.mark.parametrize("text", ["", "ends with newline\n", "no newline", "cr at end\r", "crlf\r\n",
                                  "joiner at end\u200d", "👨\u200d👩 and می\u200cخواهم\u200c"])
def test_plain_stream_ending_matches_whole(text):
    expected = io.StringIO()
    Renderer(expected, rich_output=False).reply(text)
    out = io.StringIO()
    with PlainStream(out) as stream:
        for c in text:
            stream.feed(c)
    stream.abort()
    assert out.getvalue() == expected.getvalue()


def test_plain_stream_flushes_each_piece():
    class Recorder(io.StringIO):
        flushed: list[str] = []

        def flush(self) -> None:
            self.flushed.append(self.getvalue())

    out = Recorder()
    stream = PlainStream(out)
    stream.feed("one ")
    stream.feed("two")
    assert out.flushed == ["one ", "one two"]


def test_a_spent_budget_delays_redraws_but_never_changes_the_result(monkeypatch):
    """With no budget left, the preview waits; what ends on screen is still the whole reply's rendering."""
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("LINES", "20")
    text = "".join(f"Paragraph {i} with `code` and *words*.\n\n```python\nx = {i}\n```\n\n" for i in range(40))
    out, clock = io.StringIO(), Clock()
    stream = MarkdownStream(Renderer(out, rich_output=True).console, clock=clock, budget=0.0)
    stream._spent = 1.0  # as if previews had already cost more than the floor allows
    for piece in (text[i:i + 7] for i in range(0, len(text), 7)):
        clock.now += 1
        stream.feed(piece)
    assert out.getvalue() == ""  # nothing drawn while over budget
    stream.finish()
    assert scrollback(out.getvalue(), 80, 20) == scrollback(whole(text), 80, 20)


KEY = "sk-live-0123456789abcdef"


@pytest.mark.parametrize("cut", [1, 4, 8, 12, len(KEY) - 1])
def test_a_key_split_across_two_pieces_is_never_written(cut):
    register_secret(KEY)
    text = f"Your key is {KEY} — keep it safe.\n\n```\nexport KEY={KEY}\n```\n"
    pieces = [text[:12 + cut], text[12 + cut:]]  # the first piece ends inside the key
    for raw in (streamed(pieces), streamed(list(text))):
        assert KEY[:8] not in raw and KEY[-8:] not in raw and "***" in raw
        assert screen(raw) == screen(whole(text))
    out = io.StringIO()
    plain = PlainStream(out)
    plain.feed(pieces[0])
    assert out.getvalue() == "Your key is "  # the key's start waits for what follows
    plain.feed(pieces[1])
    plain.finish()
    assert out.getvalue() == "Your key is *** — keep it safe.\n\n```\nexport KEY=***\n```\n"


def test_a_held_start_that_was_no_key_is_shown_at_the_end():
    register_secret(KEY)
    out = io.StringIO()
    with PlainStream(out) as stream:
        stream.feed("ends in sk-live-01")
        assert out.getvalue() == "ends in "
    assert out.getvalue() == "ends in sk-live-01\n"
    assert screen(streamed(["ends in sk-live-01"])) == screen(whole("ends in sk-live-01"))
