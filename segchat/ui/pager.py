"""Long text shown through the pager ($PAGER, else less): the REPL's /history."""

from __future__ import annotations

import os
import shlex
import subprocess
from typing import IO

from segchat.text.sanitize import sanitize
from segchat.ui.render import Renderer


def page(renderer: Renderer, markdown: str) -> None:
    """Long text through the pager, short text straight out; rendered once (plain text when not rich)."""
    if not renderer.rich_output:
        renderer.plain(markdown)
        return
    console = renderer.console
    with console.capture() as captured:
        console.print(renderer.markdown(sanitize(markdown)))
    text = captured.get()
    if text.count("\n") < console.size.height - 2 or not run_pager(text, renderer.out):
        renderer.out.write(text)
        renderer.out.flush()


def run_pager(text: str, out: IO[str]) -> bool:
    """Show text in the pager on out (the terminal even when stdout is redirected); False when no pager could
    run. less gets -R so colours show as colours, not escape codes."""
    command = shlex.split(os.environ.get("PAGER") or "less")
    env = dict(os.environ)
    if "R" not in env.get("LESS", ""):
        env["LESS"] = env.get("LESS", "") + "R"
    try:
        out.flush()
        subprocess.run(command, input=text.encode("utf-8", "replace"), stdout=out, env=env, check=False)
        return True
    except (OSError, ValueError):
        return False
