"""--show's text made by SQLite and printed as UTF-8 (showing.py) is what the straightforward way printed: every
row read into Python, its Markdown made by transcript.of_rows, sanitised and printed by Renderer.plain."""

from __future__ import annotations

import io
import itertools
import json
import shutil
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segchat.app import sessions, transcript
from segchat.model.conversation import Message, UnsentMessage
from segchat.store import showing
from segchat.text.redact import register_secret
from segchat.text.sanitize import sanitize
from segchat.ui.render import Renderer

PIECES = st.sampled_from(["a", "b ", "\n", "\r", "\r\n", "\t", "\x1b", "\x00", "\x85", "\u200b", "\u200c", "\u200d",
                          "👍", "\u0627", "\ufeff", "…", "日", "x-api-key: ", "X-Api-\u212aey", "Authorization",
                          "bearer ", "abcdefghijklmnopqrstu", "sk-live-secret", "## You", "\"attachments\""])
TEXT = st.lists(PIECES, max_size=12).map("".join)
# Metas as a store holds them: JSON the store wrote, and what another tool may have written instead.
METAS = st.sampled_from([None, {}, {"usage": {"total_tokens": 5}, "cost": "0.1"}, {"interrupted": True},
                         {"interrupted": False}, {"attachments": [{"name": "a.txt", "text": "body\n"}]},
                         {"attachments": []}, "raw:", "raw:{}", "raw:{\"interrupted\": tru", "raw:[\"interrupted\"]",
                         "raw:{\"note\": \"attachments\"}", "blob:{\"interrupted\": true}", "blob:", "blob:{}"])
MESSAGES = st.lists(st.tuples(st.sampled_from(["user", "assistant", "system"]), TEXT, METAS), max_size=8)
names = itertools.count()


def straightforward(store: Any, name: str) -> tuple[str, str | None]:
    """The output (or the error) of --show as it was made before showing.py."""
    out = io.StringIO()
    try:
        info = store.find(name)
        unsent_messages = store.unsent(info.id)
        pieces = transcript.of_rows(info, store.rows(info.id), unsent_messages[-1] if unsent_messages else None)
        Renderer(out=out, rich_output=False).plain([sanitize(piece) for piece in pieces])
    except Exception as exc:  # noqa: BLE001 - the same failure is expected of both
        return out.getvalue(), f"{type(exc).__name__}: {exc}"
    return out.getvalue(), None


def shown(store: Any, name: str, *, as_bytes: bool) -> tuple[str, str | None]:
    """--show's output now: onto a text stream, or onto a UTF-8 stream's bytes as on a real stdout."""
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", newline="\n") if as_bytes else io.StringIO()
    try:
        sessions.show_session(store, name, Renderer(out=out, rich_output=False))
    except Exception as exc:  # noqa: BLE001
        error = f"{type(exc).__name__}: {exc}"
    else:
        error = None
    out.flush()
    return (raw.getvalue().decode() if as_bytes else out.getvalue()), error


def make_session(store: Any, messages: list, unsent: tuple[str, dict] | None = None, system: str | None = None,
                 title: str = "") -> str:
    name = f"s{next(names)}"
    info = store.create(name, model="m", system=system)
    if title:
        store.update(info.id, title=title)
    if messages:
        store.add_exchange(info.id, [Message(role, content, 0.0, meta if isinstance(meta, dict) else {})
                                     for role, content, meta in messages])
    ids = [row[0] for row in store._db.execute("SELECT id FROM messages WHERE session_id=? ORDER BY id", (info.id,))]
    for row_id, (_, _, meta) in zip(ids, messages, strict=True):
        if isinstance(meta, str):  # written by another tool: as it is, as text or as bytes
            kind, value = meta.split(":", 1)
            store._db.execute("UPDATE messages SET meta=? WHERE id=?",
                              (value if kind == "raw" else value.encode(), row_id))
    if unsent:
        store.add_unsent(info.id, UnsentMessage(unsent[0], meta=unsent[1]))
    return name


def nul_joined(parts: list[bytes | None]) -> bytes:
    """markdown()'s parts joined, a NUL for each message Python writes."""
    return b"".join(b"\0" if part is None else part for part in parts)


