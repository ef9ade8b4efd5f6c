"""The command line's flags, each with its help text, grouped as --help shows them; and which go together."""

from __future__ import annotations

import argparse
from typing import Callable, Mapping

from segchat import __version__
from segchat.errors import UsageError

ACTIONS = ("list", "show", "export", "import_file", "delete", "rename", "search")  # the session-management flags
ALONE = ("completion", "roles", "models", "config_path")  # flags that print something and exit, taking no question

EPILOG = """\
exit codes: 0 ok, 1 API, network or session error, 2 usage or configuration error, 130 interrupted,
141 the reader of the output left (segchat --list | head -1).
examples:
  segchat                         chat in the terminal
  segchat "what is a monad?"      ask once, print the reply
  segchat < pirate.txt            chat with the piped text as the system prompt
  segchat -r "and in Spain?"      continue the latest session
  segchat -f app.py "review this"  attach a file to the question (-f - attaches standard input)
  segchat --role reviewer         chat with a named role (see --roles)
  segchat --profile ollama        use another server set up in config.toml
"""


def build_parser(completers: Mapping[str, Callable[..., list[str]]] | None = None) -> argparse.ArgumentParser:
    """segchat's parser. completers, for shell completion: what completes the names a flag takes, by kind
    ("session", "role", "profile"); argcomplete reads each from its flag's action."""
    takes: dict[argparse.Action, str] = {}  # a flag's action -> the kind of name it takes
    p = argparse.ArgumentParser(prog="segchat", description="Chat with Llama 3.1 8B Instruct on Segmind.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("prompt", nargs="*", metavar="PROMPT", help="ask this once, print the reply and exit")
    p.add_argument("--version", action="version", version=f"segchat {__version__}")
    p.add_argument("-f", "--file", action="append", default=[], metavar="PATH",
                   help="attach a text file to the message (repeatable; - attaches standard input)")
    takes[p.add_argument("--role", metavar="NAME", help="use the role NAME (<config dir>/roles/NAME.md)")] = "role"
    p.add_argument("--roles", action="store_true", help="list the roles, with their first line")
    p.add_argument("--models", action="store_true",
                   help="list the models: segchat's catalogue of Segmind's (with your [models] tables), or those "
                        "an OpenAI-compatible profile's server lists")
    p.add_argument("--completion", choices=("bash", "zsh", "fish"), help="print a shell completion script")
    p.add_argument("--set-key", action="store_true", help="replace the stored Segmind API key (checked first)")
    p.add_argument("--check", action="store_true",
                   help="check the settings, where the key comes from, the server, the store and the terminal")
    g = p.add_argument_group("settings (override config.toml and environment)")
    g.add_argument("--config", metavar="PATH", help="config file (default: $SEGCHAT_CONFIG or the user config dir)")
    g.add_argument("--config-path", action="store_true", help="print the config file's path and exit")
    takes[g.add_argument("--profile", metavar="NAME",
                         help="use [profiles.NAME] of config.toml (env SEGCHAT_PROFILE)")] = "profile"
    g.add_argument("--base-url", metavar="URL", help="API base URL (env SEGCHAT_BASE_URL)")
    g.add_argument("-m", "--model", metavar="ID", help="model slug or id (env SEGCHAT_MODEL)")
    g.add_argument("--system", metavar="TEXT", help="system prompt")
    g.add_argument("--system-file", metavar="PATH", help="read the system prompt from a file")
    g.add_argument("--temperature", type=float, metavar="T", help="sampling temperature, 0 to 2")
    g.add_argument("--max-tokens", type=int, metavar="N", help="longest reply, in tokens")
    g.add_argument("--top-p", type=float, metavar="P", help="nucleus sampling, above 0 up to 1")
    g.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="longest silence to wait through (a reply still streaming is never cut)")
    g.add_argument("--queue", action="store_true", default=None,
                   help="send Segmind turns through its queue: a reply cut off on the way can be recovered")
    g.add_argument("--max-credits", metavar="N", help="refuse to send once this session has spent N credits")
    g.add_argument("--debug", action="store_true", help="show tracebacks (the key is redacted)")
    g.add_argument("--no-color", action="store_true", help="no colour in any output (as NO_COLOR=1 does)")
    s = p.add_argument_group("sessions")
    s.add_argument("-r", "--resume", action="store_true", help="continue the most recent session")
    takes[s.add_argument("--session", metavar="NAME", help="start or continue the session NAME")] = "session"
    s.add_argument("--list", action="store_true", help="list saved sessions, newest first")
    takes[s.add_argument("--show", metavar="SESSION", help="print a session")] = "session"
    takes[s.add_argument("--export", metavar="SESSION", help="write a session to stdout")] = "session"
    s.add_argument("--format", choices=("md", "json"), help="export format, with --export (default md)")
    s.add_argument("--import", dest="import_file", metavar="FILE", help="import a JSON export")
    takes[s.add_argument("--delete", metavar="SESSION", help="delete a session")] = "session"
    s.add_argument("--rename", nargs=2, metavar=("OLD", "NEW"), help="rename a session")
    s.add_argument("--search", metavar="TEXT", help="find messages across all sessions")
    for action, kind in takes.items():
        if completers is not None:
            action.completer = completers[kind]  # type: ignore[attr-defined]
    return p


def _flag(name: str) -> str:
    return "--import" if name == "import_file" else f"--{name.replace('_', '-')}"


def _chosen_actions(args: argparse.Namespace) -> list[str]:
    return [name for name in ACTIONS if getattr(args, name) not in (None, False)]  # --show "" is chosen too


def session_action(args: argparse.Namespace) -> str | None:
    """The session-management flag given (check_arguments allows one at most), or None: a chat."""
    return next(iter(_chosen_actions(args)), None)


def check_arguments(args: argparse.Namespace) -> None:
    """Arguments that conflict, or that the chosen action would ignore, are usage errors."""
    chosen = _chosen_actions(args)
    if len(chosen) > 1:
        raise UsageError(f"use one of --list, --show, --export, --import, --delete, --rename, --search at a time "
                         f"(got {' and '.join(map(_flag, chosen))})")
    if args.resume and args.session:
        raise UsageError("-r continues the latest session and --session NAME a named one; use one of them")
    if args.format and not args.export:
        raise UsageError("--format goes with --export")
    if args.set_key and (args.prompt or args.file or args.resume or args.session):
        raise UsageError("--set-key only replaces the key; run it on its own")
    for alone in ALONE:
        if getattr(args, alone) and (args.prompt or chosen):
            raise UsageError(f"{_flag(alone)} is used on its own")
    if args.file.count("-") > 1:
        raise UsageError("-f - reads standard input once; give it once")
    if args.search is not None and not args.search.strip():
        raise UsageError("--search needs some text to look for")
    if not chosen:
        return
    action = _flag(chosen[0])
    unused = [("a PROMPT", bool(args.prompt)), ("-r", args.resume), ("--system", args.system is not None),
              ("--system-file", args.system_file is not None),
              ("--session", args.session is not None and action != "--import"), ("-f", bool(args.file)),
              ("--role", args.role is not None), ("--set-key", args.set_key)]
    for what, given in unused:
        if given:
            raise UsageError(f"{action} does not take {what}")
