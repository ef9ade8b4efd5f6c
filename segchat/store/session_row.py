"""Saved sessions as records: a session's row, and the rules for its name and its title."""

from __future__ import annotations

import re
from decimal import Decimal

from segchat.errors import StoreError
from segchat.figures import fmt_credits
from segchat.model.record import Record

_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"  # compiled by re when first needed

class SessionInfo(Record):
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
    if not re.fullmatch(_NAME, name) or name.isdigit() or ".." in name:
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


# A session's row with its message and unsent counts, for one session (by id or name) and for the listing.
INFO = ("SELECT s.id, s.name, s.title, s.model, s.system, s.created, s.updated, s.spent, s.balance, s.unpriced, "
         "s.message_count, s.profile, s.role, "
         "(SELECT count(*) FROM unsent p WHERE p.session_id = s.id) FROM sessions s")
# What --list shows of every session that holds something, newest first (not the system prompt, which can be
# long). Unsent messages are counted in one grouped pass: the unsent table has no index by session, so a
# subquery per session would read all of it each time.
LISTING = ("SELECT s.id, s.name, s.title, s.model, s.updated, s.spent, s.balance, s.unpriced, "
            "s.message_count, s.profile, coalesce(p.n, 0) "
            "FROM sessions s LEFT JOIN (SELECT session_id, count(*) AS n FROM unsent GROUP BY session_id) p "
            "ON p.session_id = s.id WHERE s.message_count > 0 OR p.n IS NOT NULL "
            "ORDER BY s.updated DESC, s.id DESC")


def info(row: tuple) -> SessionInfo:
    """A SessionInfo from a row of INFO."""
    spent, balance = (figure(v) for v in row[7:9])
    return SessionInfo(*row[:7], spent, balance, row[9], row[10], row[11], row[12], row[13])


# A stored figure as str(Decimal) writes an ordinary one: fmt_credits() shows it with its fraction's trailing zeros
# cut, which string operations do without a Decimal (a listing shows two per session).
_PLAIN_FIGURE = re.compile(r"(-?)(0|[1-9][0-9]{0,12})(?:\.([0-9]{1,12}))?")


def figure_text(value: object) -> str:
    """fmt_credits(figure(value)): a stored figure as the listing shows it."""
    match = _PLAIN_FIGURE.fullmatch(value) if type(value) is str else None
    if match is None:
        return fmt_credits(figure(value))
    sign, whole, fraction = match[1], match[2], (match[3] or "").rstrip("0")
    if whole == "0" and not fraction:
        return "0"
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"


# A column of figures (none, or plain ones, a line each) is made into what figure_text() gives each in three
# passes of C: fractions' trailing zeros cut, then a dot left alone, then a negative zero; none is "—".
_PLAIN_COLUMN = re.compile(r"(?:(?:-?(?:0|[1-9][0-9]{0,12})(?:\.[0-9]{1,12})?)?\n)*")
_TRAILING_ZEROS = re.compile(r"(\.[0-9]*?)0+$", re.MULTILINE)
_BARE_DOT = re.compile(r"\.$", re.MULTILINE)
_NEGATIVE_ZERO = re.compile(r"^-0$", re.MULTILINE)


def figures_text(values: list[object]) -> list[str]:
    """[figure_text(v) for v in values]: a listing's column, quicker when all of it is plain (the usual)."""
    if all(type(v) is str and "\n" not in v for v in values if v is not None):
        text = "".join(f"{'' if v is None else v}\n" for v in values)
        if _PLAIN_COLUMN.fullmatch(text):
            text = _NEGATIVE_ZERO.sub("0", _BARE_DOT.sub("", _TRAILING_ZEROS.sub(r"\1", text)))
            return [shown or "—" for shown in text.split("\n")[:-1]]
    return [figure_text(v) for v in values]


def figure(value: object) -> Decimal | None:
    """A stored credits figure; a damaged or absurd one is unknown rather than an error in every listing."""
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return None
    return number if number.is_finite() and -10**15 < number < 10**15 else None
