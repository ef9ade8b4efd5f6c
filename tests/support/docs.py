"""What the README and docs/*.md show, read from their Markdown: shell commands, slash commands, role files,
links and headings; for the tests that keep the docs true to the program."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^```(\S*)\s*$")
_SPAN = re.compile(r"`([^`\n]+)`")
# A line runs segchat when its first word is segchat, or when segchat is a command a pipe feeds.
_RUNS_SEGCHAT = re.compile(r"^segchat(\s|$)|\|\s*segchat(\s|$)")
_SLASH = re.compile(r"^/([a-z]+)(\s|$)")
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


@dataclass(frozen=True)
class Command:
    """A shell command line a page shows. before: the lines above it in the same code block, which a reader runs
    first (an export before the import that reads it)."""

    page: str
    line: str
    before: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.page}: {uncommented(self.line)}"


def uncommented(line: str) -> str:
    """A command line without its trailing `# comment` (two spaces or more before the #, as the pages write it)."""
    return re.sub(r"\s{2,}#.*$", "", line).strip()


def relative(page: Path) -> str:
    return str(page.relative_to(ROOT))


def blocks(text: str) -> list[tuple[str, list[str]]]:
    """The fenced code blocks: (language, lines)."""
    found, lang, lines = [], None, []
    for line in text.splitlines():
        match = _FENCE.match(line)
        if match and lang is None:
            lang, lines = match.group(1), []
        elif line.startswith("```") and lang is not None:
            found.append((lang, lines))
            lang = None
        elif lang is not None:
            lines.append(line)
    return found


def prose(text: str) -> str:
    """The text outside fenced code blocks."""
    kept, inside = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            inside = not inside
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


def spans(text: str) -> list[str]:
    """The inline code spans of the prose, with a table's escaped pipes (`a \\| b`) as the pipes they stand for."""
    return [span.replace("\\|", "|") for span in _SPAN.findall(prose(text))]


def shell_commands() -> list[Command]:
    """Every command line running segchat that a page shows, once (where it is first shown): the lines of its sh
    code blocks, and its inline code spans, in tables and prose."""
    found: dict[str, Command] = {}
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for lang, lines in blocks(text):
            if lang not in ("sh", "bash"):
                continue
            shown = [line.strip() for line in lines if line.strip()]
            for i, line in enumerate(shown):
                if _RUNS_SEGCHAT.search(line):
                    found.setdefault(uncommented(line), Command(relative(page), line, tuple(shown[:i])))
        for span in spans(text):
            if _RUNS_SEGCHAT.search(span):
                found.setdefault(uncommented(span), Command(relative(page), span))
    return list(found.values())


def slash_commands() -> list[str]:
    """The slash commands the pages show (`/retry`, `/set KEY default` ...), by name, each once."""
    names: dict[str, None] = {}
    for page in PAGES:
        for span in spans(page.read_text(encoding="utf-8")):
            match = _SLASH.match(span)
            if match:
                names[match.group(1)] = None
    return list(names)


def role_files() -> dict[str, str]:
    """The example roles the pages show, as Markdown blocks whose first line names the file: <!-- roles/NAME.md -->."""
    roles = {}
    for page in PAGES:
        for lang, lines in blocks(page.read_text(encoding="utf-8")):
            match = re.fullmatch(r"<!-- roles/([\w.-]+)\.md -->", lines[0].strip()) if lines else None
            if lang == "markdown" and match:
                roles[match.group(1)] = "\n".join(lines[1:]) + "\n"
    return roles


def links(page: Path) -> list[str]:
    """The targets of a page's links and images, as written."""
    return _LINK.findall(prose(page.read_text(encoding="utf-8")))


def anchors(page: Path) -> set[str]:
    """The anchors of a page's headings, as GitHub makes them: lower case, punctuation dropped, spaces as dashes."""
    found = set()
    for line in prose(page.read_text(encoding="utf-8")).splitlines():
        match = re.match(r"^#{1,6}\s+(.*?)\s*$", line)
        if match:
            slug = re.sub(r"[^\w\- ]", "", match.group(1).lower()).replace(" ", "-")
            found.add(slug)
    return found
