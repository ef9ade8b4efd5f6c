"""Aligned columns for a terminal, built from strings: the layout of --list, --search and /help."""

from __future__ import annotations

import os
from types import ModuleType
from typing import IO

SHORTEST = 10  # terminal cells a shortened column keeps, however narrow the terminal


def room_on(out: IO[str]) -> int:
    """The terminal's width: $COLUMNS, else the first of out, stdin, stdout, stderr that is a terminal, else 80."""
    columns = os.environ.get("COLUMNS", "")
    room = int(columns) if columns.isdigit() else 0
    for fd in (() if room else (out, 0, 1, 2)):
        try:
            room = os.get_terminal_size(fd if isinstance(fd, int) else fd.fileno()).columns
        except (AttributeError, ValueError, OSError):
            continue
        if room:
            break
    return room or 80


def aligned(lines: list[list[str]], room: int, bold: bool, shorten: int | None = None) -> str:
    """Sanitised cells (no tab, no line break) as columns padded to their widest cell, in terminal cells (wide
    characters count two), two spaces apart, the first line bold, as rich laid them out; trailing blanks dropped.

    When they do not fit room, the cells of column shorten (if given; never the first line's) are first cut short
    with "…", down to SHORTEST cells; then the widest columns are narrowed to a common width and their cells
    wrapped there, at spaces where there are some. Built from strings: a rich Table is slow on a long listing.
    """
    from rich import cells  # widths as rich counts them: loaded with the first table laid out for a terminal

    count = max(map(len, lines))
    if shorten is not None and shorten >= count:
        shorten = None
    # Each cell's width in terminal cells; column shorten's (but the first line's) are measured as it is cut.
    sizes = [[0 if n and i == shorten else _width(cell, cells) for i, cell in enumerate(line)]
             for n, line in enumerate(lines)]
    fixed = -1  # the column already cut short: the others narrow, it keeps its width
    if shorten is not None:
        lines, fixed = _shortened(lines, sizes, shorten, room, cells)
    widths = _widths(sizes, count)
    cap = max(widths, default=0)
    while cap > 8 and sum(w if i == fixed else min(w, cap) for i, w in enumerate(widths)) + 2 * (count - 1) > room:
        cap -= 1
    widths = [w if i == fixed else min(w, cap) for i, w in enumerate(widths)]
    out = []
    for n, (line, size) in enumerate(zip(lines, sizes, strict=True)):
        wrapped = [_wrap(cell, used, width, cells) for cell, used, width in zip(line, size, widths, strict=False)]
        for k in range(max(map(len, wrapped), default=1)):
            parts = []
            for i, pieces in enumerate(wrapped):
                text, used = pieces[k] if k < len(pieces) else ("", 0)
                if n == 0 and bold and text:
                    text = f"\x1b[1m{text}\x1b[0m"
                parts.append(text if i == len(line) - 1 else text + " " * (widths[i] - used))
            out.append("  ".join(parts).rstrip(" ") + "\n")
    return "".join(out)


def _width(text: str, cells: ModuleType) -> int:
    """Terminal cells of sanitised text: a character each when it is ASCII (printable, then), else as rich says."""
    return len(text) if text.isascii() else cells.cell_len(text)


def _widths(sizes: list[list[int]], count: int) -> list[int]:
    return [max((size[i] for size in sizes if i < len(size)), default=0) for i in range(count)]


def _shortened(lines: list[list[str]], sizes: list[list[int]], column: int, room: int,
               cells: ModuleType) -> tuple[list[list[str]], int]:
    """lines with column's cells (but the first line's) cut short to the room the other columns leave, at least
    SHORTEST cells, and sizes given their widths; and column when it is now as narrow as it is to be, else -1."""
    widths = _widths(sizes, max(map(len, lines)))
    fit = max(room - (sum(widths) - widths[column] + 2 * (len(widths) - 1)), SHORTEST)
    lines, cut = [line.copy() for line in lines], False
    for line, size in zip(lines[1:], sizes[1:], strict=True):
        if column < len(line):
            line[column], size[column], was_cut = _fitted(line[column], fit, cells)
            cut = cut or was_cut
    return lines, column if cut or widths[column] > fit else -1


def _wrap(cell: str, size: int, limit: int, cells: ModuleType) -> list[tuple[str, int]]:
    """The cell (size cells wide) as lines of at most limit cells, broken at spaces, or inside a longer word;
    each with its width."""
    if size <= limit:
        return [(cell, size)]
    out: list[tuple[str, int]] = []
    line, used = "", 0
    for word in cell.split(" "):
        length = _width(word, cells)
        if line and used + 1 + length <= limit:
            line, used = f"{line} {word}", used + 1 + length
            continue
        if line:
            out.append((line, used))
        if length > limit:
            *parts, word = cells.chop_cells(word, limit)
            out += [(part, cells.cell_len(part)) for part in parts]
            length = cells.cell_len(word)
        line, used = word, length
    out.append((line, used))
    return out


def _fitted(cell: str, fit: int, cells: ModuleType) -> tuple[str, int, bool]:
    """The cell and its width when it fits in fit terminal cells; else the cell cut short, ending in "…" (a blank
    before it dropped), its width, and True. Cut as rich.cells.chop_cells cuts: a wide character that would
    straddle the last cell kept is left out."""
    if "\u200d" in cell or "\ufe0f" in cell:  # characters that join others into one: rich's graphemes
        width = cells.cell_len(cell)
        if width <= fit:
            return cell, width, False
        kept = cells.chop_cells(cell, fit - 1)[0]
    else:  # each character on its own, a mark (no cells) with the one before it: read as far as the room
        used, end = 0, 0
        for at, char in enumerate(cell):
            used += cells.get_character_cell_size(char)
            if used < fit:
                end = at + 1  # what a cut keeps: fit - 1 cells at most, leaving one for "…"
            elif used > fit:
                break
        else:
            return cell, used, False
        kept = cell[:end]
    kept = kept.rstrip(" ")
    return f"{kept}…", cells.cell_len(kept) + 1, True
