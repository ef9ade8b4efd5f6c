"""Shell completion: the script for bash, zsh or fish, and the names completed where a flag takes one.

argcomplete is imported only when a script is asked for or the shell asks for completions. Completing never
prints a traceback into the user's shell line: whatever cannot be read completes nothing, and a name holding
line breaks or other controls (from a store or a config file written by hand) is never offered.
"""

from __future__ import annotations

import contextlib
import sqlite3
import tomllib
from typing import TYPE_CHECKING, Any

from segchat.cli.args import build_parser
from segchat.config import roles
from segchat.config.paths import config_path, store_path
from segchat.text.sanitize import one_line

if TYPE_CHECKING:
    from collections.abc import Iterable


def script(shell: str) -> str:
    """The script that makes the shell complete segchat's flags and names (it asks segchat as you type)."""
    import argcomplete

    return argcomplete.shellcode(["segchat"], shell=shell)


def complete() -> None:
    """Answer the shell's request for completions (it sets _ARGCOMPLETE) and exit: the flags, and the names a
    flag takes from what is saved (sessions, roles, profiles)."""
    import argcomplete

    parser = build_parser({"session": session_names, "role": role_names, "profile": profile_names})
    argcomplete.autocomplete(parser)


def session_names(prefix: str, parsed_args: Any = None, **_: Any) -> list[str]:
    """The saved sessions' names, newest first, read from the store without creating or migrating it."""
    try:
        uri = f"{store_path().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=1)) as db:
            names = [row[0] for row in db.execute("SELECT name FROM sessions ORDER BY updated DESC")]
    except Exception:
        return []
    return _offered(names, prefix)


def role_names(prefix: str, parsed_args: Any = None, **_: Any) -> list[str]:
    try:
        return _offered(roles.names(_config_file(parsed_args)), prefix)
    except Exception:
        return []


def profile_names(prefix: str, parsed_args: Any = None, **_: Any) -> list[str]:
    try:
        with open(_config_file(parsed_args), "rb") as handle:
            tables = tomllib.load(handle).get("profiles", {})
    except Exception:
        return []
    return _offered(tables, prefix) if isinstance(tables, dict) else []


def _offered(names: Iterable[Any], prefix: str) -> list[str]:
    """The names to hand the shell: those with the prefix, and only those one_line() leaves as they are (no
    line break, control or invisible character: the shell would insert it into the command line)."""
    return [name for name in names if isinstance(name, str) and name.startswith(prefix) and one_line(name) == name]


def _config_file(parsed_args: Any) -> str:
    """The config file the command line being completed names (--config), else the user's."""
    return config_path(getattr(parsed_args, "config", None))
