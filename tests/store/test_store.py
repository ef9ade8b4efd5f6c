"""Session store: durable turns, names, search, corruption and import/export."""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import stat

import pytest
from support.store_rows import listed, version_1_store

from segchat.app import sessions
from segchat.errors import SessionNotFound, StoreError
from segchat.model.conversation import Message, UnsentMessage
from segchat.store import Store
from segchat.store.session_row import check_name, make_title
from segchat.ui.render import Renderer


def pair(n: int) -> list[Message]:
    return [Message("user", f"question {n}", float(n)), Message("assistant", f"answer {n}", float(n), {"cost": "0.01"})]


def test_files_are_private(tmp_path):
    os.umask(0o022)
    store = Store(tmp_path / "d" / "sessions.db")
    info = store.create("x")
    store.add_exchange(info.id, pair(1))
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o700
    for name in os.listdir(tmp_path / "d"):
        assert stat.S_IMODE((tmp_path / "d" / name).stat().st_mode) == 0o600, name


def test_exchange_round_trip_and_title(store):
    info = store.create(system="sys")
    store.add_exchange(info.id, pair(1))
    store.add_exchange(info.id, pair(2))
    loaded = store.load(info.id)
    assert loaded.system == "sys" and loaded.messages == pair(1) + pair(2)
    assert store.get(info.id).title == "question 1" and store.get(info.id).count == 4


def test_pending_survives_and_is_cleared_by_its_exchange(store):
    info = store.create("p")
    pid = store.add_unsent(info.id, UnsentMessage("unsent"))
    assert store.load(info.id).unsent.text == "unsent"
    store.add_exchange(info.id, pair(1), unsent_id=pid)
    assert store.load(info.id).unsent is None


@pytest.mark.parametrize("name", ["../../x", "a/b", "a\x00b", "..", "", "x" * 65, "123", "a\nb", ".hidden"])
def test_bad_names_are_rejected(store, name):
    with pytest.raises(StoreError, match="invalid session name"):
        store.create(name)


def test_good_names():
    for name in ("work", "2024-trip", "a.b_c-d", "Q3"):
        assert check_name(name) == name


def test_find_by_name_or_id_and_near_matches(store):
    info = store.create("holiday-plans")
    assert store.find("holiday-plans").id == info.id
    assert store.find(str(info.id)).name == "holiday-plans"
    with pytest.raises(SessionNotFound, match="did you mean: holiday-plans"):
        store.find("holiday-plan")


def test_rename_and_delete(store):
    store.create("a")
    store.create("b")
    with pytest.raises(StoreError, match="already exists"):
        store.rename("a", "b")
    assert store.rename("a", "c").name == "c"
    store.delete("c")
    assert store.names() == ["b"]


def test_list_is_newest_first_and_leaves_out_empty_sessions(store):
    first = store.create("first")
    second = store.create("second")
    store.create("empty")
    store.add_unsent(second.id, UnsentMessage("typed, never answered"))
    store.add_exchange(first.id, pair(1))
    shown = listed(store)
    assert [s.name for s in shown] == ["first", "second"] and [s.unsent for s in shown] == [0, 1]


def test_the_listing_marks_unsent_messages_and_survives_damaged_figures(store):
    info = store.create("odd")
    store.add_unsent(info.id, UnsentMessage("still waiting"))
    store._db.execute("UPDATE sessions SET balance='not a number', spent='1e999999999' WHERE id=?", (info.id,))
    out = io.StringIO()
    sessions.list_sessions(store, Renderer(out=out, rich_output=False))
    row = out.getvalue().splitlines()[1].split("\t")
    assert row[2] == "(an unsent message)" and row[4] == "0 + 1 unsent" and row[7] == "—"


def test_search_across_sessions(store):
    a, b = store.create("alpha"), store.create("beta")
    store.add_exchange(a.id, [Message("user", "tell me about Lisbon trams"), Message("assistant", "yellow")])
    store.add_exchange(b.id, [Message("user", "Porto wine"), Message("assistant", "Lisbon is south")])
    hits = store.search("lisbon")
    assert {(name, role) for name, role, _, _ in hits} == {("alpha", "user"), ("beta", "assistant")}
    assert store.search('"; DROP TABLE x') == []  # words only: no FTS syntax injection
    store.delete("alpha")
    assert [h[0] for h in store.search("lisbon")] == ["beta"]


