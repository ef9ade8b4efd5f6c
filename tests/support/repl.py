"""The REPL in-process: keys typed through a pipe, what it printed captured."""

from __future__ import annotations

import io

from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from segchat.tui.repl import Repl
from segchat.ui.render import Renderer

ENTER, ALT_ENTER, CTRL_C, CTRL_D = "\r", "\x1b\r", "\x03", "\x04"


def run(chat, *keys: str, history=None) -> str:
    """Type keys into a REPL over chat; return what it printed."""
    out = io.StringIO()
    with create_pipe_input() as pipe:
        pipe.send_text("".join(keys) + CTRL_D)
        repl = Repl(chat, Renderer(out=out, rich_output=False), input=pipe, output=DummyOutput(), history=history)
        assert repl.run() == 0
    return out.getvalue()


def make_repl(chat, out):
    with create_pipe_input() as pipe:
        return Repl(chat, Renderer(out=out, rich_output=False), input=pipe, output=DummyOutput())
