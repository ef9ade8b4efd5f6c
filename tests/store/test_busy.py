"""A store another process holds: writes that come before sending give up after a brief wait, those that keep a
paid reply wait longer."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

import pytest

from segchat.errors import StoreBusy
from segchat.model.conversation import Message, UnsentMessage


@pytest.fixture
def blocker(store):
    """Another process's write transaction on the store, until the test ends (or rolls it back)."""
    other = sqlite3.connect(store.path, isolation_level=None)
    yield other
    if other.in_transaction:
        other.execute("ROLLBACK")
    other.close()


def test_writes_before_sending_wait_briefly_then_say_the_store_is_busy(store, blocker):
    info = store.create("s")
    store.wait, store.wait_before_sending = 30.0, 0.3
    blocker.execute("BEGIN EXCLUSIVE")
    for write in (lambda: store.create("t"), lambda: store.add_unsent(info.id, UnsentMessage("q")),
                  lambda: store.update(info.id, system="s"), store.check_not_busy):
        started = time.monotonic()
        with pytest.raises(StoreBusy, match=r"the session store is busy: .*sessions\.db; waited 0\.3 s\)$"):
            write()
        assert time.monotonic() - started < 20  # its own brief wait, not the 30 s a reply's save waits
    blocker.execute("ROLLBACK")
    assert store.names() == ["s"] and store.unsent(info.id) == []  # nothing was written


def test_a_write_that_keeps_a_reply_waits_the_longer_wait(store, blocker):
    info = store.create("s")
    store.wait, store.wait_before_sending = 1.0, 0.05
    blocker.execute("BEGIN EXCLUSIVE")
    started = time.monotonic()
    with pytest.raises(StoreBusy, match="waited 1 s"):
        store.add_exchange(info.id, [Message("user", "q"), Message("assistant", "a")])
    assert time.monotonic() - started >= 0.95


def test_the_brief_wait_is_only_for_as_long_as_the_other_write_lasts(store):
    """A lock held for less than the wait is waited out: the write then goes through."""
    store.wait_before_sending = 30.0
    holder = subprocess.Popen([sys.executable, "-c", "import sqlite3, sys, time\n"
                               "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                               "db.execute('BEGIN EXCLUSIVE'); print('held', flush=True); time.sleep(0.5)\n"
                               "db.execute('ROLLBACK')", str(store.path)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"held\n"
        store.create("after")
    finally:
        holder.wait(timeout=30)
        holder.stdout.close()
    assert store.find("after").name == "after"