def test_remove_messages(store):
    info = store.create("u")
    for n in range(3):
        store.add_exchange(info.id, pair(n))
    ids = [m.id for m in store.load(info.id).messages]
    store.remove_messages(info.id, ids[-2:])
    store.remove_messages(info.id, ids[:2])
    assert [m.content for m in store.load(info.id).messages] == ["question 1", "answer 1"]


@pytest.mark.parametrize("damage", [b"", b"garbage" * 100, b"\x00" * 4096, b"SQLite format 3\x00" + b"\xff" * 200])
def test_corrupt_store_is_moved_aside_not_replaced(tmp_path, damage):
    path = tmp_path / "sessions.db"
    good = Store(path)
    good.create("keep")
    good.close()
    if damage:
        path.write_bytes(damage)
        for suffix in ("-wal", "-shm"):
            (tmp_path / f"sessions.db{suffix}").unlink(missing_ok=True)
    store = Store(path)
    if not damage:  # an empty file is simply a new database
        return
    assert store.notices and str(path) in store.notices[0]
    aside = [p for p in tmp_path.iterdir() if ".corrupt-" in p.name and not p.name.endswith(("-wal", "-shm"))]
    assert len(aside) == 1 and aside[0].read_bytes() == damage
    store.create("fresh")
    assert store.names() == ["fresh"]


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "s.db"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=99")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="newer segchat"):
        Store(path)
    assert path.exists()


def test_damaged_message_names_the_session(store):
    info, other = store.create("broken"), store.create("fine")
    store.add_exchange(other.id, pair(1))
    store._db.execute("INSERT INTO messages(session_id, role, content, meta) VALUES (?, 'user', 'x', '{bad')",
                      (info.id,))
    with pytest.raises(StoreError, match="session 'broken'"):
        store.load(info.id)
    assert store.load(other.id).messages == pair(1)


def test_json_export_import_round_trip(store, tmp_path):
    info = store.create("orig", model="m", system="be kind \x1b")
    store.add_exchange(info.id, pair(1) + pair(2), spent="0.0125")
    store.update(info.id, title="custom title")
    store.add_unsent(info.id, UnsentMessage("not yet sent"))
    exported = sessions.export_session(store, "orig", "json")
    assert "\x1b" not in exported  # escaped in the file, harmless to cat
    path = tmp_path / "e.json"
    path.write_text(exported)
    imported = sessions.import_session(store, path)
    assert imported.name.startswith("orig-imported-")
    again = json.loads(sessions.export_session(store, imported.name, "json"))
    first = json.loads(exported)
    for key in ("system", "messages", "pending", "model", "title", "version", "spent"):
        assert again[key] == first[key], key


def test_import_rejects_bad_files(store, tmp_path):
    bad = tmp_path / "bad.json"
    for text in ("[1]", "{", json.dumps({"messages": [{"role": "x", "content": "y"}]})):
        bad.write_text(text)
        with pytest.raises(StoreError, match="not a segchat JSON export"):
            sessions.import_session(store, bad)


def test_markdown_export(store):
    info = store.create("md", system="sys")
    store.add_exchange(info.id, pair(1))
    text = sessions.export_session(store, "md", "md")
    assert "# question 1" in text and "## You\n\nquestion 1" in text and "## Model\n\nanswer 1" in text


def test_list_output_sanitises_titles(store, capsys):
    import io
    info = store.create("t")
    store.add_exchange(info.id, [Message("user", "evil \x1b]0;pwn\x07 title"), Message("assistant", "ok")])
    out = io.StringIO()
    sessions.list_sessions(store, Renderer(out=out, rich_output=False))
    assert "\x1b" not in out.getvalue() and "^[]0;pwn^G" in out.getvalue()


def test_make_title():
    assert make_title("  Hello   world\nsecond line") == "Hello world"
    assert make_title("word " * 30).endswith("…") and len(make_title("word " * 30)) <= 61


