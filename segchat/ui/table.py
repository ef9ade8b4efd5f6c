"""Aligned columns for a terminal, built from strings: the layout of --list, --search and /help."""

from __future__ import annotations

import os

from segchat.ui.cells import chop, head, width

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing; checkers read it as True
if TYPE_CHECKING:
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
    """Sanitised cells as columns padded to their widest cell (in terminal cells: wide characters count two),
    two spaces apart, the first line bold, as rich laid them out. When they do not fit room, the cells of
    column shorten (if given) are first cut short with "…", down to SHORTEST cells; then the widest columns
    are narrowed to a common width and their cells wrapped there, at spaces where there are some.
    Built from strings: a rich Table measures and wraps every cell, a thousand times slower on a long listing.
    """
    count = max(map(len, lines))
    table = all(len(line) == count for line in lines)
    cutting = shorten is not None and shorten < count
    sizes = _sizes(lines, table, shorten if cutting else None)
    widths = _widths(sizes, table, count)
    fixed = -1  # the column already cut short: the others narrow, it keeps its width
    if cutting:
        fit = max(room - (sum(widths) - widths[shorten] + 2 * (count - 1)), SHORTEST)
        lines, cut = _fitted(lines, sizes, shorten, fit)
        widths = _widths(sizes, table, count)
        fixed = shorten if cut or widths[shorten] > fit else -1
    cap = max(widths, default=0)
    while cap > 8 and sum(w if i == fixed else min(w, cap) for i, w in enumerate(widths)) + 2 * (count - 1) > room:
        cap -= 1
    widths = [w if i == fixed else min(w, cap) for i, w in enumerate(widths)]
    if len(lines) > 1 and table and all(map(int.__le__, map(max, zip(*sizes[1:], strict=True)), widths)):
        # Every row but the header on one line (the usual listing): padded a column at a time.
        padded = [list(map(str.ljust, column, [room_for] * len(column))) if "".join(column).isascii()
                  else [cell + " " * (room_for - used) for cell, used in zip(column, used_by, strict=True)]
                  for column, used_by, room_for
                  in zip(zip(*lines[1:], strict=True), zip(*sizes[1:], strict=True), widths, strict=True)]
        body = ["  ".join(row).rstrip(" ") + "\n" for row in zip(*padded, strict=True)]
        return "".join([*_rows(lines[:1], sizes[:1], widths, bold), *body])
    return "".join(_rows(lines, sizes, widths, bold))


def _sizes(lines: list[list[str]], table: bool, later: int | None = None) -> list[list[int]]:
    """Each cell's width in terminal cells, but column later's (0 here, _fitted() measures them); a table's a
    column at a time, most of its columns plain ASCII and measured by len in one C call."""
    if not table:
        return [[0 if i == later else len(c) if c.isascii() else width(c) for i, c in enumerate(line)]
                for line in lines]
    return list(map(list, zip(*[[0] * len(column) if i == later
                                else list(map(len, column)) if "".join(column).isascii()
                                else [len(c) if c.isascii() else width(c) for c in column]
                                for i, column in enumerate(zip(*lines, strict=True))], strict=True)))


def _widths(sizes: list[list[int]], table: bool, count: int) -> list[int]:
    if table:
        return [max(column) for column in zip(*sizes, strict=True)]
    return [max((size[i] for size in sizes if i < len(size)), default=0) for i in range(count)]


def _fitted(lines: list[list[str]], sizes: list[list[int]], shorten: int, fit: int) -> tuple[list[list[str]], bool]:
    """lines with column shorten's cells (not the header's) cut to fit cells, sizes given their widths; and
    whether any was cut. A cell whose first fit + 1 characters are ASCII is wider than fit without measuring
    the rest of it: a long listing's titles mostly are."""
    lines, cut = list(lines), False
    for n, line in enumerate(lines):
        if shorten >= len(line):
            continue
        cell, size = line[shorten], sizes[n]
        if not (n and len(cell) > fit and cell[:fit + 1].isascii()):  # else surely wider than fit: cut unmeasured
            size[shorten] = len(cell) if cell.isascii() else width(cell)
            if not n or size[shorten] <= fit:
                continue
        line = lines[n] = line.copy()
        line[shorten], size[shorten] = _cut(cell, fit)
        cut = True
    return lines, cut


def _rows(lines: list[list[str]], sizes: list[list[int]], widths: list[int], bold: bool) -> list[str]:
    """The lines laid out a row at a time: a cell wider than its column wrapped onto more lines."""
    out = []
    for n, (line, size) in enumerate(zip(lines, sizes, strict=True)):
        if n and all(map(int.__le__, size, widths)):  # a row on one line, each cell padded to its column
            cells = [cell + " " * (column - used) for cell, column, used in zip(line, widths, size, strict=False)]
            out.append("  ".join(cells).rstrip(" ") + "\n")
            continue
        last = len(line) - 1
        wrapped = [_wrap(cell, size[i], widths[i]) for i, cell in enumerate(line)]
        for k in range(max(map(len, wrapped), default=1)):
            parts = []
            for i, pieces in enumerate(wrapped):
                text, used = pieces[k] if k < len(pieces) else ("", 0)
                if n == 0 and bold and text:
                    text = f"\x1b[1m{text}\x1b[0m"
                parts.append(text if i == last else text + " " * (widths[i] - used))
            out.append("  ".join(parts).rstrip(" ") + "\n")
    return out


def _wrap(cell: str, size: int, limit: int) -> list[tuple[str, int]]:
    """The cell as lines of at most limit terminal cells, broken at spaces, or inside a longer word."""
    if size <= limit:
        return [(cell, size)]
    out: list[tuple[str, int]] = []
    line, used = "", 0
    for word in cell.split(" "):
        length = len(word) if word.isascii() else width(word)
        if line and used + 1 + length <= limit:
            line, used = f"{line} {word}", used + 1 + length
            continue
        if line:
            out.append((line, used))
        if length > limit:
            parts = [word[i:i + limit] for i in range(0, len(word), limit)] if word.isascii() else chop(word, limit)
            out += [(part, len(part) if part.isascii() else width(part)) for part in parts[:-1]]
            word = parts[-1]
            length = len(word) if word.isascii() else width(word)
        line, used = word, length
    out.append((line, used))
    return out


def _cut(cell: str, fit: int) -> tuple[str, int]:
    """The cell cut to fit terminal cells, ending in "…" (a blank before it dropped), and its width."""
    if cell[:fit].isascii():  # then the next character is ASCII too: it adds no mark to the last one kept
        kept = cell[:fit - 1].rstrip(" ")
        return f"{kept}…", len(kept) + 1
    kept = head(cell, fit - 1).rstrip(" ")
    return f"{kept}…", width(kept) + 1
