"""A store that cannot be written (a read-only file or directory) is still read: listing, showing, searching."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest
from support.read_only import read_only
from support.store_rows import version_1_store

from segchat.model.conversation import Message
from segchat.store import Store


def filled(path) -> None:
    store = Store(path)
    info = store.create("trip")
    store.add_exchange(info.id, [Message("user", "the tram to Belém", 1.0), Message("assistant", "line 15", 1.0)])
    store.close()  # the last connection: the WAL is folded in, and -wal and -shm go


def read_everything(store: Store) -> list[str]:
    info = store.find("trip")
    return [row[1] for row in store.listing()] + [m.content for m in store.load(info.id).messages] + \
        [snippet for _, _, snippet, _ in store.search("tram")]


def test_a_store_opened_for_reading_reads_and_cannot_write(tmp_path):
    path = tmp_path / "sessions.db"
    filled(path)
    store = Store(path, read_only=True)
    try:
        assert read_everything(store) == ["trip", "the tram to Belém", "line 15", "the [tram] to Belém"]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):  # sqlite's mode=ro
            store._db.execute("DELETE FROM messages")
    finally:
        store.close()


def test_reading_a_store_that_is_not_there_makes_it(tmp_path):
    path = tmp_path / "new" / "sessions.db"
    store = Store(path, read_only=True)
    try:
        assert store.listing() == []
    finally:
        store.close()
    assert path.exists()


def test_reading_an_older_store_upgrades_it_first(tmp_path):
    path = tmp_path / "sessions.db"
    version_1_store(path, "trip", "", "the tram to Belém").close()
    store = Store(path, read_only=True)
    try:
        assert [row[1] for row in store.listing()] == ["trip"]
    finally:
        store.close()


@pytest.mark.parametrize("which", ["file", "directory"])
def test_a_store_that_cannot_be_written_is_read(tmp_path, which):
    path = tmp_path / "data" / "sessions.db"
    filled(path)
    assert not os.path.exists(f"{path}-shm")
    with read_only(path if which == "file" else path.parent):
        store = Store(path, read_only=True)
        try:
            assert read_everything(store) == ["trip", "the tram to Belém", "line 15", "the [tram] to Belém"]
            assert store.notices == []
        finally:
            store.close()
    assert sorted(p.name for p in path.parent.iterdir() if ".corrupt-" in p.name) == []


def test_changes_a_read_only_directory_hides_are_said(tmp_path):
    """A writer killed with its last turn still in the -wal file, the -shm file gone: in a directory that cannot be
    written that turn cannot be read, and the listing says so rather than showing less without a word."""
    path = tmp_path / "data" / "sessions.db"
    filled(path)
    writer = ("import os, signal, sys\nfrom segchat.store import Store\nfrom segchat.model.conversation import "
              "Message\nstore = Store(sys.argv[1])\nstore._db.execute('PRAGMA wal_autocheckpoint=0')\n"
              "store.add_exchange(1, [Message('user', 'the newest'), Message('assistant', 'turn')])\n"
              "os.kill(os.getpid(), signal.SIGKILL)")
    subprocess.run([sys.executable, "-c", writer, str(path)], check=False)
    assert os.path.getsize(f"{path}-wal") > 0
    os.remove(f"{path}-shm")
    with read_only(path.parent):
        store = Store(path, read_only=True)
        try:
            assert [row[1] for row in store.listing()] == ["trip"]
            (notice,) = store.notices
            assert "the newest changes to the session store" in notice and "may miss them" in notice
        finally:
            store.close()
    store = Store(path)  # writable again: the newest turn is there
    try:
        assert [m.content for m in store.load(1).messages][-2:] == ["the newest", "turn"]
    finally:
        store.close()
