"""Which session a run opens, and the profile, model and role it continues with."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from segchat.config import settings
from segchat.config.validate import check_model
from segchat.engine.chat import Chat
from segchat.errors import ConfigError, SessionNotFound, StoreBusy
from segchat.providers import configured
from segchat.text.sanitize import safe

if TYPE_CHECKING:
    import argparse
    from pathlib import Path

    from segchat.config.roles import Role
    from segchat.config.settings import Config
    from segchat.store import Store
    from segchat.store.session_row import SessionInfo

TOP_LEVEL = ""  # asks config.load for the top-level settings, whatever profile the file names


def open_session(config: Config, store: Store, args: argparse.Namespace, system: str | None, path: Path,
                 flags: dict[str, Any], role: Role | None) -> tuple[SessionInfo, Config]:
    """The session to chat in, and the configuration it continues with (its own profile, unless one is given).

    Before anything is sent: a store another process holds for longer than its wait before sending is StoreBusy,
    saying nothing was sent. A one-shot, which asks the server at once (its balance), checks that first.
    """
    try:
        if args.prompt:
            store.check_not_busy()
        return _open_session(config, store, args, system, path, flags, role)
    except StoreBusy as exc:
        raise exc.before_sending() from None


def _open_session(config: Config, store: Store, args: argparse.Namespace, system: str | None, path: Path,
                  flags: dict[str, Any], role: Role | None) -> tuple[SessionInfo, Config]:
    fresh = {"model": config.model, "system": system or config.system, "profile": config.profile,
             "role": role.name if role else None, "credits": config.has_credits}
    info = None
    if args.session:
        try:
            info = store.find(args.session)
        except SessionNotFound:
            info = store.create(args.session, **fresh)
    elif args.resume:
        info = store.latest()
        if info is None:
            warn("no saved session yet; starting a new one")
    if info is None:
        return store.create(**fresh), config
    if system:
        store.update(info.id, system=system, role=fresh["role"])
        info = store.get(info.id)
    chosen = args.profile or os.environ.get("SEGCHAT_PROFILE") or (role and role.settings.get("profile"))
    if info.profile != config.profile and not chosen:
        if info.profile is None or info.profile in config.profiles:
            config = settings.load(path, {**flags, "profile": None}, profile=info.profile or TOP_LEVEL,
                                   role=(role.name, role.settings) if role else None)
        else:
            warn(f"session '{info.name}' used profile '{info.profile}', which is no longer in {path}; "
                 f"continuing with {config.profile or 'the default settings'}")
    return info, config


def build_chat(config: Config, store: Store, args: argparse.Namespace, info: SessionInfo,
               role: Role | None) -> Chat:
    """The engine for info: its own model unless one is named, checked for the provider it will go to."""
    same = info.profile == config.profile and info.model
    explicit = args.model or os.environ.get("SEGCHAT_MODEL") or (role and role.settings.get("model"))
    model = info.model if same and not explicit else config.model
    try:
        check_model(model, config.provider)
    except ConfigError:
        warn(f"session '{info.name}' names the model {model[:60]!r}, which is not a {config.provider} model id; "
             f"using {config.model}")
        model = config.model
    if model != info.model or info.profile != config.profile:
        store.update(info.id, model=model, profile=config.profile)
    chat = Chat(config, configured.build(config, model), store, info, adopt_unsent=not args.prompt,
                store_first=bool(args.prompt))
    chat.role = role.name if role else info.role
    return chat


def warn(text: str) -> None:
    print(f"segchat: warning: {safe(text)}", file=sys.stderr, flush=True)
