"""The names shell completion offers: read from the store and the config file as they are, never creating or
changing either, and nothing (rather than a traceback) where they cannot be read."""

from __future__ import annotations

import os
from types import SimpleNamespace

from support.config_files import write

from segchat.cli.shell_completion import profile_names, session_names
from segchat.config.paths import store_path
from segchat.store import Store


def test_session_names_newest_first_with_the_prefix():
    store = Store(store_path())
    for name in ("lisbon", "lima", "oslo"):
        store.create(name)
    store.update(store.find("lisbon").id, title="touched last")
    store.close()
    assert session_names("li") == ["lisbon", "lima"]
    assert set(session_names("")) == {"lisbon", "lima", "oslo"}


def test_no_store_completes_nothing_and_creates_none():
    assert session_names("") == []
    assert not store_path().exists() and not store_path().parent.exists()


def test_a_store_that_cannot_be_read_completes_nothing_and_stays_as_it_was():
    path = store_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a database at all" * 100)
    assert session_names("") == []
    assert path.read_bytes() == b"not a database at all" * 100 and os.listdir(path.parent) == ["sessions.db"]


def test_a_data_directory_with_uri_characters_in_its_name(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "odd ?#% name"))
    store = Store(store_path())
    store.create("found")
    store.close()
    assert session_names("f") == ["found"]


def test_profile_names_from_the_config_file_named_on_the_line(tmp_path):
    path = write(tmp_path / "c.toml", '[profiles.local]\nmodel = "x"\n[profiles.lab]\n[profiles.vllm]\n')
    assert profile_names("l", SimpleNamespace(config=str(path))) == ["local", "lab"]
    broken = write(tmp_path / "broken.toml", "[profiles.local\n")
    assert profile_names("", SimpleNamespace(config=str(broken))) == []
    assert profile_names("", SimpleNamespace(config=str(tmp_path / "missing.toml"))) == []


def test_a_name_holding_controls_is_never_handed_to_the_shell(tmp_path):
    """Names a hand-edited store or config file may hold: one with a line break, an escape or an invisible
    character would land in the shell's command line; the others (a space, an accent) are names like any."""
    store = Store(store_path())
    for name in ("lisbon", "lima"):
        store.create(name)
    store._db.execute("UPDATE sessions SET name = ? WHERE name = 'lima'", ("li\nrm -rf ~",))
    store.create("lights")
    store._db.execute("UPDATE sessions SET name = ? WHERE name = 'lights'", ("li\x1b[2J",))
    store.close()
    assert session_names("li") == ["lisbon"]
    path = write(tmp_path / "c.toml", '[profiles."lab\\nx"]\n[profiles."lab\\u200bx"]\n[profiles."lab\\u001b]0;t"]\n'
                                      '[profiles."lab café"]\n[profiles.labs]\n')
    assert profile_names("lab", SimpleNamespace(config=str(path))) == ["lab café", "labs"]
