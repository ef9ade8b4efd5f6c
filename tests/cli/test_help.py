"""`segchat --help` prints a prebuilt copy of argparse's help when it is made for this width and Python: it must
be argparse's text byte for byte, and argparse's own text must be printed everywhere else."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from support.screen import Terminal

from segchat.cli import args

REGENERATE = "the prebuilt help differs from argparse's: write it anew with `python -m segchat.args`"


def argparse_help(columns: int) -> str:
    """What argparse prints for --help at this width, built in this process."""
    saved = {k: os.environ.get(k) for k in ("COLUMNS", "LINES")}
    os.environ.update(COLUMNS=str(columns), LINES="24")
    try:
        return args.build_parser().format_help()
    finally:
        for key, value in saved.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)


def run_help(flag: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "segchat", flag], env=env, capture_output=True, timeout=60)


def test_the_prebuilt_help_is_argparses():
    if sys.version_info[:2] != args.HELP_PYTHON:
        pytest.skip(f"the prebuilt help is for Python {args.HELP_PYTHON}; elsewhere argparse prints its own")
    assert args.HELP == argparse_help(args.HELP_COLUMNS), REGENERATE


@pytest.mark.parametrize("flag", ["--help", "-h"])
@pytest.mark.parametrize("columns", [None, "80", "100", "60", "abc"])
def test_help_is_byte_for_byte_argparses(flag, columns):
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    if columns is not None:
        env["COLUMNS"] = columns
    result = run_help(flag, env)
    assert result.returncode == 0 and result.stderr == b""
    width = int(columns) if columns and columns.isdigit() else 80  # piped: no terminal to ask
    assert result.stdout.decode() == argparse_help(width), REGENERATE


def test_help_on_an_80_column_terminal(isolated_home):
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    term = Terminal(["--help"], env, rows=200, cols=80)
    try:
        assert term.wait_exit() == 0
        shown = term.raw.decode().replace("\r\n", "\n")
    finally:
        term.close()
    assert shown == argparse_help(80)


def test_the_prebuilt_help_is_used_only_where_it_fits(monkeypatch):
    monkeypatch.delenv("_ARGCOMPLETE", raising=False)
    monkeypatch.setenv("COLUMNS", str(args.HELP_COLUMNS))
    monkeypatch.setenv("LINES", "24")
    expected = args.HELP if sys.version_info[:2] == args.HELP_PYTHON else None
    assert args.prebuilt_help() == expected
    monkeypatch.setenv("COLUMNS", "81")
    assert args.prebuilt_help() is None
    monkeypatch.setenv("COLUMNS", str(args.HELP_COLUMNS))
    monkeypatch.setenv("_ARGCOMPLETE", "1")  # the shell asking for completions: argparse must see the parser
    assert args.prebuilt_help() is None
    monkeypatch.delenv("_ARGCOMPLETE")
    monkeypatch.setattr(args, "HELP_PYTHON", (2, 7))
    assert args.prebuilt_help() is None


@pytest.mark.parametrize("columns", [None, "100", "0", "-3", " 90", "8_0", "abc", ""])
@pytest.mark.parametrize("lines", [None, "30", "0"])
def test_terminal_columns_is_shutils(monkeypatch, columns, lines):
    for name, value in (("COLUMNS", columns), ("LINES", lines)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert args.terminal_columns() == shutil.get_terminal_size().columns


def test_a_message_catalogue_for_argparses_words_turns_the_copy_off(monkeypatch, tmp_path):
    import gettext

    catalogue = tmp_path / "xx" / "LC_MESSAGES" / "messages.mo"
    catalogue.parent.mkdir(parents=True)
    catalogue.write_bytes(b"")
    monkeypatch.setenv("COLUMNS", str(args.HELP_COLUMNS))
    monkeypatch.setenv("LANGUAGE", "xx")
    monkeypatch.setattr(gettext, "_default_localedir", str(tmp_path))
    assert args.prebuilt_help() is None
