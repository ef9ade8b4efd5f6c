"""End to end in a real pseudo-terminal: the installed segchat, typed into, its screen read."""

from __future__ import annotations

import json
import os
import stat
import time

import pytest
from support.cli import default_signals
from support.screen import segchat_command

ENTER, CTRL_C, CTRL_D = "\r", "\x03", "\x04"




def test_chat_with_toolbar_markdown_and_exit(term, fake):
    t = term()
    t.wait_for("credits 10")  # fetched in the background at start-up
    assert "llama-v3p1-8b-instruct" in t.bottom_line() and "session " in t.bottom_line()
    fake.script({"content": "Here is **bold** and `code`:\n\n```python\nprint('hi')\n```"})
    t.type("show me" + ENTER)
    screen = t.wait_for("print('hi')")
    assert "Here is bold and code" in screen  # rendered Markdown, not raw asterisks
    t.wait_for("spent 0.0125")
    assert "credits 9.9875" in t.bottom_line()
    t.type("and more" + ENTER)
    t.wait_for("echo: and more")
    t.wait_for("spent 0.025")
    assert "credits 9.975" in t.bottom_line()
    t.type(CTRL_D)
    assert t.wait_exit() == 0
    assert [len(r.body["messages"]) for r in fake.chat_requests()] == [1, 3]


def test_multiline_input_and_ctrl_c_at_prompt(term, fake):
    t = term()
    t.wait_for("credits")
    t.type("junk" + CTRL_C)
    t.type("first line\x1b\rsecond line" + ENTER)
    t.wait_for("echo: first line")
    t.type("\x1b[200~pasted one\npasted two\x1b[201~" + ENTER)  # a bracketed paste, as terminals send it
    t.wait_for("echo: pasted one")
    assert [r.body["messages"][-1]["content"] for r in fake.chat_requests()] == [
        "first line\nsecond line", "pasted one\npasted two"]


def test_ctrl_c_cancels_a_request_at_once(term, fake):
    t = term()
    t.wait_for("credits")
    fake.script({"hang": 20})
    t.type("a slow question" + ENTER)
    t.wait_for("waiting for the model… 1s")  # the spinner counts the seconds
    started = time.monotonic()
    t.type(CTRL_C)
    t.wait_for("cancelled", timeout=5)
    assert time.monotonic() - started < 3  # not the 20 s the server hangs
    t.type("/retry" + ENTER)
    t.wait_for("echo: a slow question")
    t.type("/quit" + ENTER)
    assert t.wait_exit() == 0
    assert fake.chat_requests()[-1].body["messages"] == [{"role": "user", "content": "a slow question"}]


@pytest.mark.parametrize("how", ["cat {file} | {segchat}", "{segchat} < {file}"])
def test_piped_system_prompt_then_chat_on_the_terminal(term, fake, tmp_path, how):
    prompt = tmp_path / "pirate.txt"
    prompt.write_text("You are a pirate.\n")
    t = term(shell=how.format(file=prompt, segchat=segchat_command()))
    t.wait_for("You are a pirate.")
    t.type("hello" + ENTER)
    t.wait_for("echo: hello")
    t.type(CTRL_D)
    assert t.wait_exit() == 0
    assert fake.chat_requests()[0].body["messages"][0] == {"role": "system", "content": "You are a pirate."}


def test_key_is_asked_once_hidden_and_saved_private(term, fake, cli_env, isolated_home):
    env = dict(cli_env)
    del env["SEGMIND_API_KEY"]
    t = term(env=env)
    t.wait_for("Segmind API key (input hidden)")
    t.type("typed-key-98765" + ENTER)
    t.wait_for("Saved to")
    assert "typed-key-98765" not in t.text()
    t.type("hi" + ENTER)
    t.wait_for("echo: hi")
    t.type(CTRL_D)
    assert t.wait_exit() == 0
    path = isolated_home / ".config" / "segchat" / "config.toml"
    assert 'api_key = "typed-key-98765"' in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert fake.chat_requests()[0].headers["x-api-key"] == "typed-key-98765"


def test_hostile_reply_cannot_drive_the_terminal(term, fake):
    t = term()
    t.wait_for("credits")
    fake.script({"content": "safe\x1b]0;PWNED\x07\x1b]52;c;cHduZWQ=\x07\x1b[2J\x9b31m done"})
    t.type("x" + ENTER)
    screen = t.wait_for("done")
    assert "PWNED" not in t.screen.title and "^[]0;PWNED^G" in screen
    assert b"\x1b]52;c;cHduZWQ" not in t.raw and b"\x1b]0;PWNED" not in t.raw
    assert "<U+009B>31m done" in screen


def test_error_is_one_line_and_repl_lives_on(term, fake):
    t = term()
    t.wait_for("credits")
    fake.script({"status": 404, "error": "model not found"})
    t.type("q" + ENTER)
    t.wait_for("error: model 'llama-v3p1-8b-instruct'")
    t.type("again" + ENTER)
    t.wait_for("echo: again")


def test_tab_completes_commands(term, fake):
    t = term()
    t.wait_for("credits")
    t.type("/hel\t")
    t.wait_for("/help")
    t.type(ENTER)
    t.wait_for("what it does")


