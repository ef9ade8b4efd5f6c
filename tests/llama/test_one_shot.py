"""One-shots of the installed segchat against a real llama-server: streamed, long, cut off, and what is stored.

The model rambles: these tests check behaviour (exit status, what stderr says, what the session holds), never the
words of a reply.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest
from support.cli import default_signals, segchat
from support.screen import Terminal, segchat_command

# A question this model answers in a few words at temperature 0, well within max_tokens (a reply cut there is
# rightly said on stderr).
SHORT = ["--temperature", "0", "--max-tokens", "40"]
QUESTION = "What is 2+2?"
# Greedy sampling: the same reply every time, as long as max_tokens allows (about 40 tokens/s at one thread).
LONG = ["--temperature", "0", "--max-tokens", "200"]
STORY = "Write a long story about a lighthouse keeper and a storm, in many paragraphs."
BILLING = re.compile(rb"bill", re.IGNORECASE)


def test_a_streamed_one_shot_to_a_pipe(llama_env):
    result = segchat(*SHORT, QUESTION, env=llama_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() and result.stdout.endswith(b"\n")
    assert result.stderr == b""


def test_a_streamed_one_shot_on_a_terminal(llama_env):
    t = Terminal([*SHORT, QUESTION], llama_env)
    t.child.delaybeforesend = None
    try:
        assert t.wait_exit(timeout=30) == 0
        assert t.text().strip(), t.raw
        assert b"incomplete" not in t.raw and b"Traceback" not in t.raw
    finally:
        t.close()


def test_a_reply_streaming_longer_than_the_timeout_arrives_whole(llama_env):
    started = time.monotonic()
    result = segchat("--timeout", "2", "--temperature", "0", "--max-tokens", "400", STORY, env=llama_env)
    took = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert b"incomplete" not in result.stderr and result.stdout.strip()
    assert took > 3, f"the reply took {took:.1f}s: too short to outlast --timeout 2"  # or this proves nothing


@pytest.fixture(scope="module")
def killed(tmp_path_factory, llama_home, start_llama):
    """A one-shot whose server is killed once the reply has started to arrive: (exit status, stderr, the
    environment of its home, where the session "cut" holds what arrived)."""
    server = start_llama()
    try:
        env = llama_home(tmp_path_factory.mktemp("killed"), server.base_url)
        child = subprocess.Popen([segchat_command(), "--session", "cut", *LONG, STORY], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, start_new_session=True,
                                 preexec_fn=default_signals)
        try:
            assert os.read(child.stdout.fileno(), 100)  # the reply has started to arrive
            server.process.kill()
            status = child.wait(timeout=20)
            child.stdout.read()
            return status, child.stderr.read(), env
        finally:
            child.kill()
            child.wait()
    finally:
        server.stop()


def test_a_server_killed_mid_reply_is_an_error_saying_the_reply_is_incomplete(killed):
    status, stderr, _ = killed
    assert status == 1, stderr
    assert b"incomplete" in stderr and b"Traceback" not in stderr


def test_a_server_killed_mid_reply_says_nothing_of_billing(killed):
    _, stderr, _ = killed
    assert not BILLING.search(stderr), stderr  # a local server bills nothing


def test_the_reply_cut_off_is_kept_and_shown_marked(killed):
    _, _, env = killed
    exported = json.loads(segchat("--export", "cut", "--format", "json", env=env).stdout)
    reply = exported["messages"][-1]
    assert reply["role"] == "assistant" and reply["content"].strip()
    shown = segchat("--show", "cut", env=env).stdout.decode()
    assert reply["content"].strip() in shown
    # What --show says besides the reply's own words marks it as not whole, whatever its wording.
    around = shown.replace(reply["content"].strip(), "")
    assert re.search(r"incomplete|interrupted|cut off|not complete|partial", around, re.IGNORECASE), shown


def test_a_session_with_the_server_shows_no_credits(llama_env):
    assert segchat("--session", "free", *SHORT, QUESTION, env=llama_env).returncode == 0
    lines = [line.split("\t") for line in segchat("--list", env=llama_env).stdout.decode().splitlines()]
    header, (row,) = lines[0], [line for line in lines[1:] if line[0] == "free"]
    listed = dict(zip(header, row, strict=True))
    assert "smollm2" in listed["model"]
    assert [listed.get(column, "") for column in ("spent", "balance")] == ["", ""], listed
    shown = segchat("--show", "free", env=llama_env).stdout.decode()
    assert "credits spent" not in shown, shown
