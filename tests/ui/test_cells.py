"""Widths of terminal text: cells.py gives rich's answers without loading rich for the usual characters."""

from __future__ import annotations

import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len, chop_cells, get_character_cell_size

from segchat.ui.cells import chop, head, width, width_of

TRICKY = list("ab c日本語👍é…ｆ한🥬") + ["\u0301", "\u200d", "\ufe0f", "\u1161", "\u3164", "🇵", "🇹", "👍🏽", "☺"]


def test_every_character_it_answers_for_is_as_wide_as_rich_says():
    answered = 0
    for point in range(0x80, 0x110000):
        char = chr(point)
        cells = width_of(char)
        if cells is not None:
            answered += 1
            assert cells == get_character_cell_size(char), (hex(point), cells)
    assert answered > 100_000  # the common scripts, CJK and wide emoji included


def test_the_characters_left_to_rich_include_what_it_joins_or_changed():
    for char in "\u0301\u200d\ufe0f\u1161\u3164\U0001f3fd\u263a\ue000\u0378":
        assert width_of(char) is None, hex(ord(char))
    assert width_of("日") == 2 and width_of("🥬") == 2 and width_of("é") == 1 and width_of("…") == 1


@settings(max_examples=600, deadline=None)
@given(text=st.lists(st.sampled_from(TRICKY), max_size=30).map("".join), size=st.integers(1, 12))
def test_width_and_chop_are_rich_s(text, size):
    assert width(text) == cell_len(text)
    assert chop(text, size) == chop_cells(text, size)
    assert head(text, size) == (chop_cells(text, size) or [""])[0]


def test_a_listing_of_usual_titles_does_not_load_rich():
    code = ("import sys; from segchat.ui.table import aligned; "
            "aligned([['name', 'title'], ['a', '日本語のタイトル and café…'], ['b', 'leeks 🥬']], 20, True, 1); "
            "print('rich' in sys.modules)")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert shown.strip() == "False"
