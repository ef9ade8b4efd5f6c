"""Where segchat keeps its files: the XDG variables honoured when they hold an absolute path, HOME's defaults
otherwise; the config file named by --config or SEGCHAT_CONFIG."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from segchat.config.paths import config_path, history_path, store_path

XDG = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")
linux = pytest.mark.skipif(sys.platform != "linux", reason="the XDG variables are Linux's")


@pytest.fixture
def home(tmp_path, monkeypatch):
    for variable in (*XDG, "SEGCHAT_CONFIG"):
        monkeypatch.delenv(variable, raising=False)
    (tmp_path / "me").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "me"))
    return tmp_path / "me"


@linux
def test_the_xdg_variables_are_honoured(home, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "conf"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    assert config_path() == str(home / "conf" / "segchat" / "config.toml")
    assert store_path() == home / "data" / "segchat" / "sessions.db"
    assert history_path() == home / "state" / "segchat" / "history"


@linux
@pytest.mark.parametrize("value", ["", "relative/dir", "./here"])
def test_an_empty_or_relative_xdg_variable_means_homes_default(home, monkeypatch, value):
    for variable in XDG:
        monkeypatch.setenv(variable, value)
    assert config_path() == str(home / ".config" / "segchat" / "config.toml")
    assert store_path() == home / ".local" / "share" / "segchat" / "sessions.db"
    assert history_path() == home / ".local" / "state" / "segchat" / "history"


def test_the_paths_are_absolute(home, monkeypatch):
    monkeypatch.chdir(home)
    for variable in XDG:
        monkeypatch.setenv(variable, "relative")
    assert Path(config_path()).is_absolute() and store_path().is_absolute() and history_path().is_absolute()


def test_nothing_is_created_by_asking(home):
    store_path(), history_path(), config_path()
    assert list(home.iterdir()) == []


def test_the_config_file_named_by_flag_then_environment(home, monkeypatch):
    monkeypatch.setenv("SEGCHAT_CONFIG", str(home / "env.toml"))
    assert config_path() == str(home / "env.toml")
    assert config_path(str(home / "flag.toml")) == str(home / "flag.toml")
    monkeypatch.setenv("SEGCHAT_CONFIG", "~/in-home.toml")
    assert config_path() == os.path.join(str(home), "in-home.toml")
    assert config_path("~/flag.toml") == os.path.join(str(home), "flag.toml")
    assert config_path("./kept//as/written.toml") == "./kept//as/written.toml"
