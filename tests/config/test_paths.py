"""segchat's own lookup of the user directories gives what platformdirs gives, in every case it answers."""

from __future__ import annotations

import sys

import platformdirs
import pytest

from segchat.config import paths as dirs

CASES = [
    {},  # no XDG variable: HOME's defaults
    {"XDG_CONFIG_HOME": "/x/conf", "XDG_DATA_HOME": "/x/data", "XDG_STATE_HOME": "/x/state"},
    {"XDG_CONFIG_HOME": "", "XDG_DATA_HOME": "", "XDG_STATE_HOME": ""},  # empty: unset
    {"XDG_CONFIG_HOME": "relative/c", "XDG_DATA_HOME": "rel", "XDG_STATE_HOME": "./s"},  # relative: ignored
    {"XDG_CONFIG_HOME": "/trailing/", "XDG_DATA_HOME": "/with space/d", "XDG_STATE_HOME": "/ü/s"},
    {"HOME": "/"},
    {"HOME": "/home/someone/"},
    {"HOME": "relative-home"},  # platformdirs then asks the password database
]


@pytest.mark.parametrize("env", CASES)
@pytest.mark.parametrize("kind", ["config", "data", "state"])
def test_the_same_directory_as_platformdirs(monkeypatch, env, kind):
    for variable in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)
    assert dirs.user_dir(kind) == getattr(platformdirs, f"user_{kind}_dir")("segchat")


@pytest.mark.skipif(sys.platform != "linux", reason="the quick path is Linux's")
def test_the_usual_case_does_not_import_platformdirs(tmp_path):
    import subprocess

    code = ("import sys; from segchat.config.paths import user_dir; print(user_dir('data')); "
            "print('platformdirs' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}).stdout.split()
    assert out == [str(tmp_path / ".local" / "share" / "segchat"), "False"]
