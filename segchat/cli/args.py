"""The command line's flags, each with its help text, grouped as --help shows them."""

from __future__ import annotations

from segchat import __version__

# argparse and the completers load in build_parser: `segchat --help` at 80 columns needs neither (see HELP).
TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing; checkers read it as True
if TYPE_CHECKING:
    import argparse
    from typing import Any

EPILOG = """\
exit codes: 0 ok, 1 API, network or session error, 2 usage or configuration error, 130 interrupted.
examples:
  segchat                         chat in the terminal
  segchat "what is a monad?"      ask once, print the reply
  segchat < pirate.txt            chat with the piped text as the system prompt
  segchat -r "and in Spain?"      continue the latest session
  segchat -f app.py "review this"  attach a file to the question (-f - attaches standard input)
  segchat --role pirate           chat with a named role (see --roles)
  segchat --profile ollama        use another server set up in config.toml
"""


def build_parser() -> argparse.ArgumentParser:
    import argparse

    from segchat.cli import shell_completion as completion

    p = argparse.ArgumentParser(prog="segchat", description="Chat with Llama 3.1 8B Instruct on Segmind.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("prompt", nargs="*", metavar="PROMPT", help="ask this once, print the reply and exit")
    p.add_argument("--version", action="version", version=f"segchat {__version__}")
    p.add_argument("-f", "--file", action="append", default=[], metavar="PATH",
                   help="attach a text file to the message (repeatable; - attaches standard input)")
    p.add_argument("--role", metavar="NAME", help="use the role NAME (<config dir>/roles/NAME.md)").completer = \
        completion.role_names  # type: ignore[attr-defined]
    p.add_argument("--roles", action="store_true", help="list the roles, with their first line")
    p.add_argument("--completion", choices=("bash", "zsh", "fish"), help="print a shell completion script")
    p.add_argument("--set-key", action="store_true", help="replace the stored Segmind API key (checked first)")
    g = p.add_argument_group("settings (override config.toml and environment)")
    g.add_argument("--config", metavar="PATH", help="config file (default: $SEGCHAT_CONFIG or the user config dir)")
    g.add_argument("--config-path", action="store_true", help="print the config file's path and exit")
    g.add_argument("--profile", metavar="NAME", help="use [profiles.NAME] of config.toml (env SEGCHAT_PROFILE)"
                   ).completer = completion.profile_names  # type: ignore[attr-defined]
    g.add_argument("--base-url", metavar="URL", help="API base URL (env SEGCHAT_BASE_URL)")
    g.add_argument("-m", "--model", metavar="ID", help="model slug or id (env SEGCHAT_MODEL)")
    g.add_argument("--system", metavar="TEXT", help="system prompt")
    g.add_argument("--system-file", metavar="PATH", help="read the system prompt from a file")
    g.add_argument("--temperature", type=float, metavar="T", help="sampling temperature, 0 to 2")
    g.add_argument("--max-tokens", type=int, metavar="N", help="longest reply, in tokens")
    g.add_argument("--top-p", type=float, metavar="P", help="nucleus sampling, above 0 up to 1")
    g.add_argument("--timeout", type=float, metavar="SECONDS", help="how long to wait for a reply")
    g.add_argument("--queue", action="store_true", default=None,
                   help="send Segmind turns through its queue: a reply cut off on the way can be recovered")
    g.add_argument("--max-credits", metavar="N", help="refuse to send once this session has spent N credits")
    g.add_argument("--debug", action="store_true", help="show tracebacks (the key is redacted)")
    s = p.add_argument_group("sessions")
    s.add_argument("-r", "--resume", action="store_true", help="continue the most recent session")
    s.add_argument("--session", metavar="NAME", help="start or continue the session NAME").completer = \
        completion.session_names  # type: ignore[attr-defined]
    s.add_argument("--list", action="store_true", help="list saved sessions, newest first")
    s.add_argument("--show", metavar="SESSION", help="print a session").completer = \
        completion.session_names  # type: ignore[attr-defined]
    s.add_argument("--export", metavar="SESSION", help="write a session to stdout").completer = \
        completion.session_names  # type: ignore[attr-defined]
    s.add_argument("--format", choices=("md", "json"), help="export format, with --export (default md)")
    s.add_argument("--import", dest="import_file", metavar="FILE", help="import a JSON export")
    s.add_argument("--delete", metavar="SESSION", help="delete a session").completer = \
        completion.session_names  # type: ignore[attr-defined]
    s.add_argument("--rename", nargs=2, metavar=("OLD", "NEW"), help="rename a session")
    s.add_argument("--search", metavar="TEXT", help="find messages across all sessions")
    return p


# -- --help without argparse ----------------------------------------------------------------------------------
# argparse's --help, as it prints it at HELP_COLUMNS columns (a pipe; a terminal that wide) on Python HELP_PYTHON
# (the layout changes between versions). `segchat --help` prints this copy when those hold, and argparse's own
# text otherwise; tests/test_speed_help.py fails as soon as the two differ: after changing a flag, write it anew
# with `python -m segchat.args`.
HELP_COLUMNS = 80
HELP_PYTHON = (3, 11)
# BEGIN HELP (written by python -m segchat.args)
HELP = """\
usage: segchat [-h] [--version] [-f PATH] [--role NAME] [--roles]
               [--completion {bash,zsh,fish}] [--set-key] [--config PATH]
               [--config-path] [--profile NAME] [--base-url URL] [-m ID]
               [--system TEXT] [--system-file PATH] [--temperature T]
               [--max-tokens N] [--top-p P] [--timeout SECONDS] [--queue]
               [--max-credits N] [--debug] [-r] [--session NAME] [--list]
               [--show SESSION] [--export SESSION] [--format {md,json}]
               [--import FILE] [--delete SESSION] [--rename OLD NEW]
               [--search TEXT]
               [PROMPT ...]

Chat with Llama 3.1 8B Instruct on Segmind.

positional arguments:
  PROMPT                ask this once, print the reply and exit

options:
  -h, --help            show this help message and exit
  --version             show program's version number and exit
  -f PATH, --file PATH  attach a text file to the message (repeatable; -
                        attaches standard input)
  --role NAME           use the role NAME (<config dir>/roles/NAME.md)
  --roles               list the roles, with their first line
  --completion {bash,zsh,fish}
                        print a shell completion script
  --set-key             replace the stored Segmind API key (checked first)

settings (override config.toml and environment):
  --config PATH         config file (default: $SEGCHAT_CONFIG or the user
                        config dir)
  --config-path         print the config file's path and exit
  --profile NAME        use [profiles.NAME] of config.toml (env
                        SEGCHAT_PROFILE)
  --base-url URL        API base URL (env SEGCHAT_BASE_URL)
  -m ID, --model ID     model slug or id (env SEGCHAT_MODEL)
  --system TEXT         system prompt
  --system-file PATH    read the system prompt from a file
  --temperature T       sampling temperature, 0 to 2
  --max-tokens N        longest reply, in tokens
  --top-p P             nucleus sampling, above 0 up to 1
  --timeout SECONDS     how long to wait for a reply
  --queue               send Segmind turns through its queue: a reply cut off
                        on the way can be recovered
  --max-credits N       refuse to send once this session has spent N credits
  --debug               show tracebacks (the key is redacted)

sessions:
  -r, --resume          continue the most recent session
  --session NAME        start or continue the session NAME
  --list                list saved sessions, newest first
  --show SESSION        print a session
  --export SESSION      write a session to stdout
  --format {md,json}    export format, with --export (default md)
  --import FILE         import a JSON export
  --delete SESSION      delete a session
  --rename OLD NEW      rename a session
  --search TEXT         find messages across all sessions

""" + EPILOG
# END HELP


# Every flag's value when it is not given, as argparse sets it (tests/test_speed_list.py compares the two).
DEFAULTS = {"prompt": [], "file": [], "role": None, "roles": False, "completion": None, "set_key": False,
            "config": None, "config_path": False, "profile": None, "base_url": None, "model": None, "system": None,
            "system_file": None, "temperature": None, "max_tokens": None, "top_p": None, "timeout": None,
            "queue": None, "max_credits": None, "debug": False, "resume": False, "session": None, "list": False,
            "show": None, "export": None, "format": None, "import_file": None, "delete": None, "rename": None,
            "search": None}


def quick_args(argv: list[str]) -> Any | None:
    """The parsed arguments of exactly `--list`, `--show SESSION` or `--search TEXT`, without argparse; else None.

    Building the parser costs more than listing two thousand sessions, and scripts run these often. Anything
    else (another flag, an abbreviation, a value that looks like a flag) goes to argparse, which also
    answers shell completion.
    """
    import os

    if "_ARGCOMPLETE" in os.environ:
        return None
    if argv == ["--list"]:
        given = {"list": True}
    elif len(argv) == 2 and argv[0] in ("--show", "--search") and argv[1] and not argv[1].startswith("-"):
        given = {argv[0][2:]: argv[1]}
    else:
        return None
    from types import SimpleNamespace

    return SimpleNamespace(**{**DEFAULTS, "prompt": [], "file": [], **given})


def prebuilt_help() -> str | None:
    """HELP when it is exactly what argparse would print here and now, else None."""
    import os
    import sys

    if sys.version_info[:2] != HELP_PYTHON or "_ARGCOMPLETE" in os.environ or not HELP:
        return None
    if terminal_columns() != HELP_COLUMNS:
        return None
    # argparse's words ("usage:", "options:") go through gettext: a catalogue for them would change the text.
    import gettext

    domain = gettext.textdomain()
    return HELP if gettext.find(domain, gettext.bindtextdomain(domain)) is None else None


def terminal_columns() -> int:
    """shutil.get_terminal_size().columns (the width argparse lays its help out for), without importing shutil."""
    import os
    import sys

    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    try:
        lines = int(os.environ["LINES"])
    except (KeyError, ValueError):
        lines = 0
    if columns <= 0 or lines <= 0:
        try:
            size = os.get_terminal_size(sys.__stdout__.fileno())  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            size = os.terminal_size((80, 24))
        if columns <= 0:
            columns = size.columns or 80
    return columns


def _write_help() -> None:
    """Put argparse's help at HELP_COLUMNS columns into this file, between the HELP markers."""
    import os
    import sys
    from pathlib import Path

    if sys.version_info[:2] != HELP_PYTHON:
        raise SystemExit(f"run this with Python {'.'.join(map(str, HELP_PYTHON))}, or change HELP_PYTHON too")
    os.environ.update(COLUMNS=str(HELP_COLUMNS), LINES="24")
    text = build_parser().format_help()
    if '"""' in text or "\\" in text or not text.endswith("\n"):
        raise SystemExit("the help text needs escaping; write HELP by hand")
    path = Path(__file__)
    source = path.read_text(encoding="utf-8")
    start = source.index("# BEGIN HELP")
    start = source.index("\n", start) + 1
    end = source.index("# END HELP")
    # argparse ends the help with the epilog as it is: the copy names EPILOG rather than repeating it.
    head, tail = (text[:-len(EPILOG)], " + EPILOG") if text.endswith(EPILOG) else (text, "")
    path.write_text(source[:start] + f'HELP = """\\\n{head}"""{tail}\n' + source[end:], encoding="utf-8")
    print(f"wrote {len(text)} characters of help to {path}")


if __name__ == "__main__":
    _write_help()
