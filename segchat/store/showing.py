"""--show of a long session: SQLite writes its Markdown as UTF-8, printed as it is when nothing needs changing."""

from __future__ import annotations

import sqlite3

from segchat.app import transcript
from segchat.store.schema import UNPLAIN
from segchat.text.redact import needs_redacting, secret_across_lines
from segchat.text.sanitize import as_it_is, line_pieces, sanitize

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing; checkers read it as True
if TYPE_CHECKING:
    from typing import Any

    from segchat.model.conversation import UnsentMessage
    from segchat.store import Store
    from segchat.store.session_row import SessionInfo
    from segchat.ui.render import Renderer

# A message's Markdown as transcript.pieces() writes it: "## You" or "## Model", "", its content, "", each line
# ending in a line break. SQLite writes it for a run of messages whose Markdown it can write (not those in the index
# of schema.UNPLAIN): their contents joined by separators that end one message and head the next, so that no
# string is made per message; Python adds the first head and the last end. Building the text in SQLite saves
# making a string per row, and decoding and encoding all of them.
# The order: from SQLite 3.44 an aggregate is told it (ORDER BY in its arguments, which then sorts its rows).
# Before, it cannot be, and group_concat() takes its rows in the order its subquery's ORDER BY gives them (a
# subquery with ORDER BY is not flattened into an aggregate query); those versions are released, so that stays so.
_SEPARATOR = "CASE WHEN role = 'user' THEN '\n\n## You\n\n' ELSE '\n\n## Model\n\n' END"
# The messages Python writes, found by their index.
_UNPLAIN_ROWS = f"SELECT id, role, content, meta FROM messages WHERE session_id = ? AND ({UNPLAIN}) ORDER BY id"
# The messages between two of those (ids after ?2 and before ?3); role: the first one's (min() picks its row).
_RUN = """
SELECT CAST(group_concat(content, {separator}{order}) AS BLOB), role, min(id)
FROM (SELECT id, role, content FROM messages WHERE session_id = ?1 AND id > ?2 AND id < ?3 ORDER BY id)
"""
# All of a session's messages, a NUL in the place of each that Python writes: for a session with many of those,
# where a query per run would cost more than this one's test of each message. Here each message's Markdown ends
# itself (a message before a NUL is ended), and the separator is the next one's head.
_ALL = """
SELECT CAST(group_concat(CASE WHEN plain THEN content || char(10, 10) ELSE char(0) END,
                         CASE WHEN NOT plain THEN '' WHEN role = 'user' THEN '## You\n\n' ELSE '## Model\n\n' END
                         {order}) AS BLOB), role, min(id)
FROM (SELECT id, role, content, id NOT IN (SELECT id FROM messages WHERE session_id = ?1 AND ({unplain})) AS plain
      FROM messages WHERE session_id = ?1 ORDER BY id)
"""
RUNS_UP_TO = 32  # messages Python writes, beyond which _ALL is quicker than a query per run (about 6 µs each)
_BEYOND = 1e19  # an end past every id: a row's id is an integer, at most 2**63 - 1, and compares with a real
_ENDS = b"\n\n"


def queries(version: tuple[int, ...]) -> tuple[str, str]:
    """The queries that make a run's Markdown and a whole session's, for this version of SQLite."""
    order = " ORDER BY id" if version >= (3, 44) else ""
    return _RUN.format(separator=_SEPARATOR, order=order), _ALL.format(order=order, unplain=UNPLAIN)


