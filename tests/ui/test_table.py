"""Aligned columns on a terminal: a column cut short with "…" keeps each row on one line."""

from __future__ import annotations

import io
import re
import subprocess
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.cells import cell_len, chop_cells
from support.screen import Terminal

from segchat.app.sessions import list_sessions
from segchat.config.paths import store_path
from segchat.model.conversation import Message
from segchat.store import Store
from segchat.text.redact import register_secret
from segchat.text.sanitize import safe
from segchat.ui import table as ui_table
from segchat.ui.render import Renderer
from segchat.ui.table import SHORTEST

SGR = re.compile(r"\x1b\[[0-9;]*m")
HEADERS = ["name", "title", "when"]


def aligned(lines: list[list[str]], room: int, bold: bool, shorten: int | None = None) -> str:
    """The layout measured by rich.cells, as the renderer has it measured."""
    return ui_table.aligned(lines, room, bold, shorten)


def rows_of(titles: list[str]) -> list[list[str]]:
    return [HEADERS, *[[f"s{n}", title, "2026-11-26 05:40"] for n, title in enumerate(titles)]]


def cells_of(text: str) -> list[list[str]]:
    """The lines of aligned() output split at its two-space gaps (the cells here hold no double space)."""
    return [re.split(r"  +", line) for line in SGR.sub("", text).splitlines()]


def test_a_long_title_is_cut_to_the_room_left_and_rows_stay_one_line():
    titles = ["plan a trip to Lisbon in the spring with the family", "short", "日本語のメールを書いてください"]
    text = aligned(rows_of(titles), 40, bold=False, shorten=1)
    lines = text.splitlines()
    assert len(lines) == 1 + len(titles)
    assert all(cell_len(line) <= 40 for line in lines), lines
    # name 4 cells ("name"), when 16, two gaps of 2: the title keeps 40 - 24 = 16 cells, "…" one of them;
    # the blank that would end the cut goes
    assert lines[1] == "s0    plan a trip to…  2026-11-26 05:40"
    assert lines[2] == "s1    short            2026-11-26 05:40"
    # a wide character that would straddle the 15th cell is left out: 7 of them (14 cells) and "…"
    assert lines[3] == "s2    日本語のメール…  2026-11-26 05:40"
    assert [cell_len(line[:line.index("2026")]) for line in lines[1:]] == [23, 23, 23]


def test_a_blank_before_the_cut_goes():
    room = 4 + 2 + 10 + 2 + 16  # the title keeps 10 cells: 9 of its own and "…"
    assert cells_of(aligned(rows_of(["abcd efghi jkl"]), room, bold=False, shorten=1))[1] == \
        ["s0", "abcd efgh…", "2026-11-26 05:40"]
    assert cells_of(aligned(rows_of(["abcdefgh ijkl mnop"]), room, bold=False, shorten=1))[1] == \
        ["s0", "abcdefgh…", "2026-11-26 05:40"]


def test_titles_that_fit_are_left_whole_and_the_layout_is_unchanged():
    titles = ["a title", "another title"]
    assert aligned(rows_of(titles), 200, bold=True, shorten=1) == aligned(rows_of(titles), 200, bold=True)


def test_on_a_narrow_terminal_the_cut_column_keeps_its_least_width_and_others_wrap():
    text = aligned(rows_of(["a title long enough to be cut"]), 24, bold=False, shorten=1)
    lines = text.splitlines()
    title = cells_of(text)[1][1]
    assert title.endswith("…") and cell_len(title) == SHORTEST
    assert "…" in lines[1] and "…" not in "".join(lines[2:])  # the title is not wrapped as well
    assert "".join(line[-8:].strip() for line in lines[1:]).replace(" ", "") == "2026-11-2605:40"


def test_the_header_is_never_cut():
    text = aligned([["name", "a rather long header", "x"], ["a", "b", "c"]], 20, bold=False, shorten=1)
    assert "a rather long header" in text.replace("\n", "")


@settings(max_examples=150, deadline=None)
@given(titles=st.lists(st.text(st.sampled_from("ab cd日本語👍é…"), max_size=60), min_size=1, max_size=6),
       room=st.integers(min_value=4 + 2 + SHORTEST + 2 + 16, max_value=90))
def test_every_row_is_one_line_within_room_and_each_title_a_prefix(titles, room):
    titles = [" ".join(t.split()) for t in titles]  # cells as the listing has them: single spaces
    text = aligned(rows_of(titles), room, bold=False, shorten=1)
    lines = text.splitlines()
    assert len(lines) == 1 + len(titles)
    assert all(cell_len(line) <= room for line in lines)
    starts = {cell_len(line[:line.index("2026")]) for line in lines[1:]}
    assert len(starts) == 1  # the next column lines up
    for line, title in zip(lines[1:], titles, strict=True):
        shown = line[6:line.index("2026")].rstrip(" ")
        assert shown == title or (shown.endswith("…") and title.startswith(shown[:-1])), (shown, title)


