"""The installed segchat's chat on a real pseudo-terminal, against a real llama-server.

The model rambles: these tests check what the screen shows around a reply (toolbar, completion, exit), never its
words.
"""

from __future__ import annotations

import json
import time

import pytest
from support.cli import segchat
from support.screen import Terminal

ENTER, TAB, CTRL_D = "\r", "\t", "\x04"
PROMPT = "›"
SHORT = ["--temperature", "0", "--max-tokens", "40"]  # a short answer to QUESTION, not cut at max_tokens
QUESTION = "What is 2+2?"




@pytest.fixture
def term(term, llama_env):
    return lambda *args: term(*args, env=llama_env)


def turn(t: Terminal, text: str, timeout: float = 30) -> str:
    """Type text and wait until the reply is done (the prompt is back, empty, below it); the screen then."""
    t.type(text + ENTER)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        t.pump(0.1)
        lines = t.text().splitlines()
        prompts = [n for n, line in enumerate(lines) if line.rstrip() == PROMPT]
        asked = [n for n, line in enumerate(lines) if line.startswith(f"{PROMPT} {text}")]
        if asked and prompts and prompts[-1] > asked[-1] + 1:
            return t.text()
    raise AssertionError(f"no reply and prompt after {timeout}s:\n{t.text()}")


def test_a_turn_shows_the_reply_and_the_model_in_the_toolbar(term, llama_env):
    t = term("--session", "talk", *SHORT)
    t.wait_for("smollm2")
    assert "smollm2" in t.bottom_line()
    screen = turn(t, QUESTION)
    assert "smollm2" in t.bottom_line() and "incomplete" not in screen
    t.type(CTRL_D)
    assert t.wait_exit() == 0
    exported = json.loads(segchat("--export", "talk", "--format", "json", env=llama_env).stdout)
    reply = exported["messages"][-1]
    assert reply["role"] == "assistant" and reply["content"].strip()
    assert reply["content"].strip().splitlines()[0][:40] in screen  # the reply stored is the reply shown


def test_model_completion_offers_what_the_server_lists(term):
    t = term("-m", "not-on-the-server")  # so that only the server's list can offer smollm2
    t.wait_for("not-on-the-server")
    t.type("/model s")
    end = time.monotonic() + 10
    while "/model smollm2" not in t.text() and time.monotonic() < end:  # the list is fetched in the background
        t.type(TAB)
        t.pump(0.3)
    t.wait_for("/model smollm2", timeout=1)
    t.type(ENTER)
    end = time.monotonic() + 5
    while "smollm2" not in t.bottom_line() and time.monotonic() < end:
        t.pump(0.1)
    assert "smollm2" in t.bottom_line() and "not-on-the-server" not in t.bottom_line()
    t.type(CTRL_D)
    assert t.wait_exit() == 0


def test_the_context_window_is_the_servers(term):
    t = term(*SHORT)
    t.wait_for("smollm2")
    turn(t, QUESTION)
    end = time.monotonic() + 10  # asked in the background once the prompt is up; the toolbar redraws then
    while "/8K" not in t.bottom_line() and time.monotonic() < end:
        t.pump(0.1)
    assert "/8K" in t.bottom_line() and "128K" not in t.text(), t.text()
    t.type(CTRL_D)
    assert t.wait_exit() == 0
