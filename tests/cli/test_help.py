"""`segchat --help` and `-h`: argparse's help, every flag and the examples, on stdout, exit 0."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from support.screen import Terminal

from segchat.cli.args import EPILOG

FLAGS = ["-h", "--help", "--version", "-f PATH", "--file PATH", "--role NAME", "--roles",
         "--models", "--completion {bash,zsh,fish}", "--set-key", "--config PATH", "--config-path", "--profile NAME",
         "--base-url URL", "-m ID", "--model ID", "--system TEXT", "--system-file PATH", "--temperature T",
         "--max-tokens N", "--top-p P", "--timeout SECONDS", "--queue", "--max-credits N", "--debug", "-r",
         "--resume", "--session NAME", "--list", "--show SESSION", "--export SESSION", "--format {md,json}",
         "--import FILE", "--delete SESSION", "--rename OLD NEW", "--search TEXT", "--check", "--no-color", "PROMPT"]


def run_help(flag: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "segchat", flag], env=env, capture_output=True, timeout=60)


@pytest.mark.parametrize("flag", ["--help", "-h"])
@pytest.mark.parametrize("columns", [None, "80", "100", "60"])
def test_help_shows_every_flag_and_the_examples(flag, columns):
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    if columns is not None:
        env["COLUMNS"] = columns
    result = run_help(flag, env)
    assert result.returncode == 0 and result.stderr == b""
    shown = result.stdout.decode()
    assert shown.startswith("usage: segchat ") and shown.endswith(EPILOG)
    assert "Chat with Llama 3.1 8B Instruct on Segmind." in shown
    missing = [option for option in FLAGS if option not in shown]
    assert not missing


def test_help_fits_the_terminal(isolated_home):
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    term = Terminal(["--help"], env, rows=200, cols=70)
    try:
        assert term.wait_exit() == 0
        shown = term.raw.decode().replace("\r\n", "\n")
    finally:
        term.close()
    assert "--max-credits N" in shown and shown.endswith(EPILOG)
    help_lines = shown[:-len(EPILOG)].splitlines()
    assert max(map(len, help_lines)) <= 70
