"""NO_COLOR, --no-color and FORCE_COLOR end to end: the installed segchat, piped and in a real pseudo-terminal."""

from __future__ import annotations

import pytest
from support.cli import segchat
from support.sgr import colour_sequences, sgr_sequences

ENTER, CTRL_D = "\r", "\x04"
REPLY = "# Title\n\nSome **bold** and `code`:\n\n```python\nprint('hi')\n```"




def test_force_color_colours_a_piped_one_shot(cli_env, fake):
    cli_env["FORCE_COLOR"] = "1"
    fake.script({"content": REPLY})
    result = segchat("q", env=cli_env)
    assert result.returncode == 0
    assert colour_sequences(result.stdout)  # rendered as on a terminal, in colour
    assert b"**" not in result.stdout and b"print" in result.stdout
    assert b"\x1b[1A" not in result.stdout  # written once, not redrawn in place
    assert sgr_sequences(result.stderr) == []  # no spinner into the piped stderr


@pytest.mark.parametrize("how", ["NO_COLOR", "--no-color"])
def test_no_color_beats_force_color_on_a_piped_one_shot(cli_env, fake, how):
    cli_env["FORCE_COLOR"] = "1"
    args = ["--no-color", "q"] if how == "--no-color" else ["q"]
    if how == "NO_COLOR":
        cli_env["NO_COLOR"] = "1"
    fake.script({"content": REPLY})
    result = segchat(*args, env=cli_env)
    assert result.returncode == 0 and result.stdout == REPLY.encode() + b"\n"  # plain text, as piped


def _chat(term, env, *args):
    """A REPL turn with Markdown, the Tab menu and a notice: the raw bytes the terminal got."""
    t = term(*args, env=env)
    t.wait_for("credits 10")
    t.type("/he\t")  # the completion menu
    t.wait_for("/help")
    t.type("\x15")  # Ctrl-U: the line cleared
    t.type("show me" + ENTER)
    t.wait_for("print('hi')")
    t.wait_for("spent 0.0125")
    t.type(CTRL_D)
    assert t.wait_exit() == 0
    return t


def test_the_chat_is_in_colour_by_default(term, fake, cli_env):
    fake.script({"content": REPLY})
    t = _chat(term, cli_env)
    assert colour_sequences(t.raw)  # the check the two below make can fail


@pytest.mark.parametrize("how", ["NO_COLOR", "--no-color"])
def test_the_chat_without_colour(term, fake, cli_env, how):
    cli_env["FORCE_COLOR"] = "1"  # NO_COLOR and --no-color win over it
    if how == "NO_COLOR":
        cli_env["NO_COLOR"] = "1"
    fake.script({"content": REPLY})
    t = _chat(term, cli_env, *(["--no-color"] if how == "--no-color" else []))
    assert colour_sequences(t.raw) == []
    assert any("7" in params.split(";") for params in sgr_sequences(t.raw))  # the toolbar: reverse video
    assert "Some bold and code:" in t.text() and "**" not in t.text()  # Markdown still laid out


def test_list_on_a_terminal(term, fake, cli_env):
    assert segchat("--session", "trip", "plan a trip", env=cli_env).returncode == 0
    t = term("--list", env=cli_env)
    assert t.wait_exit() == 0 and "trip" in t.text()
    assert "\x1b[1m" in t.raw.decode()  # the header, bold
    t = term("--list", "--no-color", env=cli_env)
    assert t.wait_exit() == 0 and "trip" in t.text()
    assert sgr_sequences(t.raw) == []  # no colour, no bold
    assert "\t" not in t.raw.decode()  # still aligned columns, not the pipe's tabs


def test_a_one_shot_on_a_terminal_with_no_color_is_laid_out_without_sgr(term, fake, cli_env):
    cli_env["NO_COLOR"] = "1"
    fake.script({"content": REPLY})
    t = term("q", env=cli_env)
    screen = t.wait_for("print('hi')")
    assert t.wait_exit() == 0
    assert "Some bold and code:" in screen and "**" not in screen
    assert sgr_sequences(t.raw) == []

