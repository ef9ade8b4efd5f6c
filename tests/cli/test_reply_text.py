"""The installed segchat: a reply without text is no reply (exit 1, nothing added, the message kept for the
chat's /retry); a reply's reasoning is shown on a terminal only, and never in piped output."""

from __future__ import annotations

import json

import pytest
from support.cli import segchat
from support.config_files import write

THOUGHT = "The user wants a number; six times seven."
QUESTION = "six times seven?"
# Answers with no reply text, each with the stop reason segchat reports.
NO_TEXT = {
    "empty": ({"content": ""}, "stop reason: stop"),
    "only [DONE]": ({"raw_sse": ["data: [DONE]\n\n"]}, "no stop reason given"),
    "only reasoning": ({"content": "", "reasoning": THOUGHT, "finish_reason": "length"},
                       "stop reason: length; the length limit was spent on reasoning"),
}


@pytest.fixture(params=["segmind", "streamed", "whole"])
def env(request, cli_env, fake, isolated_home):
    """Segmind (whole replies), or an OpenAI-compatible server on this machine, streamed or whole."""
    if request.param == "segmind":
        return cli_env
    stream = "" if request.param == "streamed" else "stream = false\n"
    write(isolated_home / ".config" / "segchat" / "config.toml",
          f'profile = "local"\n\n[profiles.local]\nprovider = "openai"\nbase_url = "{fake.base_url}"\n'
          f'model = "llama3.1:8b"\n{stream}')
    return {k: v for k, v in cli_env.items() if k != "SEGCHAT_BASE_URL"}


def exported(session: str, env: dict) -> dict:
    return json.loads(segchat("--export", session, "--format", "json", env=env).stdout)


@pytest.mark.parametrize("answer, why", NO_TEXT.values(), ids=NO_TEXT.keys())
def test_a_one_shot_without_reply_text_exits_1_and_adds_nothing(env, fake, answer, why):
    assert segchat("--session", "s", "first", env=env).returncode == 0
    fake.script(answer)
    result = segchat("--session", "s", QUESTION, env=env)
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr == f"segchat: error: the server sent no reply text ({why})\n".encode()
    shown = segchat("--show", "s", env=env).stdout.decode()
    assert shown.count("## Model") == 1 and shown.rstrip().endswith(f"## You (not sent)\n\n{QUESTION}")
    session = exported("s", env)
    assert [m["content"] for m in session["messages"]] == ["first", "echo: first"]
    assert session["pending"] == QUESTION


def test_piped_output_is_the_reply_alone(env, fake):
    fake.script({"content": "It is 42.", "reasoning": THOUGHT})
    result = segchat("--session", "s", QUESTION, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"It is 42.\n" and b"wants a number" not in result.stderr
    assert "wants a number" not in segchat("--show", "s", env=env).stdout.decode()  # the conversation, as it is sent
    reply = exported("s", env)["messages"][-1]
    assert reply["content"] == "It is 42." and reply["meta"]["reasoning"] == THOUGHT




@pytest.fixture
def term(term, env):
    return lambda *args: term(*args, env=env)


def test_the_chat_offers_the_message_again_and_shows_the_reasoning_apart(term, env, fake):
    fake.script(NO_TEXT["only reasoning"][0])
    assert segchat("--session", "s", QUESTION, env=env).returncode == 1
    t = term("-r")
    t.wait_for(f"unsent message from last time: '{QUESTION}'; /retry sends it")
    fake.script({"content": "It is **42**.", "reasoning": THOUGHT})
    t.type("/retry\r")
    screen = t.wait_for("It is 42.")
    assert f"│ {THOUGHT}\n\nIt is 42." in screen
    t.type("\x04")
    assert t.wait_exit() == 0
    assert [m["content"] for m in exported("s", env)["messages"]] == [QUESTION, "It is **42**."]


def test_a_one_shot_on_a_terminal_shows_the_reasoning_before_the_reply(term, fake):
    fake.script({"content": "It is **42**.", "reasoning": THOUGHT})
    t = term(QUESTION)
    screen = t.wait_for("It is 42.")
    assert f"│ {THOUGHT}\n\nIt is 42." in screen
    assert t.wait_exit() == 0
