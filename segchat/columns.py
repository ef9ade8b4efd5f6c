"""Aligned columns for a terminal, built from strings: the layout of --list, --search and /help."""

from __future__ import annotations

import os
from typing import IO, Any


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


def aligned(lines: list[list[str]], room: int, bold: bool) -> str:
    """Sanitised cells as columns padded to their widest cell (in terminal cells: wide characters count two),
    two spaces apart, the first line bold, as rich laid them out; when they do not fit room, the widest
    columns are narrowed to a common width and their cells wrapped there, at spaces where there are some.
    Built from strings: a rich Table measures and wraps every cell, a thousand times slower on a long listing.
    """
    measure: Any = len
    if not all(c.isascii() for line in lines for c in line):
        from rich.cells import cell_len, chop_cells

        measure = cell_len
    sizes = [[len(c) if c.isascii() else measure(c) for c in line] for line in lines]
    count = max(map(len, lines))
    widths = [max((size[i] for size in sizes if i < len(size)), default=0) for i in range(count)]
    cap = max(widths, default=0)
    while cap > 8 and sum(min(w, cap) for w in widths) + 2 * (count - 1) > room:
        cap -= 1
    widths = [min(w, cap) for w in widths]

    def wrap(cell: str, size: int) -> list[tuple[str, int]]:
        """The cell as lines of at most cap terminal cells, broken at spaces, or inside a longer word."""
        if size <= cap:
            return [(cell, size)]
        out: list[tuple[str, int]] = []
        line, used = "", 0
        for word in cell.split(" "):
            length = len(word) if word.isascii() else measure(word)
            if line and used + 1 + length <= cap:
                line, used = f"{line} {word}", used + 1 + length
                continue
            if line:
                out.append((line, used))
            if length > cap:
                parts = ([word[i:i + cap] for i in range(0, len(word), cap)] if word.isascii()
                         else chop_cells(word, cap))
                out += [(part, len(part) if part.isascii() else measure(part)) for part in parts[:-1]]
                word = parts[-1]
                length = len(word) if word.isascii() else measure(word)
            line, used = word, length
        out.append((line, used))
        return out

    out = []
    for n, (line, size) in enumerate(zip(lines, sizes, strict=True)):
        last = len(line) - 1
        if max(size, default=0) <= cap:  # the usual row: one line
            wrapped = [[(cell, size[i])] for i, cell in enumerate(line)]
        else:
            wrapped = [wrap(cell, size[i]) for i, cell in enumerate(line)]
        for k in range(max(map(len, wrapped), default=1)):
            parts = []
            for i, pieces in enumerate(wrapped):
                text, used = pieces[k] if k < len(pieces) else ("", 0)
                if n == 0 and bold and text:
                    text = f"\x1b[1m{text}\x1b[0m"
                parts.append(text if i == last else text + " " * (widths[i] - used))
            out.append("  ".join(parts).rstrip(" ") + "\n")
    return "".join(out)
