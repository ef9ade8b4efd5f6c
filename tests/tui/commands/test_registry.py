"""The command table on its own: lookup, dispatch, hints, and the helpers behind commands."""

from __future__ import annotations

import pytest

from segchat.errors import UsageError
from segchat.tui.commands.registry import Command, Registry, build_registry


def test_every_command_has_help_ending_in_a_period_and_unique_names():
    registry = build_registry()
    assert all(c.help.endswith(".") for c in registry.commands)
    assert len(registry.names()) == len(set(registry.names()))
    for required in ("help", "system", "clear", "retry", "quit", "exit", "undo", "edit", "copy", "model", "set",
                     "history", "save", "budget", "credits", "trim", "sessions", "resume", "rename", "export",
                     "delete", "search"):
        assert registry.get(required) is not None, required


def test_dispatch_passes_the_argument_and_aliases_resolve():
    seen = []
    registry = Registry([Command("echo", "TEXT", "Echo.", lambda repl, arg: seen.append(arg), aliases=("e",))])
    registry.dispatch(None, "/echo  hello world ")
    registry.dispatch(None, "/e x")
    assert seen == ["hello world", "x"]


def test_unknown_command_suggests_the_nearest():
    with pytest.raises(UsageError, match="did you mean /retry"):
        build_registry().dispatch(None, "/rety")
    with pytest.raises(UsageError, match="/help lists"):
        build_registry().dispatch(None, "/zzzzzz")
