"""The installed segchat on a store it cannot write: a read-only file, directory or file system. Listing, showing,
searching and exporting only read, and work."""

from __future__ import annotations

import json
import os

import pytest
from support.cli import segchat
from support.read_only import on_read_only_mount, read_only
from support.screen import segchat_command

from segchat.config.paths import store_path
from segchat.store import Store


@pytest.fixture
def trip(cli_env, fake):
    """A store holding one session, 'trip', made by segchat itself; the environment to run segchat in."""
    made = segchat("--session", "trip", "the tram to Belém", env=cli_env)
    assert made.returncode == 0, made.stderr
    return cli_env


@pytest.fixture(params=["as left", "folded"])
def closed_store(trip, request):
    """trip's store as a one-shot leaves it (its -wal and -shm beside it), or folded into its one file as the last
    connection to close does (a reader in a read-only directory then cannot make the -shm file readers share)."""
    path = store_path()
    if request.param == "folded":
        Store(path).close()
        assert not os.path.exists(f"{path}-shm") and not os.path.exists(f"{path}-wal")
    else:
        assert os.path.exists(f"{path}-shm")
    return trip


READS = [(["--list"], "trip\t"), (["--show", "trip"], "the tram to Belém"), (["--search", "tram"], "[tram]"),
         (["--export", "trip"], "## You\n\nthe tram to Belém"), (["--export", "trip", "--format", "json"], None)]


def check_reads(run) -> None:
    for args, expected in READS:
        result = run(args)
        out = result.stdout.decode()
        assert result.returncode == 0 and result.stderr == b"", (args, result.stderr)
        if expected is None:
            contents = [m["content"] for m in json.loads(out)["messages"]]
            assert contents == ["the tram to Belém", "echo: the tram to Belém"], out
        else:
            assert expected in out, (args, out)


@pytest.mark.parametrize("which", ["file", "directory"])
def test_reading_actions_work_on_a_store_that_cannot_be_written(closed_store, which):
    path = store_path()
    with read_only(path if which == "file" else os.path.dirname(path)):
        check_reads(lambda args: segchat(*args, env=closed_store))


def test_reading_actions_work_on_a_read_only_file_system(closed_store):
    directory = os.path.dirname(store_path())
    before = sorted(os.listdir(directory))
    check_reads(lambda args: on_read_only_mount(directory, [segchat_command(), *args], env=closed_store,
                                                capture_output=True, timeout=30))
    assert sorted(os.listdir(directory)) == before  # nothing was made beside it
