"""The README is the front door: its set-up commands are what CI runs, and its links, and the docs pages', lead
somewhere that exists."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import docs

README = docs.ROOT / "README.md"


def test_the_readmes_test_command_is_the_last_command_ci_runs():
    setup = [lines for lang, lines in docs.blocks(README.read_text(encoding="utf-8"))
             if lang == "sh" and lines and lines[0].startswith("python3 -m venv .venv")]
    assert len(setup) == 2, setup  # install and run; install the test extras and run the tests
    commands = [line for line in (docs.ROOT / ".ci" / "run").read_text().splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert setup[1] == [commands[-1]]


def test_the_readme_links_every_docs_page():
    linked = {link.split("#")[0] for link in docs.links(README)}
    assert {f"docs/{page.name}" for page in (docs.ROOT / "docs").glob("*.md")} <= linked


@pytest.mark.parametrize("page", docs.PAGES, ids=docs.relative)
def test_every_link_leads_to_a_file_and_heading_that_exist(page: Path):
    broken = []
    for link in docs.links(page):
        if link.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        if not target.exists() or (anchor and target.suffix == ".md" and anchor not in docs.anchors(target)):
            broken.append(link)
    assert not broken, f"{docs.relative(page)} links to what is not there: {broken}"