def markdown(db: sqlite3.Connection, session_id: int, version: tuple[int, ...] = sqlite3.sqlite_version_info,
             ) -> tuple[list[bytes | None] | None, list[tuple[str, Any, Any]]]:
    """A session's Markdown as UTF-8 in parts, None in the place of each message Python writes; and those
    messages' rows (role, content, meta), in order. No parts when _ALL made the text and a content holds a NUL
    (it could not tell it from its own). version: the SQLite's that db is."""
    # The scan reads each page once: a small page cache, reused, spares faulting in fresh memory for 2 MB of
    # pages that are never read again (the connection's own size is back for what follows).
    size = db.execute("PRAGMA cache_size").fetchone()[0]
    db.execute("PRAGMA cache_size=32")
    began = not db.in_transaction
    if began:  # one snapshot for all the queries: a turn another process saves meanwhile is in all or none
        db.execute("BEGIN")
    try:
        unplain_rows = db.execute(_UNPLAIN_ROWS, (session_id,)).fetchall()
        run, whole = queries(version)
        parts: list[bytes | None] | None = []
        if len(unplain_rows) <= RUNS_UP_TO:
            after = -_BEYOND
            for before in [*(row[0] for row in unplain_rows), _BEYOND]:
                text, role, first = db.execute(run, (session_id, after, before)).fetchone()
                if first is not None:
                    parts += (_head(role), text, _ENDS)
                parts.append(None)
                after = before
            parts.pop()  # the end's
        else:
            text, role, _ = db.execute(whole, (session_id,)).fetchone()
            made = (text or b"").split(b"\0")
            if len(made) != len(unplain_rows) + 1:
                parts = None
            else:
                parts = [_head(role)] if made[0] else []
                for part in made[:-1]:
                    parts += (part, None)
                parts.append(made[-1])
    finally:
        if began:
            db.execute("COMMIT")
        db.execute(f"PRAGMA cache_size={int(size)}")
    return parts, [row[1:] for row in unplain_rows]


def _head(role: str) -> bytes:
    return b"## You\n\n" if role == "user" else b"## Model\n\n"


def show(store: Store, info: SessionInfo, unsent: UnsentMessage | None, renderer: Renderer) -> None:
    """What transcript.of_rows() and Renderer.plain() print, byte for byte; the stored text is not decoded
    nor encoded when sanitising and redaction would leave it as it is (the usual case)."""
    parts, rows = store.markdown(info.id)
    if (parts is None or not all(isinstance(content, str) for _, content, _ in rows)
            or not all(_utf8(part) for part in parts if part is not None) or secret_across_lines()):
        # Content that is not UTF-8 text (or holds a NUL, when _ALL made the text), or a secret that holds a
        # line break: shown (or refused) exactly as it always was, the straightforward way.
        renderer.plain([sanitize(piece) for piece in transcript.of_rows(info, store.rows(info.id), unsent)])
        return
    made = [_joined(transcript.message(role, content, transcript.shown_meta(info, meta)))
            for role, content, meta in rows]
    head = _joined(transcript.head(info, info.system))
    tail = _joined(transcript.unsent_part(unsent)) if unsent else ""
    # Each part begins or ends at a line break, and neither sanitising (but for "\r\n", which it is not left
    # with) nor what redaction looks for reads across one (a secret that holds one is read whole, above): the
    # parts looked at one by one are the whole text.
    if (all(as_it_is(part) for part in parts if part is not None)
            and all(sanitize(part) == part and not needs_redacting(part) for part in (head, *made, tail))):
        written = iter(made)
        renderer.plain_utf8([head.encode(), *(next(written).encode() if part is None else part for part in parts),
                             tail.encode()])
        return
    written, pieces, stored = iter(made), [head], []
    for part in [*parts, None]:
        if part is not None:
            stored.append(part)
            continue
        # Decoded a run at a time: sanitising reads "\r\n" as one, and a run's parts may cut between them.
        pieces += _decoded(b"".join(stored))
        stored = []
        pieces.append(next(written, ""))
    pieces = [piece for piece in (*pieces, tail) if piece]
    pieces[-1] = pieces[-1][:-1]  # plain() writes the last line break
    renderer.plain([sanitize(piece) for piece in pieces])


def _joined(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def _utf8(data: bytes) -> bool:
    if data.isascii():
        return True
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def _decoded(data: bytes) -> list[str]:
    """Stored text in pieces that each end a line, as transcript.pieces() cuts them: each keeps its own width."""
    return [piece.decode() for piece in line_pieces(data, transcript.PIECE)]
