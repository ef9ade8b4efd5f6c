"""Helpers behind the conversation commands."""

from __future__ import annotations

from segchat.tui.commands.conversation import code_blocks


def test_code_blocks():
    text = "intro\n```python\na = 1\nb = 2\n```\nmiddle\n~~~\nshell\n~~~\n```\nunclosed"
    assert code_blocks(text) == ["a = 1\nb = 2", "shell"]
    assert code_blocks("no code") == []