def test_resume_after_closing_the_terminal(term, fake, cli_env):
    t = term("--session", "paris")
    t.wait_for("credits")
    for n in range(5):
        t.type(f"question {n}" + ENTER)
        t.wait_for(f"echo: question {n}")
    t.child.kill(1)  # SIGHUP: the terminal window closed
    t.wait_exit()
    t2 = term("-r")
    t2.wait_for("echo: question 4")
    screen = t2.wait_for("credits")  # the prompt is up: the preview is complete
    assert "session 'paris'" in screen and "showing the last 3 exchanges" in screen
    assert "question 2" in screen and "question 1" not in screen
    t2.type("and then?" + ENTER)
    t2.wait_for("echo: and then?")
    sent = fake.chat_requests()[-1].body["messages"]
    assert len(sent) == 11 and sent[0] == {"role": "user", "content": "question 0"}


def test_pending_message_is_offered_after_a_kill(term, fake, cli_env):
    t = term("--session", "crashy")
    t.wait_for("credits")
    fake.script({"hang": 20})
    t.type("unsaved thought" + ENTER)
    t.wait_for("waiting for the model")
    os.kill(t.child.pid, 9)
    t.wait_exit()
    t2 = term("--session", "crashy")
    t2.wait_for("unsent message from last time: 'unsaved thought'")
    t2.type("/retry" + ENTER)
    t2.wait_for("echo: unsaved thought")
    exported = json.loads(__import__("subprocess").run(
        [segchat_command(), "--export", "crashy", "--format", "json"], env=cli_env, capture_output=True).stdout)
    assert [m["content"] for m in exported["messages"]] == ["unsaved thought", "echo: unsaved thought"]


def test_ctrl_r_searches_input_history_across_runs(term, fake):
    t = term()
    t.wait_for("credits")
    t.type("remember the alamo" + ENTER)
    t.wait_for("echo: remember the alamo")
    t.type(CTRL_D)
    t.wait_exit()
    t2 = term()
    t2.wait_for("credits")
    t2.type("\x12alamo")  # Ctrl-R, then the search text
    t2.wait_for("reverse-i-search")
    t2.type(ENTER + ENTER)
    t2.wait_for("echo: remember the alamo", timeout=10)
    assert [r.body["messages"][-1]["content"] for r in fake.chat_requests()][-1] == "remember the alamo"


def test_python_dash_m_runs_the_same_program(cli_env, fake):
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-m", "segchat", "hi"], env=cli_env, capture_output=True,
                            start_new_session=True, preexec_fn=default_signals)
    assert result.returncode == 0 and result.stdout == b"echo: hi\n"


def test_one_shot_on_a_terminal_is_rendered(term, fake):
    fake.script({"content": "Some **bold** words\n\n- item one"})
    t = term("a question")
    screen = t.wait_for("item one")
    assert "Some bold words" in screen and "**" not in screen
    assert t.wait_exit() == 0


def test_a_streamed_reply_shows_as_it_arrives_and_ends_as_one_rendering(term, fake, cli_env, isolated_home):
    config = isolated_home / ".config" / "segchat" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[profiles.local]\nprovider = "openai"\nbase_url = "{fake.base_url}"\nmodel = "llama3.1:8b"\n')
    env = {k: v for k, v in cli_env.items() if k != "SEGCHAT_BASE_URL"}
    t = term("--profile", "local", env=env)
    t.wait_for("llama3.1:8b")
    assert "credits" not in t.bottom_line()
    pieces = ["# Plan\n\n", "First **bold** step.\n\n", "- one\n", "- two\n\n", "```python\nprint('x')\n```\n\n",
              "Last line here."]
    fake.script({"chunks": pieces, "chunk_delay": 0.05, "stall": 2.0})
    t.type("plan it" + ENTER)
    early = t.wait_for("Plan", timeout=5)  # the first piece is drawn while the server still holds the rest
    assert "Last line here." not in early
    t.wait_for("Last line here.", timeout=15)
    final = t.wait_for("tokens", timeout=5)  # the line after the reply: the reply is complete
    assert "First bold step." in final and "**" not in final and "print('x')" in final
    assert final.count("First bold step.") == 1 and final.count("Last line here.") == 1
    assert final.count("Plan") == 1  # the early piece was redrawn in place, not printed twice
    t.type(CTRL_D)
    assert t.wait_exit() == 0


def test_a_one_shot_on_a_terminal_shows_the_wait(term, fake):
    fake.script({"delay": 2.5, "content": "finally here"})
    t = term("slow question")
    t.wait_for("waiting for the model… 1s", timeout=5)
    t.wait_for("finally here", timeout=10)
    assert t.wait_exit() == 0
    assert "waiting for the model" not in t.text()  # the spinner is gone once the reply is shown


def test_history_shows_on_the_terminal_when_stdout_is_redirected(term, fake, tmp_path):
    out = tmp_path / "out.txt"
    t = term(shell=f"{segchat_command()} > {out}")
    t.wait_for("credits")
    fake.script({"content": "an answer about **ferries**"})
    t.type("boats?" + ENTER)
    t.wait_for("an answer about ferries")
    t.type("/history" + ENTER)
    screen = t.wait_for("Model")
    assert screen.count("boats?") >= 2 and "\nYou\n" in screen  # the typed line, and the history below it
    assert "##" not in screen and "^[" not in screen  # rendered, not raw Markdown or escape codes
    t.type(CTRL_D)
    assert t.wait_exit() == 0
    assert "ferries" not in out.read_text()  # nothing of the chat went to the file
