"""Shell completion: the script for bash, zsh or fish, and the names completed where a flag takes one."""

from __future__ import annotations

from typing import Any


def script(shell: str) -> str:
    """The script that makes the shell complete segchat's flags and names (it asks segchat as you type)."""
    import argcomplete

    return argcomplete.shellcode(["segchat"], shell=shell)


def complete_if_asked(parser: Any) -> None:
    """When the shell is asking for completions, answer and exit; otherwise cost nothing."""
    import os

    if "_ARGCOMPLETE" in os.environ:
        import argcomplete

        argcomplete.autocomplete(parser)


def _config_path(parsed_args: Any) -> Any:
    from segchat.config.settings import config_path

    return config_path(getattr(parsed_args, "config", None))


def session_names(prefix: str, parsed_args: Any = None, **_: Any) -> list[str]:
    from pathlib import Path

    from segchat.config.paths import user_dir

    path = Path(user_dir("data")) / "sessions.db"
    if not path.exists():
        return []
    try:
        import sqlite3

        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:  # never creates or migrates
            return [r[0] for r in db.execute("SELECT name FROM sessions ORDER BY updated DESC")
                    if r[0].startswith(prefix)]
    except Exception:  # completion must never print a traceback into the user's shell line
        return []


def role_names(prefix: str, parsed_args: Any = None, **_: Any) -> list[str]:
    from segchat.config import roles

    return [n for n in roles.names(_config_path(parsed_args)) if n.startswith(prefix)]


def profile_names(prefix: str, parsed_args: Any = None, **_: Any) -> list[str]:
    import tomllib

    try:
        with open(_config_path(parsed_args), "rb") as handle:
            tables = tomllib.load(handle).get("profiles", {})
    except Exception:
        return []
    return [n for n in tables if isinstance(n, str) and n.startswith(prefix)] if isinstance(tables, dict) else []