def test_saving_a_turn_does_the_same_work_at_any_length(store):
    # The statements a turn runs must not depend on the history's length (no rewrite of old rows).
    def traced_append(history: int) -> list[str]:
        info = store.create(f"s{history}")
        if history:
            store.add_exchange(info.id, [m for n in range(history // 2) for m in pair(n)])
        statements: list[str] = []
        store._db.set_trace_callback(statements.append)
        store.add_exchange(info.id, pair(999))
        store._db.set_trace_callback(None)
        # "-- " lines are FTS5's own index upkeep, amortised; the benchmark measures the whole cost.
        return [re.sub(r"'[^']*'|[\d.]+", "?", s) for s in statements if not s.startswith("--")]

    assert traced_append(10) == traced_append(2000)
    assert not any("SELECT role" in s for s in traced_append(4))


def test_markdown_export_is_inert(store):
    info = store.create("hostile")
    store.add_exchange(info.id, [Message("user", "x"), Message("assistant", "a\x1b]52;c;eA==\x07b")])
    text = sessions.export_session(store, "hostile", "md")
    assert "\x1b" not in text and "a^[]52;c;eA==^Gb" in text


def test_a_locked_store_is_reported_not_moved(tmp_path, monkeypatch):
    path = tmp_path / "sessions.db"
    Store(path).close()
    holder = sqlite3.connect(path)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    connect = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: connect(*a, **{**k, "timeout": 0.2}))
    try:
        with pytest.raises(StoreError, match="cannot open the session store"):
            Store(path)
    finally:
        holder.rollback()
        holder.close()
    assert not [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]


def test_a_store_is_migrated_forward_keeping_its_data(tmp_path, monkeypatch):
    import segchat.store.schema as store_module
    path = tmp_path / "s.db"
    old = Store(path)
    info = old.create("kept")
    old.add_exchange(info.id, pair(1))
    old.close()
    later = store_module.SCHEMA_VERSION + 1
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", later)
    monkeypatch.setattr(store_module, "MIGRATIONS",
                        {**store_module.MIGRATIONS, later: "ALTER TABLE sessions ADD COLUMN pinned INTEGER DEFAULT 0;"})
    new = Store(path)
    assert new._db.execute("PRAGMA user_version").fetchone() == (later,)
    assert new._db.execute("SELECT pinned FROM sessions").fetchone() == (0,)
    assert new.load(new.find("kept").id).messages == pair(1)


def test_a_version_1_store_gains_owners_and_profiles_keeping_its_data(tmp_path):
    path = tmp_path / "v1.db"
    db = version_1_store(path, "old", "m", "hello")
    db.execute("INSERT INTO pending(session_id, content, created) VALUES (1, 'left unsent', 1)")
    db.close()
    store = Store(path)
    info = store.find("old")
    assert info.profile is None and [m.content for m in store.load(info.id).messages] == ["hello"]
    assert store.load(info.id).unsent.text == "left unsent"  # no owner recorded: free to take


UNPLAIN_INDEX = ("CREATE INDEX messages_unplain ON messages(session_id, id) WHERE typeof(content) != 'text' OR "
                 "meta IS NOT NULL AND (typeof(meta) != 'text' OR instr(meta, '\"attachments\"') OR "
                 "instr(meta, '\"interrupted\"'))")


def test_a_store_with_the_old_show_index_opens_without_it(tmp_path):
    """Builds before this one made an index for --show's SQL beside the versions: the store opens at the same
    version (so those builds still open it), without the index, its sessions whole."""
    from segchat.store.schema import MIGRATIONS, SCHEMA_VERSION

    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(f"BEGIN;{MIGRATIONS[1]}{MIGRATIONS[2]}{MIGRATIONS[3]}{UNPLAIN_INDEX};"
                     f"PRAGMA user_version={SCHEMA_VERSION};COMMIT;")
    db.execute("INSERT INTO sessions(id, name, created, updated) VALUES (1, 'old', 0, 0)")
    db.execute("INSERT INTO messages(session_id, role, content, meta) VALUES (1, 'user', 'hello', "
               "'{\"interrupted\": true}')")
    db.execute("INSERT INTO pending(session_id, content, created) VALUES (1, 'left unsent', 1)")
    db.close()
    store = Store(path)
    try:
        assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
        assert store._db.execute("SELECT name FROM sqlite_master WHERE name = 'messages_unplain'").fetchall() == []
        conversation = store.load(store.find("old").id)
        assert [(m.content, m.meta) for m in conversation.messages] == [("hello", {"interrupted": True})]
        assert conversation.unsent.text == "left unsent"
    finally:
        store.close()