def assert_same(store: Any, name: str) -> None:
    before = straightforward(store, name)
    assert shown(store, name, as_bytes=False) == before
    assert shown(store, name, as_bytes=True) == before


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(MESSAGES, st.one_of(st.none(), st.tuples(TEXT, st.sampled_from([{}, {"attachments": [{"name": "p.md"}]}]))),
       st.one_of(st.none(), TEXT), TEXT, st.booleans(), st.booleans())
def test_show_prints_what_the_straightforward_way_printed(store, monkeypatch, messages, unsent, system, title,
                                                          secret, at_once):
    """Either way SQLite makes it: a query per run of messages it writes, or one for them all."""
    monkeypatch.setattr(showing, "RUNS_UP_TO", -1 if at_once else 32)
    if secret:
        register_secret("sk-live-secret")
    assert_same(store, make_session(store, messages, unsent, system or None, title))


@pytest.mark.parametrize("runs_up_to", [32, -1])
def test_a_long_clean_session_is_written_as_utf8(store, monkeypatch, runs_up_to):
    """The quick way is taken (and Renderer.plain is not) when nothing needs changing; the text is the same."""
    monkeypatch.setattr(showing, "RUNS_UP_TO", runs_up_to)
    messages = [("user" if n % 2 == 0 else "assistant", f"message {n} … " + "words " * (n % 40),
                 {"interrupted": True} if n % 97 == 1 else {"usage": {"total_tokens": n}}) for n in range(3000)]
    name = make_session(store, messages, ("not sent", {}), "be brief", "a title…")
    before = straightforward(store, name)
    monkeypatch.setattr(Renderer, "plain", lambda *a: pytest.fail("the quick way was not taken"))
    assert shown(store, name, as_bytes=True) == before
    assert shown(store, name, as_bytes=False) == before


@pytest.mark.parametrize("runs_up_to", [32, -1])
@pytest.mark.parametrize("tricky", ["\x1b[2J", "x-api-key: sk-abcdef", "\r\n", "👨\u200d👩",
                                    "Bearer abcdefghijklmnopqrstu", "\r"])
def test_a_long_session_that_needs_changing(store, monkeypatch, tricky, runs_up_to):
    """Sanitised and redacted in pieces (a long text, the piece boundaries cut after line breaks)."""
    monkeypatch.setattr(showing, "RUNS_UP_TO", runs_up_to)
    messages = [("user" if n % 2 == 0 else "assistant",
                 f"message {n} " + "words " * 30 + (tricky if n % 300 == 7 else ""),
                 {"attachments": [{"name": "f.txt", "text": "x"}]} if n % 500 == 0 else {}) for n in range(2000)]
    assert_same(store, make_session(store, messages))


def test_messages_come_in_their_order(store):
    """Ids given out of order, and another session's messages between: shown in the order of their ids."""
    info = store.create("ordered", model="m")
    other = store.create("other", model="m")
    for row_id, session in ((50, info), (10, other), (30, info), (20, info), (40, other), (5, info)):
        store._db.execute("INSERT INTO messages(id, session_id, role, content, created, meta) VALUES (?,?,?,?,?,?)",
                          (row_id, session.id, "user", f"message {row_id}", 0.0,
                           json.dumps({"interrupted": True}) if row_id == 30 else None))
    assert_same(store, "ordered")
    text = shown(store, "ordered", as_bytes=True)[0]
    assert [line for line in text.splitlines() if line.startswith("message")] == [
        "message 5", "message 20", "message 30", "message 50"]


