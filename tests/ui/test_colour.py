"""The one colour rule (render.colour_allowed, render.styled) and every output path of the Renderer under it."""

from __future__ import annotations

import io

import pytest
from support.sgr import colour_sequences, sgr_sequences

from segchat.ui.render import Renderer, colour_allowed, styled

REPLY = "# Title\n\nSome **bold** and `code`.\n\n```python\nprint('hi')\n```\n"


class TerminalStream(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def colour_terminal(monkeypatch):
    """A terminal that shows colour, and neither NO_COLOR nor FORCE_COLOR set; each test adds its own."""
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("COLUMNS", raising=False)


@pytest.mark.parametrize("env, allowed", [
    ({}, True),
    ({"NO_COLOR": "1"}, False),
    ({"NO_COLOR": "0"}, False),  # any value: no-color.org
    ({"NO_COLOR": ""}, True),  # empty: as if unset
    ({"TERM": "dumb"}, False),
    ({"TERM": "unknown"}, False),
    ({"TERM": "dumb", "FORCE_COLOR": "1"}, True),
    ({"FORCE_COLOR": "0"}, True),  # any non-empty value forces colour: force-color.org
    ({"FORCE_COLOR": ""}, True),  # empty: as if unset, and this terminal shows colour
    ({"TERM": "dumb", "FORCE_COLOR": ""}, False),
    ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),  # NO_COLOR wins
])
def test_colour_allowed(monkeypatch, env, allowed):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert colour_allowed() is allowed


@pytest.mark.parametrize("stream, env, rendered", [
    (TerminalStream(), {}, True),
    (TerminalStream(), {"NO_COLOR": "1"}, True),  # no colour, but the layout stays
    (TerminalStream(), {"TERM": "dumb"}, True),
    (io.StringIO(), {}, False),  # a pipe gets plain text
    (io.StringIO(), {"FORCE_COLOR": "1"}, True),  # rendered as on a terminal
    (io.StringIO(), {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
    (io.StringIO(), {"FORCE_COLOR": ""}, False),
])
def test_styled(monkeypatch, stream, env, rendered):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert styled(stream) is rendered


def every_output(renderer: Renderer) -> str:
    """What each output path of renderer writes, together."""
    renderer.reply(REPLY)
    view = renderer.stream()
    for piece in ("# Streamed\n\n", "More **bold**.\n\n", "```python\nx = 1\n```\n"):
        view.feed(piece)
    view.finish()
    renderer.reasoning("a thought")
    renderer.notice("a notice")
    renderer.warning("a warning")
    renderer.error("an error")
    renderer.table(("name", "title"), [("a", "b")])
    renderer.exchange("assistant", "a reply")
    with renderer.waiting() as tick:
        tick()
    return renderer.out.getvalue()


def test_on_a_colour_terminal_every_path_has_colour():
    out = every_output(Renderer(out=TerminalStream(), shows_reasoning=True))
    assert colour_sequences(out)
    assert "\x1b[33ma warning" in out and "\x1b[1;31merror: an error" in out  # the check below can fail


@pytest.mark.parametrize("env", [{"NO_COLOR": "1"}, {"TERM": "dumb"}, {"NO_COLOR": "1", "FORCE_COLOR": "1"}])
def test_without_colour_no_path_writes_sgr_and_the_layout_stays(monkeypatch, env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out = every_output(Renderer(out=TerminalStream(), shows_reasoning=True))
    assert sgr_sequences(out) == []  # no colour, nor bold or dim
    assert "**" not in out and "Title" in out and "print('hi')" in out  # Markdown laid out, not raw
    assert "│ a thought" in out and "model: a reply" in out and "name  title" in out


def test_force_color_renders_a_pipe_as_a_terminal_without_redrawing(monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    out = io.StringIO()
    renderer = Renderer(out=out, rich_output=styled(out))
    assert renderer.shows_reasoning is False  # a pipe still gets the reply alone
    text = every_output(renderer)
    assert colour_sequences(text) and "**" not in text
    assert "\x1b[1A" not in text and "\x1b[2K" not in text  # each block written once: no cursor movement
    assert "\x1b[?25l" not in text  # nor a spinner hiding the cursor
    assert text.count("Streamed") == 1


def test_force_color_overrides_a_dumb_term(monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TERM", "dumb")
    out = io.StringIO()
    Renderer(out=out, rich_output=styled(out)).reply(REPLY)
    assert colour_sequences(out.getvalue())


def test_piped_output_is_plain_text(monkeypatch):
    out = io.StringIO()
    renderer = Renderer(out=out, rich_output=styled(out))
    renderer.reply(REPLY)
    renderer.warning("a warning")
    assert out.getvalue() == REPLY + "a warning\n"
