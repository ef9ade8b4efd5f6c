"""The session-management flags (--list, --show, --export, --import, --delete, --rename, --search)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from segchat.app import sessions
from segchat.cli.args import session_action
from segchat.ui.render import Renderer, styled

if TYPE_CHECKING:
    import argparse

    from segchat.store import Store

READING = ("list", "show", "export", "search")  # these write nothing: a read-only store will do


def manage(args: argparse.Namespace, open_store: Callable[[bool], Store]) -> bool:
    """Run the management action asked for; False when none was. open_store(read_only) opens the store."""
    action = session_action(args)
    if action is None:
        return False
    store, out = open_store(action in READING), Renderer(rich_output=styled(sys.stdout))
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
