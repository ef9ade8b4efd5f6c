"""Every command the README and docs/ show runs as shown, against the loopback server: the docs cannot drift from
the program. Each runs through /bin/sh on a pseudo-terminal in a home of its own, where the files the pages name
exist, the profiles and roles they show are set up, and a session named `trip` has one exchange; a chat is left
with /quit, and a prompt for the key is answered."""

from __future__ import annotations

import re
import shlex
import subprocess
import time
from pathlib import Path

import pytest
from support import docs
from support.cli import KEY, default_signals
from support.screen import Terminal, segchat_command

from segchat.cli.args import build_parser, session_action
from segchat.config.paths import store_path
from segchat.model.conversation import Message
from segchat.store import Store
from segchat.tui.commands.registry import build_registry

FILES = {"pirate.txt": "You are a pirate. Answer like one.\n", "sys.txt": "Be terse.\n",
         "app.py": "def add(a, b):\n    return a - b\n", "log.txt": "ERROR disk full on /var\n"}
TRIP = [Message("user", "how late does tram 28 run?"), Message("assistant", "Until about 23:00, every 10 minutes.")]
CHAT_TOOLBAR = "│ session "  # the chat is up: its toolbar names the session


@pytest.fixture
def reader_home(cli_env, fake, tmp_path, isolated_home):
    """A home as a reader of the docs has it: (the environment, the folder commands run in)."""
    work = tmp_path / "work"
    work.mkdir()
    for name, text in FILES.items():
        (work / name).write_text(text)
    config = isolated_home / ".config" / "segchat"
    (config / "roles").mkdir(parents=True)
    for name, text in docs.role_files().items():
        (config / "roles" / f"{name}.md").write_text(text)
    # The profile the pages name, on the loopback server (an OpenAI-compatible one, as Ollama is).
    (config / "config.toml").write_text(f'[profiles.ollama]\nprovider = "openai"\nbase_url = "{fake.base_url}"\n'
                                        'model = "llama3.1:8b"\n')
    (isolated_home / ".local" / "share" / "bash-completion" / "completions").mkdir(parents=True)
    store = Store(store_path())
    store.add_exchange(store.create("trip", model="llama-v3p1-8b-instruct").id, TRIP)
    store.close()
    env = dict(cli_env, PATH=f"{Path(segchat_command()).parent}:{cli_env['PATH']}", LESS="FRX")
    return env, work


def segchat_arguments(line: str):
    """segchat's arguments in a command line, as its own parser reads them (the words after `segchat`, up to a
    redirection or a pipe)."""
    words = shlex.split(line, comments=True)
    after = words[len(words) - words[::-1].index("segchat"):]
    ends = [i for i, word in enumerate(after) if word in ("<", ">", "|")]
    return build_parser().parse_args(after[:ends[0]] if ends else after)


def is_chat(line: str) -> bool:
    args = segchat_arguments(line)
    printout = (args.check, args.config_path, args.set_key, args.models, args.roles, args.completion)
    return not args.prompt and not any(printout) and session_action(args) is None


def drive(t: Terminal, timeout: float = 30.0) -> tuple[int, set[str]]:
    """Run t to its end, answering as a reader would: the key when asked, /quit once the chat is up. The exit
    status and what was answered."""
    answered: set[str] = set()
    end = time.monotonic() + timeout
    while t.child.isalive() and time.monotonic() < end:
        t.pump(0.1)
        if "key" not in answered and "Segmind API key (input hidden)" in t.text():
            t.type(KEY + "\r")
            answered.add("key")
        elif "quit" not in answered and CHAT_TOOLBAR in t.bottom_line():
            t.type("/quit\r")
            answered.add("quit")
    return t.wait_exit(timeout=5), answered


@pytest.mark.parametrize("command", docs.shell_commands(), ids=lambda command: command.id)
def test_every_command_the_docs_show_runs(command, reader_home, term):
    env, work = reader_home
    for line in command.before:  # what the reader ran first, as the block shows it; no terminal, as in a script
        subprocess.run(["/bin/sh", "-c", line], cwd=work, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=30, start_new_session=True, preexec_fn=default_signals)
    t = term(env=env, shell=f"cd {shlex.quote(str(work))} && {command.line}")
    status, answered = drive(t)
    shown = t.raw.decode(errors="replace")
    assert "Traceback" not in shown and "internal error" not in shown, shown
    assert "usage: segchat" not in shown, shown
    assert status == 0, f"{command.line!r} exited {status}:\n{t.text()}"
    if segchat_arguments(command.line).prompt:  # a question on the command line: a one-shot
        assert "echo: " in t.text(), t.text()  # the loopback server's reply, shown
    if is_chat(command.line):
        assert "quit" in answered, t.text()  # the chat came up, and was left
    if segchat_arguments(command.line).set_key:
        assert "key" in answered and "Saved to" in t.text(), t.text()


@pytest.mark.parametrize("name", docs.slash_commands())
def test_every_slash_command_the_docs_show_is_one_segchat_has(name):
    assert build_registry().get(name) is not None, f"/{name} is shown in the docs but is no command"


def test_help_lists_every_slash_command_the_docs_show(cli_env):
    t = Terminal([], cli_env, rows=60)  # the whole list on one screen
    try:
        t.wait_for(CHAT_TOOLBAR)
        t.type("/help\r")
        t.wait_for("Ctrl-D quits · Ctrl-R")  # the line under the table
        table = t.text().split("what it does", 1)[1]
        missing = [name for name in docs.slash_commands() if not re.search(rf"/{name}(?![\w-])", table)]
        assert not missing, f"/help does not list {missing}:\n{t.text()}"
        t.type("/quit\r")
        assert t.wait_exit() == 0
    finally:
        t.close()
