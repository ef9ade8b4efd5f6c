"""scripts/screenshot.py makes the README's screenshot from a real chat in a pseudo-terminal."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "screenshot.py"


def screen_lines(svg: str) -> list[str]:
    """The terminal's lines as the SVG draws them: each text element put at its column (x over the width of a
    cell) on its row (y)."""
    rows: dict[float, dict[int, str]] = defaultdict(dict)
    pattern = r'<text class="[^"]*-r\d+" x="([\d.]+)" y="([\d.]+)" textLength="([\d.]+)"[^>]*>([^<]*)</text>'
    for x, y, length, text in re.findall(pattern, svg):
        text = html.unescape(text).replace("\xa0", " ")
        cell = float(length) / len(text)
        for i, char in enumerate(text):
            rows[float(y)][round(float(x) / cell) + i] = char
    return ["".join(row.get(col, " ") for col in range(max(row) + 1)).rstrip()
            for row in (rows[y] for y in sorted(rows))]


@pytest.fixture(scope="module")
def svg(tmp_path_factory) -> str:
    """What one run of the script writes (run once for this module's tests)."""
    out = tmp_path_factory.mktemp("screenshot") / "shot.svg"
    done = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], capture_output=True, text=True,
                          timeout=90)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out)
    return out.read_text(encoding="utf-8")


def test_the_screenshot_shows_a_real_chat_with_code_and_the_credits_toolbar(svg):
    assert svg.startswith("<svg") and ">segchat</text>" in svg  # the window's title
    lines = screen_lines(svg)
    assert "› how do I reverse a list in Python?" in lines
    assert any("backwards = items[::-1]" in line for line in lines)  # a line of the fenced code block
    assert "•" in "".join(lines) and "Reversing a list" in lines  # Markdown laid out, not raw `##` and `-`
    toolbar = lines[-1]
    assert "credits 9.9875" in toolbar and "spent 0.0125" in toolbar and "session lists" in toolbar
    assert any(re.fullmatch(r"cost 0\.0125 · 1\.3s · \d+ \+ \d+ tokens · balance 9\.9875", line) for line in lines)
    assert 'fill="#272822"' in svg  # the code block's highlighted background, cell colours carried over


def test_the_committed_screenshot_is_what_the_script_makes(svg):
    """docs/screenshot.svg is the script's output, unedited: a run with nothing changed writes the same text.
    When the look changes on purpose, `.venv/bin/python scripts/screenshot.py` makes it again."""
    assert svg == (SCRIPT.parents[1] / "docs" / "screenshot.svg").read_text(encoding="utf-8")
