"""A saved session's record, and the rules for its name, its title and its stored figures."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from segchat.config.validate import NAME
from segchat.errors import StoreError


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A session's row, without its messages."""

    id: int
    name: str
    title: str
    model: str
    system: str | None
    created: float
    updated: float
    spent: Decimal | None
    balance: Decimal | None
    unpriced: int = 0
    count: int = 0
    profile: str | None = None
    role: str | None = None
    unsent: int = 0  # messages written but never answered


def check_name(name: str) -> str:
    """A session name: letters, digits, '.', '_', '-'; never a path, never only digits."""
    if not re.fullmatch(NAME, name) or name.isdigit() or ".." in name:
        raise StoreError(f"invalid session name {name[:70]!r}: use letters, digits, '.', '_' and '-' "
                         "(at most 64, starting with a letter or digit, not only digits, no '..')")
    return name


def make_title(text: str, limit: int = 60) -> str:
    """A readable title from the first message: its first line, cut at a word."""
    line = " ".join(text.strip().split("\n", 1)[0].split())
    if len(line) <= limit:
        return line
    cut = line[:limit].rsplit(" ", 1)[0]
    return (cut if len(cut) > limit // 2 else line[:limit]) + "…"


def figure(value: object) -> Decimal | None:
    """A stored credits figure; a damaged or absurd one is unknown rather than an error in every listing."""
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return None
    return number if number.is_finite() and -10**15 < number < 10**15 else None
