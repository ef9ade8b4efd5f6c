"""A reply's reasoning on screen: set apart before the reply, on a terminal only, never as text of the reply."""

from __future__ import annotations

import _thread
import io
import threading

import pytest

from segchat.errors import Cancelled
from segchat.text.redact import register_secret
from segchat.ui import progress
from segchat.ui.render import Renderer


def test_reasoning_is_set_apart_dim_sanitised_and_wrapped(monkeypatch):
    monkeypatch.setenv("COLUMNS", "30")
    out = io.StringIO()
    Renderer(out=out, rich_output=True, shows_reasoning=True).reasoning(
        "\nFirst, the \x1b[31msum\x1b[0m.\n\nThen a rather long line that has to wrap somewhere.\n")
    assert out.getvalue() == ("\x1b[2m│ First, the ^[[31msum^[[0m.\n│\n│ Then a rather long line that\n"
                              "│ has to wrap somewhere.\x1b[0m\n\n")


def test_a_key_in_the_reasoning_is_not_shown(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    register_secret("sk-reasoned-key-123456")
    out = io.StringIO()
    Renderer(out=out, rich_output=True, shows_reasoning=True).reasoning("the key is sk-reasoned-key-123456")
    assert out.getvalue() == "│ the key is ***\n\n"


def test_without_colour_the_bar_alone_sets_it_apart(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    out = io.StringIO()
    Renderer(out=out, rich_output=True, shows_reasoning=True).reasoning("hmm\nyes")
    assert out.getvalue() == "│ hmm\n│ yes\n\n"


def test_reasoning_goes_only_to_a_terminal():
    out = io.StringIO()
    renderer = Renderer(out=out, rich_output=True)  # not a terminal: a pipe gets the reply alone
    assert renderer.shows_reasoning is False
    renderer.reasoning("private thoughts")
    Renderer(out=out, shows_reasoning=True).reasoning(" \n ")  # none to show
    assert out.getvalue() == ""


def _streaming(thoughts, pieces, then=None):
    """A request that streams reasoning, then text, then (maybe) raises."""
    def request(call):
        for thought in thoughts:
            call.on_reasoning(thought)
        for piece in pieces:
            call.on_delta(piece)
        if then is not None:
            raise then
        return "".join(pieces)

    return request


def test_a_streamed_reply_s_reasoning_is_shown_before_its_text():
    out = io.StringIO()
    screen = Renderer(out=out, rich_output=False, shows_reasoning=True)
    assert progress.run(_streaming(["6 times ", "7"], ["4", "2"]), screen, screen) == "42"
    assert out.getvalue() == "│ 6 times 7\n\n42\n"


def test_a_pipe_gets_the_streamed_text_alone():
    out = io.StringIO()
    screen = Renderer(out=out, rich_output=False)
    assert progress.run(_streaming(["thinking"], ["answer"]), screen, screen) == "answer"
    assert out.getvalue() == "answer\n"


def test_ctrl_c_keeps_the_text_shown_and_not_the_reasoning():
    def request(call):
        call.on_reasoning("thinking")
        call.on_delta("half")
        call.cancel.wait(10)  # until Ctrl-C aborts it
        raise Cancelled("half")

    out = io.StringIO()
    screen = Renderer(out=out, rich_output=False, shows_reasoning=True)
    threading.Timer(0.5, _thread.interrupt_main).start()
    with pytest.raises(Cancelled) as info:
        progress.run(request, screen, screen)
    assert info.value.partial == "half" and out.getvalue() == "│ thinking\n\nhalf\n"