@settings(max_examples=200, deadline=None)
@given(table=st.integers(1, 5).flatmap(lambda count: st.lists(
    st.lists(st.text(st.sampled_from("ab c日é…👍"), max_size=8), min_size=count, max_size=count),
    min_size=1, max_size=6)))
def test_a_table_that_fits_is_each_cell_padded_to_its_column(table):
    """Each cell padded to its column's widest, in terminal cells; a shorter row padded as far as it goes."""
    widths = [max(cell_len(row[i]) for row in table) for i in range(len(table[0]))]
    expected = "".join("  ".join(cell + " " * (w - cell_len(cell)) for cell, w in zip(row, widths, strict=True))
                       .rstrip(" ") + "\n" for row in table)
    assert aligned(table, 10_000, bold=False) == expected
    assert aligned([*table, table[0][:1]], 10_000, bold=False) == expected + table[0][0].rstrip(" ") + "\n"


CELL = st.lists(st.sampled_from(["a", " ", "\t", "\n", "\r", "\x1b", "\u200b", "\u200d", "👍", "日", "\u0301", "…",
                                 "x-api-key: ", "sk-cells-secret-0123", "\ud800"]), max_size=6).map("".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(CELL, min_size=3, max_size=3), max_size=5))
def test_a_terminal_table_shows_each_cell_safe(rows, monkeypatch):
    """The one look at all the cells decides only how much work is done: the table is each cell's safe() text."""
    monkeypatch.setenv("COLUMNS", "1000")
    monkeypatch.setenv("TERM", "xterm")
    register_secret("sk-cells-secret-0123")
    out = io.StringIO()
    Renderer(out=out, rich_output=True).table(("a", "b", "c"), rows)
    lines = [["a", "b", "c"], *[[safe(cell).replace("\t", " ").replace("\n", " ") for cell in row] for row in rows]]
    assert out.getvalue() == aligned(lines, 1000, True)


def test_piped_listing_keeps_whole_titles(store):
    long = "plan a trip to Lisbon in the spring with the family and friends"
    info = store.create("trip")
    store.add_exchange(info.id, [Message("user", long)])
    out = io.StringIO()
    list_sessions(store, Renderer(out=out, rich_output=False))
    assert store.get(info.id).title in out.getvalue()
    assert "…" not in out.getvalue().replace(store.get(info.id).title, "")


def test_list_on_a_narrow_real_terminal_shows_a_line_per_session(cli_env):
    cli_env.pop("COLUMNS")  # the width is the terminal's

    store = Store(store_path())
    for n in range(5):
        info = store.create(f"row{n}", model="llama-v3p1-8b-instruct")
        store.add_exchange(info.id, [Message("user", f"日本語 {n} and a title much too long to fit in here, really")])
    store.close()
    # 90 columns: the others take 64 cells and 14 of gaps, so a title keeps 12 cells
    term = Terminal(["--list"], cli_env, cols=90)
    try:
        assert term.wait_exit() == 0
        shown = [line for line in term.screen.display if line.startswith("row")]
        assert len(shown) == 5 and all("…" in line for line in shown), term.screen.display
        assert all(cell_len(line[line.index("日"):line.index("…") + 1]) <= 12 for line in shown), shown
        assert len({line.index("llama") for line in shown}) == 1  # the model column lines up after the cut
    finally:
        term.close()


TITLE_PARTS = ["a", "b", " ", "日", "…", "\u0301", "👍", "👍🏽", "👨\u200d👩", "❤\ufe0f", "\u200d", "\ufe0f"]


@settings(max_examples=500, deadline=None)
@given(titles=st.lists(st.lists(st.sampled_from(TITLE_PARTS), max_size=30).map("".join), min_size=1, max_size=5),
       room=st.integers(SHORTEST, 24))
def test_a_title_too_wide_is_cut_where_rich_cuts_it(titles, room):
    """A cell wider than its room is the first piece rich.cells.chop_cells() makes of it, a blank before the cut
    dropped, then "…"; a cell that fits is whole. Marks and joined characters stay with what they belong to, and
    the rows given are left as they were."""
    lines = [["title"], *[[title] for title in titles]]
    shown = aligned(lines, room, bold=False, shorten=0).splitlines()[1:]
    expected = [title if cell_len(title) <= room else chop_cells(title, room - 1)[0].rstrip(" ") + "…"
                for title in titles]
    assert shown == [cell.rstrip(" ") for cell in expected]
    assert lines[1:] == [[title] for title in titles]


def test_a_piped_table_does_not_load_rich():
    """rich loads with the first table drawn on a terminal: a piped listing goes without it."""
    code = ("import io, sys; from segchat.ui.render import Renderer; "
            "Renderer(out=io.StringIO(), rich_output=False).table(('name', 'title'), [('a', '日本語 café 🥬')]); "
            "print('rich' in sys.modules)")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert shown.strip() == "False"
