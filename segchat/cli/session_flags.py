"""The session-management flags (--list, --show, --export, --import, --delete, --rename, --search)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from segchat.app import sessions
from segchat.errors import UsageError
from segchat.ui.render import Renderer, styled

if TYPE_CHECKING:
    import argparse

    from segchat.store import Store

ACTIONS = ("list", "show", "export", "import_file", "delete", "rename", "search")
READING = ("list", "show", "export", "search")  # these write nothing: a read-only store will do


def _flag(name: str) -> str:
    return "--import" if name == "import_file" else f"--{name}"


def check_arguments(args: argparse.Namespace) -> None:
    """Arguments that conflict, or that the chosen action would ignore, are usage errors."""
    chosen = [name for name in ACTIONS if getattr(args, name) not in (None, False)]  # --show "" is chosen too
    if len(chosen) > 1:
        raise UsageError(f"use one of --list, --show, --export, --import, --delete, --rename, --search at a time "
                         f"(got {' and '.join(map(_flag, chosen))})")
    if args.resume and args.session:
        raise UsageError("-r continues the latest session and --session NAME a named one; use one of them")
    if args.format and not args.export:
        raise UsageError("--format goes with --export")
    if args.set_key and (args.prompt or args.file or args.resume or args.session):
        raise UsageError("--set-key only replaces the key; run it on its own")
    for alone in ("completion", "roles", "config_path"):
        if getattr(args, alone) and (args.prompt or chosen):
            raise UsageError(f"--{alone.replace('_', '-')} is used on its own")
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


def manage(args: argparse.Namespace, open_store: Callable[[bool], Store]) -> bool:
    """Run the management action asked for; False when none was. open_store(read_only) opens the store."""
    chosen = [name for name in ACTIONS if getattr(args, name) not in (None, False)]
    if not chosen:
        return False
    store, out = open_store(chosen[0] in READING), Renderer(rich_output=styled(sys.stdout))
    try:
        if args.list:
            sessions.list_sessions(store, out)
        elif args.show is not None:
            sessions.show_session(store, args.show, out)
        elif args.export is not None:
            sys.stdout.write(sessions.export_session(store, args.export, args.format or "md"))
            sys.stdout.flush()
        elif args.import_file is not None:
            info = sessions.import_session(store, Path(args.import_file), args.session)
            out.notice(f"imported as session '{info.name}' ({info.count} messages)")
        elif args.delete is not None:
            info = store.delete(args.delete)
            out.notice(f"deleted session '{info.name}' ({info.count} messages)")
        elif args.rename:
            info = store.rename(*args.rename)
            out.notice(f"renamed to '{info.name}'")
        else:
            sessions.search_sessions(store, args.search, out)
    finally:
        store.close()
    return True
