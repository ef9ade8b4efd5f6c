"""The installed segchat on a store another process holds: a one-shot sends nothing it could not save, and says so
within a few seconds."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from support.cli import segchat

from segchat.config.paths import store_path

HOLD = """import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("held", flush=True)
sys.stdin.read()  # until the test closes its end
db.execute("ROLLBACK")
"""


@pytest.fixture
def trip(cli_env, fake):
    """A store holding one session, 'trip', made by segchat itself; the environment to run segchat in."""
    made = segchat("--session", "trip", "the tram to Belém", env=cli_env)
    assert made.returncode == 0, made.stderr
    return cli_env


def test_a_one_shot_on_a_store_another_process_holds_sends_nothing_and_says_so(trip, fake):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, store_path()], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"held\n"
        asked = len(fake.requests)
        for args in (["a new question"], ["-r", "a follow-up"], ["--session", "trip", "another follow-up"]):
            started = time.monotonic()
            result = segchat(*args, env=trip)
            took = time.monotonic() - started
            err = result.stderr.decode()
            assert result.returncode == 1, (args, err)
            assert "the session store is busy: another segchat" in err and "; nothing was sent" in err, err
            assert took < 10, (args, took)  # a few seconds, not the wait a paid reply's save gets
            assert len(fake.requests) == asked, [r.path for r in fake.requests[asked:]]  # not even the balance
        listed = segchat("--list", env=trip)  # reading goes on meanwhile
        assert listed.returncode == 0 and listed.stdout.decode().startswith("name\tid\t"), listed.stderr
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
        holder.stdout.close()
    rows = segchat("--list", env=trip).stdout.decode().splitlines()[1:]
    assert [row.split("\t")[:5:4] for row in rows] == [["trip", "2"]]  # no session, no unsent message left
