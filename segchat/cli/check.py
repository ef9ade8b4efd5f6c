"""segchat --check: what a run with these settings would use and whether it works, one line each.

Each line is "ok", "FAIL" or "-" (not checked, as what it needs failed), then what and how. Nothing is changed:
the store is read, never created, and the server is only asked (the balance, or the model list). The key is
never shown, only where it comes from.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from segchat.config.key_sources import keyring_module
from segchat.config.paths import store_path
from segchat.config.settings import load, with_key
from segchat.errors import EXIT_ERROR, EXIT_OK, SegchatError
from segchat.figures import fmt_credits
from segchat.model.call import Call
from segchat.private_files import present
from segchat.providers.configured import build
from segchat.store.health import health
from segchat.text.sanitize import safe
from segchat.ui import wording as words
from segchat.ui.render import colour_allowed, is_terminal, styled
from segchat.ui.table import room_on

if TYPE_CHECKING:
    from segchat.config.settings import Config

SERVER_TIMEOUT = 10.0  # seconds: a check waits no longer for the server's first byte
MARKS = {"ok": "\x1b[32m", "FAIL": "\x1b[1;31m", "-": "\x1b[2m"}


@dataclass(frozen=True, slots=True)
class Line:
    mark: str  # "ok", "FAIL" or "-"
    what: str
    detail: str


def check(path: str, flags: dict[str, Any], role: tuple[str, dict[str, Any]] | None = None,
          out: IO[str] | None = None) -> int:
    """Print the lines for the settings that path, flags and role give; EXIT_OK when none is FAIL."""
    out = out or sys.stdout
    lines = gather(path, flags, role, out)
    colour = styled(out) and colour_allowed()
    for line in lines:
        mark = f"{line.mark:<4}"
        if colour:
            mark = f"{MARKS[line.mark]}{mark}\x1b[0m"
        out.write(f"{mark}  {line.what}: {safe(line.detail)}\n")
    out.flush()
    return EXIT_ERROR if any(line.mark == "FAIL" for line in lines) else EXIT_OK


def gather(path: str, flags: dict[str, Any], role: tuple[str, dict[str, Any]] | None, out: IO[str]) -> list[Line]:
    return [*_settings(path, flags, role), *_store(), *_terminal(out)]


def _settings(path: str, flags: dict[str, Any], role: tuple[str, dict[str, Any]] | None) -> list[Line]:
    """The config, profile, provider, keyring and key lines, and the server's, as far as the settings allow."""
    lines = []
    read = f"{path}" if present(path) else f"{path} (not there: the defaults)"
    try:
        config = load(path, flags, role=role, find_key=False)
    except SegchatError as exc:
        return [Line("FAIL", "config", _said(exc))]
    lines.append(Line("ok", "config", read + "".join(f"; warning: {w}" for w in config.warnings)))
    lines.append(Line("ok", "profile", config.profile or "none (the top-level settings)"))
    lines.append(Line("ok", "provider", f"{config.provider} at {config.base_url}, model {config.model}"))
    keyring, backend = keyring_module()
    lines.append(Line("ok", "keyring", backend if keyring else f"not used: {backend}"))
    try:
        config = with_key(config)
    except SegchatError as exc:
        return [*lines, Line("FAIL", "key", _said(exc)), Line("-", "server", "not asked: no key")]
    if config.api_key:
        lines.append(Line("ok", "key", f"from {config.api_key_source}"))
    elif config.provider == "segmind":
        return [*lines, Line("FAIL", "key", f"none found: {config.key_hint()}, or run segchat --set-key"),
                Line("-", "server", "not asked: no key")]
    else:
        lines.append(Line("ok", "key", "none: the server is asked without one"))
    return [*lines, _server(config)]


def _server(config: Config) -> Line:
    """Whether the server answers: Segmind's balance, or an OpenAI-compatible server's model list."""
    config = config.replace(timeout=min(config.timeout, SERVER_TIMEOUT), retries=0)
    provider = build(config)
    try:
        if provider.has_credits:
            balance = provider.balance(Call())
            return Line("ok", "server", f"answers; balance {fmt_credits(balance.credits)} credits")
        ids = provider.models(Call())
        listed = f"answers; {len(ids)} model{'s' if len(ids) != 1 else ''} listed"
        if config.model not in ids:
            listed += f" ({config.model} is not among them)"
        window = provider.context_window(Call()) if provider.asks_window else None
        return Line("ok", "server", listed + (f"; context window {window:,} tokens" if window else ""))
    except SegchatError as exc:
        return Line("FAIL", "server", _said(exc))
    finally:
        provider.close()


def _store() -> list[Line]:
    """The session store's path, size, session count and integrity, read without creating it."""
    path = store_path()
    found = health(path)
    if found is None:
        return [Line("ok", "store", f"{path} (not created yet)")]
    size = f"{found.size:,} bytes"
    if found.problem is not None:
        return [Line("FAIL", "store", f"{path}, {size}: damaged or unreadable: {found.problem}")]
    count = f"{found.sessions} session{'s' if found.sessions != 1 else ''}"
    return [Line("ok", "store", f"{path}, {size}, {count}, integrity ok")]


def _terminal(out: IO[str]) -> list[Line]:
    """What the output can show: colour, width, the clipboard through OSC 52."""
    if not styled(out):
        colour = "no (not a terminal)"
    elif colour_allowed():
        colour = "yes"
    else:
        colour = "no (NO_COLOR is set)" if os.environ.get("NO_COLOR") else "no (TERM says the terminal has none)"
    if not is_terminal(out):
        clipboard = "no (not a terminal)"
    else:
        clipboard = "OSC 52 through tmux" if os.environ.get("TMUX") else "OSC 52 (if the terminal allows it)"
    return [Line("ok", "terminal", f"colour {colour}, width {room_on(out)}, clipboard {clipboard}")]


def _said(exc: SegchatError) -> str:
    return words.error(exc, words.ONE_SHOT)
