"""--list: the sessions holding something, newest first, a row each, and, piped, the bytes of the straightforward
table (kept here as the reference), for data made to trip it up."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import unicodedata
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from support.cli import KEY
from support.screen import Terminal
from support.store_rows import listed

from segchat.app import sessions
from segchat.app.transcript import model_of, when
from segchat.config.paths import store_path
from segchat.figures import fmt_credits, fmt_spent
from segchat.model.conversation import Message, UnsentMessage
from segchat.store import Store
from segchat.store.session_row import figure
from segchat.text.redact import register_secret
from segchat.text.sanitize import safe
from segchat.ui.render import Renderer

SECRET = "sk-test-secret-0123456789"
SGR = re.compile(r"\x1b\[[0-9;]*m")
TITLES = [
    "tab\there and\ttwice", "a new\nline, and\r\nCRLF", "\x1b[31mred\x1b[0m \x1b]0;title\x07", "日本語のタイトル",
    "emoji 👍 and a family 👨\u200d👩\u200d👧", "a joiner at the end\u200d", "bidi \u202eevil\u202c text",
    f"the key {SECRET} in a title", "x-api-key: abcdef123456 leaked",
    "Authorization: Bearer abcdefghijklmnopqrstuvwxyz",
    "café, cafe\u0301 and \ufeffa BOM", "\u200b", "[b]markup[/b] :smile:", "x" * 300, "Ünïcödé " * 30, "",
]
FIGURES = [("0", "0"), ("1e400", "NaN"), ("123456789012345.678", "-0"), ("0.000000000001", "garbage"),
           ("-5", None), ("99999999999999999999", "1E-20"), ("0.1", "12345.6789")]


@pytest.fixture
def secret():
    register_secret(SECRET)


def tricky_store(store: Store) -> None:
    """Sessions with every kind of title and figure, unsent messages, and empty ones that must not be listed."""
    for n, title in enumerate(TITLES):
        info = store.create(f"s{n}", model=f"model-{n % 3}", profile=[None, "ollama", "odd\x1b[2Jprofile"][n % 3])
        if n % 4 != 3:
            store.add_exchange(info.id, [Message("user", f"q {n}"), Message("assistant", f"a {n}")])
        if n % 3 == 0:
            store.add_unsent(info.id, UnsentMessage(f"unsent {n}"))
        spent, balance = FIGURES[n % len(FIGURES)]
        store._db.execute("UPDATE sessions SET title=?, spent=?, balance=?, unpriced=?, updated=? WHERE id=?",
                          (title, spent, balance, n % 2, 1_700_000_000 + 60 * (n % 5), info.id))
    store.create("empty")  # neither a message nor an unsent one
    store.add_exchange(store.create("other-process").id, [Message("user", "hi")])
    for n in range(3):  # unsent messages of a session with none sent, and a second one of s0
        store.add_unsent(store.get(1 + n).id, UnsentMessage("again"))


def reference_sessions(store: Store) -> list:
    """The sessions --list shows, found the plain way: each asked for by id, those holding a message or an
    unsent one, newest first."""
    infos = [store.get(row[0]) for row in store._db.execute("SELECT id FROM sessions")]
    return sorted((info for info in infos if info.count or info.unsent), key=lambda info: (info.updated, info.id),
                  reverse=True)


def reference_table(headers, rows) -> str:
    """Renderer.table when piped, as it was: safe() per cell, tabs and line breaks made spaces, a write a row."""
    rows = [[safe(cell) for cell in row] for row in rows]
    return "".join("\t".join(c.replace("\t", " ").replace("\n", " ") for c in row) + "\n"
                   for row in [list(headers), *rows])


def listing_rows(store: Store) -> tuple:
    """The headers and rows list_sessions hands to the renderer."""
    seen = []

    class Capture(Renderer):
        def table(self, headers, rows, shorten=None):
            seen.append((headers, rows))

    sessions.list_sessions(store, Capture(out=io.StringIO(), rich_output=False))
    return seen[0]


def test_the_listing_holds_the_sessions_with_something_in_them(store):
    tricky_store(store)
    shown = reference_sessions(store)
    assert listed(store) == shown
    assert [(row[0], row[1], row[2], row[3], row[4], figure(row[5]), figure(row[6]), row[7], row[8], row[9], row[10])
            for row in store.listing()] == [(s.id, s.name, s.title, s.model, s.updated, s.spent, s.balance, s.unpriced,
                                             s.count, s.profile, s.unsent) for s in shown]
    assert "empty" not in [s.name for s in shown] and {s.unsent for s in shown} == {0, 1, 2}


def test_piped_list_is_byte_for_byte_the_straightforward_one(store, secret):
    tricky_store(store)
    out = io.StringIO()
    sessions.list_sessions(store, Renderer(out=out, rich_output=False))
    assert out.getvalue() == reference_table(*listing_rows(store))
    assert SECRET not in out.getvalue() and "abcdefghijklmnop" not in out.getvalue()
    assert "日本語のタイトル" in out.getvalue() and "^[[31mred" in out.getvalue()


def test_piped_list_from_the_command_line(cli_env):
    """The whole path: the installed segchat, its store, its pipe."""
    register_secret(KEY)  # segchat registers the key it was given; so does the reference
    store = Store(store_path())
    tricky_store(store)
    store.update(store.find("s1").id, title=f"the real key {KEY} and a tab\tin the title")
    expected = reference_table(*listing_rows(store))
    store.close()
    result = subprocess.run([sys.executable, "-m", "segchat", "--list"], env=cli_env, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == expected
    assert KEY.encode() not in result.stdout


ALPHABET = st.sampled_from(["a", "b", " ", "\t", "\n", "\r", "\x1b", "\x00", "\x7f", "\x85", "\u200b", "\u200c",
                            "\u200d", "👍", "\u0627", "日", "\u0301", "\ufeff", "\ud800", "…", "x-api-key: ",
                            "bearer ", "abcdefghijklmnopqrstu", SECRET, "***"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.lists(ALPHABET, max_size=8).map("".join), min_size=3, max_size=3), max_size=6))
def test_piped_table_equals_safe_per_cell(rows):
    """The one-pass check that lets a table skip sanitising cell by cell never changes a cell."""
    register_secret(SECRET)
    out = io.StringIO()
    Renderer(out=out, rich_output=False).table(("a", "b", "c"), rows)
    assert out.getvalue() == reference_table(("a", "b", "c"), rows)


def cell_starts(line: str, cells: list[str]) -> list[int]:
    """The terminal column at which each cell begins, found left to right."""
    starts, at = [], 0
    for cell in cells:
        at = line.index(cell, at)
        starts.append(cell_len(line[:at]))
        at += len(cell)
    return starts


def test_terminal_columns_line_up_with_wide_characters(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    rows = [("日本語", "1", "漢字のタイトル"), ("ascii", "22", "plain title"), ("👍x", "333", "café"),
            ("cafe\u0301", "4", "ｆｕｌｌｗｉｄｔｈ"), ("a\tb", "5", "x\ny")]
    out = io.StringIO()
    Renderer(out=out, rich_output=True).table(("name", "id", "title"), rows)
    lines = SGR.sub("", out.getvalue()).splitlines()
    assert len(lines) == 1 + len(rows)
    shown = [["name", "id", "title"], *[[c.replace("\t", " ").replace("\n", " ") for c in row] for row in rows]]
    starts = [cell_starts(line, cells) for line, cells in zip(lines, shown, strict=True)]
    assert all(s == starts[0] for s in starts), starts
    assert starts[0] == [0, 2 + 6, 2 + 6 + 2 + 3]  # "日本語" and "ascii" are 6 and 5 cells wide: two spaces after
    assert unicodedata.east_asian_width("日") == "W"
    assert "\x1b[1mname\x1b[0m" in out.getvalue()  # the header is bold, as rich made it


def test_terminal_table_wraps_the_widest_columns_to_fit(monkeypatch):
    """As rich did: nothing is cut off; the widest columns narrow and their cells wrap, at spaces if any."""
    monkeypatch.setenv("COLUMNS", "40")
    rows = [("short", "漢字" * 20, "z" * 50), ("s", "abc", "tiny"), ("x", "word wrap at spaces please, nicely", "end"),
            ("y", "exactly fifteen words", "")]
    out = io.StringIO()
    Renderer(out=out, rich_output=True).table(("name", "title", "more"), rows)
    lines = SGR.sub("", out.getvalue()).splitlines()
    assert all(cell_len(line) <= 40 for line in lines), [cell_len(line) for line in lines]
    # widths 5, 80 and 50, and 4 for the gaps: 5 + 15 + 15 + 4 fits 40, so title and more narrow to 15 cells
    # (a wide character does not fit the 15th cell: the kanji lines are 14 cells)
    assert lines == ["name   title            more",
                     "short  漢字漢字漢字漢   " + "z" * 15,
                     "       字漢字漢字漢字   " + "z" * 15,
                     "       漢字漢字漢字漢   " + "z" * 15,
                     "       字漢字漢字漢字   zzzzz",
                     "       漢字漢字漢字漢",
                     "       字漢字漢字",
                     "s      abc              tiny",
                     "x      word wrap at     end",
                     "       spaces please,",
                     "       nicely",
                     "y      exactly fifteen",
                     "       words"]


def test_terminal_table_shows_the_safe_text():
    out = io.StringIO()
    Renderer(out=out, rich_output=True).table(("t",), [("\x1b]0;x\x07 \u202e \u200b",)])
    text = SGR.sub("", out.getvalue())
    assert text.splitlines()[1] == safe("\x1b]0;x\x07 \u202e \u200b")
    assert "\x1b" not in text and "\u202e" not in text


def test_list_on_a_real_terminal_lines_up_wide_titles(cli_env):
    """On a pseudo-terminal, read back through a terminal emulator: every id starts in the id column."""
    store = Store(store_path())
    for n, title in enumerate(["日本語のタイトル", "plain", "漢字", "café"]):
        info = store.create(f"row{n}")
        store.add_exchange(info.id, [Message("user", title)], spent=Decimal(n))
    store.close()
    term = Terminal(["--list"], cli_env, cols=100)
    try:
        assert term.wait_exit() == 0
        screen = term.screen
        header = next(y for y in range(screen.lines) if screen.display[y].startswith("name"))
        column = screen.display[header].index(" id ") + 1
        for y in range(header + 1, header + 5):
            assert screen.buffer[y][column].data.isdigit() and screen.buffer[y][column - 1].data == " ", \
                screen.display[y]
    finally:
        term.close()


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1", "utf-16"])
def test_a_piped_table_reaches_a_stream_in_any_encoding(encoding):
    """Written as UTF-8 bytes when the stream is UTF-8, as text otherwise: the same characters either way."""
    rows = [("café", 1, "日本語 👍"), ("plain", 22, "title")]
    expected = "a\tb\tc\ncafé\t1\t日本語 👍\nplain\t22\ttitle\n"
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="\n")
    out.write("before\n")
    Renderer(out=out, rich_output=False).table(("a", "b", "c"), rows)
    out.flush()
    assert raw.getvalue() == ("before\n" + expected).encode(encoding, "replace")


def test_rows_from_the_stored_columns_are_those_of_session_records(store):
    """list_sessions formats the listing's columns directly; the same cells as formatting each SessionInfo."""
    tricky_store(store)
    expected = [(s.name, s.id, s.title or ("(an unsent message)" if s.unsent else "(untitled)"),
                 model_of(s.model, s.profile),
                 f"{s.count} + {s.unsent} unsent" if s.unsent else s.count, when(s.updated),
                 fmt_spent(s.spent, s.unpriced), fmt_credits(s.balance)) for s in listed(store)]
    headers, rows = listing_rows(store)
    assert headers == sessions.LIST_HEADERS and rows == expected and len(rows) > 10


