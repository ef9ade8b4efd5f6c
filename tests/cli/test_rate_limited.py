"""Rate limits end to end: a 429's wait counted down on the terminal and cancellable, within the timeout;
rpm pacing."""

from __future__ import annotations

import time

from support.cli import segchat
from support.config_files import write

ENTER, CTRL_C, CTRL_D = "\r", "\x03", "\x04"




def test_a_429_counts_down_on_the_terminal_then_the_reply_comes(term, fake):
    t = term()
    t.wait_for("credits")
    fake.script({"status": 429, "reset_in": 4})
    t.type("busy hour" + ENTER)
    screen = t.wait_for("rate limited (429): sending again in", timeout=10)
    assert "Ctrl-C cancels" in screen
    t.wait_for("echo: busy hour", timeout=15)
    assert "sending again" not in t.text()  # the countdown is gone once the reply is shown
    assert len(fake.chat_requests()) == 2
    t.type(CTRL_D)
    assert t.wait_exit() == 0


def test_ctrl_c_during_a_429_countdown_cancels_at_once(term, fake):
    t = term()
    t.wait_for("credits")
    fake.script({"status": 429, "reset_in": 60})
    t.type("busy hour" + ENTER)
    t.wait_for("rate limited (429): sending again in", timeout=10)
    started = time.monotonic()
    t.type(CTRL_C)
    t.wait_for("cancelled", timeout=5)
    assert time.monotonic() - started < 5 and len(fake.chat_requests()) == 1  # not the 60 s, and not sent again
    t.type("/retry" + ENTER)  # the message is still there to send
    t.wait_for("echo: busy hour")
    t.type(CTRL_D)
    assert t.wait_exit() == 0


def test_a_one_shot_on_a_terminal_counts_down_too(term, fake):
    fake.script({"status": 429, "reset_in": 3, "reset_format": "epoch"})
    t = term("busy hour")
    t.wait_for("rate limited (429): sending again in", timeout=10)
    t.wait_for("echo: busy hour", timeout=15)
    assert t.wait_exit() == 0 and len(fake.chat_requests()) == 2


def test_rpm_paces_the_next_send_with_a_countdown_that_ctrl_c_ends(term, fake, cli_env, isolated_home):
    write(isolated_home / ".config" / "segchat" / "config.toml", "rpm = 1\n")
    t = term()
    t.wait_for("credits")
    t.type("one" + ENTER)
    t.wait_for("echo: one")
    t.type("two" + ENTER)
    screen = t.wait_for("(keeping to rpm = 1)", timeout=10)
    assert "sending in 5" in screen or "sending in 6" in screen  # what is left of the minute
    t.type(CTRL_C)
    t.wait_for("cancelled", timeout=5)
    assert [r.body["messages"][-1]["content"] for r in fake.chat_requests()] == ["one"]
    t.type(CTRL_D)
    assert t.wait_exit() == 0


def test_a_429_past_the_timeout_is_not_waited_and_says_when_to_try(cli_env, fake):
    fake.script({"status": 429, "reset_in": 600})
    result = segchat("--timeout", "5", "q", env=cli_env)
    assert result.returncode == 1 and result.stdout == b""
    assert b"asks to wait" in result.stderr and b"until " in result.stderr and b"try again later" in result.stderr
    assert result.stderr.count(b"\n") == 1 and len(fake.chat_requests()) == 1
