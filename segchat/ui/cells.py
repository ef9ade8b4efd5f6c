"""Terminal cells of sanitised text, as rich counts them, without loading rich for text it need not."""

from __future__ import annotations

import unicodedata

_WIDE: dict[str, int | None] = {}  # a character met before: its cells, or None where only rich knows
_NARROW = set(map(chr, range(0x20, 0x7F)))  # one cell each: printable ASCII, and those width_of() found so


def width_of(char: str) -> int | None:
    """Cells of one non-ASCII character, or None when rich must say: marks, joiners, controls, unassigned and
    private characters, symbols whose width changed between Unicode versions, and Hangul's conjoining jamo.
    For every other character this equals rich's answer (a test compares them all)."""
    known = _WIDE.get(char, -1)
    if known != -1:
        return known
    point, category = ord(char), unicodedata.category(char)
    cells: int | None
    if category[0] in "MC" or category in ("Zl", "Zp", "Sk", "No") or 0x1100 <= point <= 0x11FF \
            or 0xD7B0 <= point <= 0xD7FF or char in "\u3164\uffa0":
        cells = None
    elif unicodedata.east_asian_width(char) in "WF":
        cells = 2
    else:
        cells = None if category == "So" else 1
    _WIDE[char] = cells
    if cells == 1:
        _NARROW.add(char)
    return cells


def width(text: str) -> int:
    """rich.cells.cell_len(text)."""
    if text.isascii() or _NARROW.issuperset(text):
        return len(text)
    extra = 0
    for char in set(text).difference(_NARROW):  # each character once: a title holds few distinct ones
        cells = width_of(char) if char >= "\x80" else None
        if cells is None:
            from rich.cells import cell_len

            return cell_len(text)
        if cells == 2:
            extra += text.count(char)
    return len(text) + extra


def _known(text: str) -> bool:
    """Whether width_of() answers for every character of text beyond the plain ones."""
    return all(char >= "\x80" and width_of(char) is not None for char in set(text).difference(_NARROW))


def head(text: str, size: int) -> str:
    """The first of chop(text, size) ("" when none), without going on past it."""
    if _known(text):
        used = 0
        for at, char in enumerate(text):
            used += 1 if char in _NARROW else width_of(char)
            if used > size:
                return text[:at]
        return text
    return next(iter(chop(text, size)), "")


def chop(text: str, size: int) -> list[str]:
    """rich.cells.chop_cells(text, size): pieces of at most size cells (a wide character that would straddle
    moves on)."""
    if not text:
        return []
    if _known(text):
        pieces, start, used = [], 0, 0
        for at, char in enumerate(text):
            cells = 1 if char in _NARROW else width_of(char)
            if used + cells > size:
                pieces.append(text[start:at])
                start, used = at, 0
            used += cells
        pieces.append(text[start:])
        return pieces
    from rich.cells import chop_cells

    return chop_cells(text, size)