def test_a_secret_in_one_cell_is_redacted_in_that_cell_only(store, secret):
    tricky_store(store)
    store.update(store.find("s1").id, title=f"the key {SECRET} in a title")
    out = io.StringIO()
    sessions.list_sessions(store, Renderer(out=out, rich_output=False))
    line = next(row for row in out.getvalue().splitlines() if row.startswith("s1\t"))
    assert SECRET not in out.getvalue() and "\tthe key *** in a title\t" in line
    assert "x-api-key: *** leaked" in out.getvalue()


@pytest.mark.parametrize("stored, shown", [("0.1000", "0.1"), ("100.0", "100"), ("-0", "0"), ("-0.000", "0"),
                                           ("12345.6789", "12345.6789"), ("0.000000000001", "0.000000000001"),
                                           ("1E-20", "1.000E-20"), ("123456789012345.678", "1.235E+14"),
                                           ("1e400", "—"), ("NaN", "—"), ("garbage", "—"),
                                           (None, "")])  # neither figure: a session without credits
def test_a_stored_figure_as_the_listing_shows_it(store, stored, shown):
    info = store.create("figures")
    store.add_exchange(info.id, [Message("user", "q")])
    store._db.execute("UPDATE sessions SET spent=?, balance=? WHERE id=?", (stored, stored, info.id))
    out = io.StringIO()
    sessions.list_sessions(store, Renderer(out=out, rich_output=False))
    assert out.getvalue().splitlines()[1].split("\t")[-2:] == [shown, shown]


def test_a_session_without_credits_shows_no_spend(store):
    store.create("local", model="llama3", credits=False)
    store.add_exchange(store.find("local").id, [Message("user", "q"), Message("assistant", "a")])
    store.add_exchange(store.create("hosted", model="llama-v3p1-8b-instruct").id, [Message("user", "q")])
    out = io.StringIO()
    sessions.list_sessions(store, Renderer(out=out, rich_output=False))
    rows = {line.split("\t")[0]: line.split("\t") for line in out.getvalue().splitlines()[1:]}
    assert rows["local"][-2:] == ["", ""] and rows["hosted"][-2:] == ["0", "—"]
    terminal = io.StringIO()
    sessions.list_sessions(store, Renderer(out=terminal, rich_output=True))
    local = next(line for line in terminal.getvalue().splitlines() if line.startswith("local"))
    assert local.rstrip().endswith(sessions.transcript.when(store.find("local").updated))  # nothing after
    shown = io.StringIO()
    sessions.show_session(store, "local", Renderer(out=shown, rich_output=False))
    assert "credits" not in shown.getvalue()
    assert "credits" not in sessions.export_session(store, "local", "md")
    assert json.loads(sessions.export_session(store, "local", "json"))["spent"] is None