def test_from_sqlite_3_44_the_order_is_told_to_the_aggregate(store, monkeypatch, tmp_path):
    """The queries for SQLite 3.44 and later (ORDER BY inside group_concat), run on such a SQLite, give what the
    queries for the SQLite here give: ids out of order, another session's between, each row's own role."""
    dbapi = pytest.importorskip("pysqlite3.dbapi2", reason="pysqlite3-binary is installed with the test extras "
                                                           "on Linux x86_64")
    assert dbapi.sqlite_version_info >= (3, 44)
    info = store.create("ordered", model="m")
    other = store.create("other", model="m")
    roles = itertools.cycle(["assistant", "user", "system", "user"])
    for row_id, session in ((50, info), (10, other), (30, info), (20, info), (40, other), (5, info), (60, info),
                            (3, info)):
        store._db.execute("INSERT INTO messages(id, session_id, role, content, created, meta) VALUES (?,?,?,?,?,?)",
                          (row_id, session.id, next(roles), f"message {row_id}", 0.0,
                           json.dumps({"interrupted": True}) if row_id in (30, 5) else None))
    # A copy for the other SQLite library: two in one process on one file undo each other's locks.
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(store.path, tmp_path / "copy.db")
    newer = dbapi.connect(tmp_path / "copy.db")
    try:
        for runs_up_to in (32, -1):
            monkeypatch.setattr(showing, "RUNS_UP_TO", runs_up_to)
            made = showing.markdown(newer, info.id, dbapi.sqlite_version_info)
            assert made == showing.markdown(store._db, info.id)
            assert nul_joined(made[0]) == (b"## You\n\nmessage 3\n\n\0## You\n\nmessage 20\n\n\0"
                                           b"## Model\n\nmessage 50\n\n## Model\n\nmessage 60\n\n")
            assert made[1] == [("user", "message 5", '{"interrupted": true}'),
                               ("system", "message 30", '{"interrupted": true}')]
    finally:
        newer.close()
    assert all("ORDER BY id) AS BLOB" in query for query in showing.queries((3, 44, 0)))
    assert not any("ORDER BY id) AS BLOB" in query for query in showing.queries((3, 43, 2)))


@pytest.mark.parametrize("runs_up_to", [32, -1])
@pytest.mark.parametrize("value", ["CAST('plain' AS BLOB)", "CAST(x'ff' AS TEXT)", "CAST(x'c3' AS TEXT) || 'a'",
                                   "'a' || char(0) || 'b'"])
def test_content_another_tool_wrote(store, monkeypatch, value, runs_up_to):
    """Not text, not UTF-8, a NUL: as before (an error, or the text sanitised)."""
    monkeypatch.setattr(showing, "RUNS_UP_TO", runs_up_to)
    name = make_session(store, [("user", "hello", None), ("assistant", "hi", {"interrupted": True})])
    store._db.execute(f"UPDATE messages SET content={value} WHERE role='user'")
    assert_same(store, name)


@pytest.mark.parametrize("runs_up_to", [32, -1])
def test_markdown_sql_keeps_the_rows_python_writes(store, monkeypatch, runs_up_to):
    """A meta naming what Markdown shows, or not text, is left to Python (a None among the parts)."""
    monkeypatch.setattr(showing, "RUNS_UP_TO", runs_up_to)
    name = make_session(store, [("user", "a", None), ("assistant", "b", {"interrupted": True}), ("user", "c", "blob:"),
                                ("assistant", "d", {"cost": "1"}), ("user", "", None)])
    parts, rows = showing.markdown(store._db, store.find(name).id)
    assert nul_joined(parts) == b"## You\n\na\n\n\0\0## Model\n\nd\n\n## You\n\n\n\n"
    assert [row[1] for row in rows] == ["b", "c"]


def test_the_messages_python_writes_are_found_by_their_index(store):
    """Schema 4's partial index is what the query for them reads (the same expression as the index's)."""
    plan = store._db.execute("EXPLAIN QUERY PLAN " + showing._UNPLAIN_ROWS, (1,)).fetchall()
    assert any("messages_unplain" in row[-1] for row in plan), plan


