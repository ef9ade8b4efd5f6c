"""--show of a long session: SQLite writes its Markdown as UTF-8, printed as it is when nothing needs changing."""

from __future__ import annotations

import sqlite3

from segchat import transcript
from segchat.errors import needs_redacting, needs_redacting_utf8, secret_across_lines
from segchat.sanitize import leaves, line_pieces, sanitize, unplain

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing; checkers read it as True
if TYPE_CHECKING:
    from typing import Any

    from segchat.conversation import Draft
    from segchat.records import SessionInfo
    from segchat.render import Renderer
    from segchat.store import Store

# One row: every message's lines as transcript.pieces() writes them ("## You" or "## Model", "", content, ""),
# each with its line break, in the session's order. A message whose meta may show (it names one of the two
# things shown, or it is not text: what transcript.shown_meta() parses, and more), or whose content is not text
# (another tool's write), is a NUL there, its lines written from its row; then those rows' ids. Building the
# text in SQLite saves making a string per row and decoding and encoding all of them.
# The order: from SQLite 3.44 an aggregate is told it (ORDER BY in its arguments). Before, it cannot be, and
# group_concat() takes its rows in the order its subquery's ORDER BY gives them (a subquery with ORDER BY is
# not flattened into an aggregate query); those versions are released, so that stays so.
_MARKDOWN = """
SELECT CAST(group_concat(CASE WHEN plain THEN CASE WHEN role = 'user' THEN '## You' ELSE '## Model' END
                                              || char(10, 10) || content || char(10, 10)
                         ELSE char(0) END, ''{order}) AS BLOB),
       group_concat(CASE WHEN plain THEN NULL ELSE id END, ','{order})
FROM (SELECT id, role, content, typeof(content) = 'text' AND (meta IS NULL OR typeof(meta) = 'text'
             AND NOT instr(meta, '"attachments"') AND NOT instr(meta, '"interrupted"')) AS plain
      FROM messages WHERE session_id = ? ORDER BY id)
"""


def markdown_query(version: tuple[int, ...]) -> str:
    """The query that makes a session's Markdown, for this version of SQLite."""
    return _MARKDOWN.format(order=" ORDER BY id" if version >= (3, 44) else "")


def markdown(db: sqlite3.Connection, session_id: int) -> tuple[bytes, list[tuple[str, Any, Any]]]:
    """The Markdown of a session's messages as markdown_query() makes it, and the rows of its NULs, in order."""
    # The scan reads each page once: a small page cache, reused, spares faulting in fresh memory for 2 MB of
    # pages that are never read again (the connection's own size is back for what follows).
    size = db.execute("PRAGMA cache_size").fetchone()[0]
    db.execute("PRAGMA cache_size=32")
    try:
        text, ids = db.execute(markdown_query(sqlite3.sqlite_version_info), (session_id,)).fetchone()
    finally:
        db.execute(f"PRAGMA cache_size={int(size)}")
    rows = []
    if ids:  # integers, as SQLite wrote them
        listed = ",".join(str(int(n)) for n in ids.split(","))
        rows = db.execute(f"SELECT role, content, meta FROM messages WHERE id IN ({listed}) ORDER BY id").fetchall()
    return text or b"", rows


def show(store: Store, info: SessionInfo, pending: Draft | None, renderer: Renderer) -> None:
    """What transcript.of_rows() and Renderer.plain() print, byte for byte; the stored text is not decoded
    nor encoded when sanitising and redaction would leave it as it is (the usual case)."""
    text, rows = store.markdown(info.id)
    cuts, at = [], text.find(b"\0")
    while at >= 0:
        cuts.append(at)
        at = text.find(b"\0", at + 1)
    if (len(cuts) != len(rows) or not all(isinstance(content, str) for _, content, _ in rows)
            or not _utf8(text) or secret_across_lines()):
        # A content that is not UTF-8 text or holds a NUL, or a secret that holds a line break: shown (or
        # refused) exactly as it always was, the straightforward way.
        renderer.plain([sanitize(piece) for piece in transcript.of_rows(info, store.rows(info.id), pending)])
        return
    made = [_joined(transcript.head(info, info.system)),
            *(_joined(transcript.message(role, content, transcript.shown_meta(info, meta)))
              for role, content, meta in rows),
            _joined(transcript.unsent(pending)) if pending else ""]
    view = memoryview(text)
    stored = [view[start:end] for start, end in zip([0, *(cut + 1 for cut in cuts)], [*cuts, len(text)], strict=True)]
    rest = unplain(text)
    # Each part ends a line, and neither sanitising nor what redaction looks for reads across a line break
    # (a secret that holds one is read whole, above): the parts looked at one by one are the whole text.
    if (leaves(rest.replace(b"\0", b"")) and not needs_redacting_utf8(text, rest)
            and all(sanitize(part) == part and not needs_redacting(part) for part in made)):
        out = [made[0].encode()]
        for piece, extra in zip(stored, made[1:], strict=True):
            out += (piece, extra.encode())
        renderer.plain_utf8(out)
        return
    pieces = [made[0]]
    for piece, extra in zip(stored, made[1:], strict=True):
        pieces += (*_decoded(piece), extra)
    pieces = [piece for piece in pieces if piece]
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


def _decoded(data: memoryview) -> list[str]:
    """Stored text in pieces that each end a line, as transcript.pieces() cuts them: each keeps its own width."""
    return [piece.decode() for piece in line_pieces(data.tobytes(), transcript.PIECE)]
