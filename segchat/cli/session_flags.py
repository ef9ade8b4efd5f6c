"""The session-management flags (--list, --show, --export, --import, --delete, --rename, --search)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from segchat.app import sessions
from segchat.ui.render import Renderer, styled

if TYPE_CHECKING:
    import argparse

    from segchat.store import Store

READING = ("list", "show", "export", "search")  # these write nothing: a read-only store will do


def manage(action: str, args: argparse.Namespace, open_store: Callable[[bool], Store]) -> None:
    """Run action (as cli.args.session_action names it) with its flag's value in args.
    open_store(read_only) opens the store."""
    store, out = open_store(action in READING), Renderer(rich_output=styled(sys.stdout))
    try:
        if action == "list":
            sessions.list_sessions(store, out)
        elif action == "show":
            sessions.show_session(store, args.show, out)
        elif action == "export":
            sys.stdout.write(sessions.export_session(store, args.export, args.format or "md"))
            sys.stdout.flush()
        elif action == "import_file":
            info = sessions.import_session(store, Path(args.import_file), args.session)
            out.notice(f"imported as session '{info.name}' ({info.count} messages)")
        elif action == "delete":
            info = store.delete(args.delete)
            out.notice(f"deleted session '{info.name}' ({info.count} messages)")
        elif action == "rename":
            info = store.rename(*args.rename)
            out.notice(f"renamed to '{info.name}'")
        else:
            sessions.search_sessions(store, args.search, out)
    finally:
        store.close()