def test_a_store_without_the_index_gets_it(tmp_path):
    """A store written before the index (or by a segchat that dropped it) gets it, holding the messages it
    already had that Python writes; its schema version is unchanged, so an older segchat still opens it."""
    import sqlite3

    from segchat.store import Store
    from segchat.store.schema import MIGRATIONS

    path = tmp_path / "sessions.db"
    db = sqlite3.connect(path)
    db.executescript(f"BEGIN;{MIGRATIONS[1]}{MIGRATIONS[2]}{MIGRATIONS[3]}PRAGMA user_version=3;COMMIT;")
    db.execute("INSERT INTO sessions(id, name, created, updated) VALUES (1, 'old', 0, 0)")
    for row_id, meta in ((1, None), (2, '{"interrupted": true}'), (3, '{"cost": "1"}'), (4, '{"attachments": []}')):
        db.execute("INSERT INTO messages(id, session_id, role, content, meta) VALUES (?, 1, 'user', 'x', ?)",
                   (row_id, meta))
    db.commit()
    db.close()
    store = Store(path)
    try:
        assert store._db.execute("PRAGMA user_version").fetchone()[0] == 3
        assert [row[0] for row in store._db.execute(showing._UNPLAIN_ROWS, (1,))] == [2, 4]
        assert store._db.execute("SELECT count(*) FROM messages INDEXED BY messages_unplain WHERE session_id = 1 AND "
                                 f"({showing.UNPLAIN})").fetchone()[0] == 2
    finally:
        store.close()
def test_the_connection_keeps_its_cache_size(store):
    name = make_session(store, [("user", "hello", None)])
    before = store._db.execute("PRAGMA cache_size").fetchone()[0]
    assert_same(store, name)
    assert store._db.execute("PRAGMA cache_size").fetchone()[0] == before


@pytest.mark.parametrize("encoding", ["latin-1", "ascii", "utf-16"])
def test_a_stream_in_another_encoding_gets_the_text(store, encoding):
    name = make_session(store, [("user", "café … 日本 👍", None), ("assistant", "ok", {"interrupted": True})])
    expected = straightforward(store, name)[0]
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="\n")
    sessions.show_session(store, name, Renderer(out=out, rich_output=False))
    out.flush()
    assert raw.getvalue() == expected.encode(encoding, "replace")


@pytest.mark.parametrize("runs_up_to", [32, -1])
def test_the_lowest_and_highest_ids_are_shown(store, monkeypatch, runs_up_to):
    """Another tool may give a message any id: the runs' ends lie past every one."""
    monkeypatch.setattr(showing, "RUNS_UP_TO", runs_up_to)
    info = store.create("ends", model="m")
    for row_id, meta in ((-(2**63), None), (7, json.dumps({"interrupted": True})), (2**63 - 1, None)):
        store._db.execute("INSERT INTO messages(id, session_id, role, content, created, meta) VALUES (?,?,?,?,?,?)",
                          (row_id, info.id, "user", f"message {row_id}", 0.0, meta))
    assert_same(store, "ends")
    assert shown(store, "ends", as_bytes=True)[0].count("message ") == 3


def test_one_snapshot_while_another_process_saves_a_turn(store, monkeypatch):
    """A turn saved by another process between --show's queries is in all of them or none (here none: it comes
    after the first read)."""
    import sqlite3

    name = make_session(store, [("user", "one", None), ("assistant", "reply one", None)])
    before = straightforward(store, name)
    other = sqlite3.connect(store.path, isolation_level=None)
    real = store._db

    class Saving:
        """The store's connection, and another process saving a turn right after the first query's rows."""

        def execute(self, sql, *args):
            cursor = real.execute(sql, *args)
            if sql == showing._UNPLAIN_ROWS:
                rows = cursor.fetchall()
                for role, meta in (("user", {"attachments": [{"name": "a.txt", "text": "x"}]}),
                                   ("assistant", {"interrupted": True})):
                    other.execute("INSERT INTO messages(session_id, role, content, created, meta) "
                                  "VALUES (?, ?, 'two', 0, ?)", (store.find(name).id, role, json.dumps(meta)))
                return Fetched(rows)
            return cursor

        def __getattr__(self, attribute):
            return getattr(real, attribute)

    class Fetched(list):
        def fetchall(self) -> list:
            return list(self)

    monkeypatch.setattr(store, "_db", Saving())
    assert shown(store, name, as_bytes=True) == before
    monkeypatch.undo()
    assert "Model (interrupted)" in shown(store, name, as_bytes=True)[0]  # the next --show has it
    other.close()
