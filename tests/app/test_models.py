"""A session whose replies came from more than one model: each reply's heading names its model, in --show,
/history and exports; a session of one model keeps the plain headings."""

from __future__ import annotations

import io

import pytest
from support.repl import ENTER, run

from segchat.app import sessions
from segchat.model.conversation import Message
from segchat.ui.render import Renderer

REPLIES = [({"model": "llama-v3p1-8b-instruct"}, "## Model: llama-v3p1-8b-instruct"),
           ({"model": "claude-4.5-sonnet", "finish_reason": "length"},
            "## Model: claude-4.5-sonnet (stopped at the length limit)"),
           ({"model": "gemini-2.5-flash", "interrupted": True, "incomplete": "interrupted"},
            "## Model: gemini-2.5-flash (interrupted)"),
           ({"incomplete": "the connection dropped"}, "## Model (cut off)"),  # saved without its model
           ({"model": "claude-4.5-sonnet", "usage": {"total_tokens": 9}}, "## Model: claude-4.5-sonnet")]


def make(store, name, replies):
    info = store.create(name, model="claude-4.5-sonnet")
    store.add_exchange(info.id, [m for n, (meta, _) in enumerate(replies)
                                 for m in (Message("user", f"question {n}"),
                                           Message("assistant", f"answer {n}", meta=meta))])
    return info


def headings(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("## Model")]


def shown(store, name) -> str:
    out = io.StringIO()
    sessions.show_session(store, name, Renderer(out=out, rich_output=False))
    return out.getvalue()


@pytest.fixture
def switched(store):
    return make(store, "switched", REPLIES)


def test_show_names_each_reply_s_model(store, switched):
    text = shown(store, "switched")
    assert headings(text) == [heading for _, heading in REPLIES]
    assert "## Model: claude-4.5-sonnet (stopped at the length limit)\n\nanswer 1\n" in text


def test_both_exports_name_them(store, switched):
    assert headings(sessions.export_session(store, "switched", "md")) == [heading for _, heading in REPLIES]
    assert sessions.export_session(store, "switched", "md") == shown(store, "switched").removesuffix("\n")


def test_history_names_them(make_chat, store, switched):
    out = run(make_chat(), "/resume switched" + ENTER, "/history" + ENTER)
    assert headings("## Model" + out.split("## Model", 1)[1]) == [heading for _, heading in REPLIES]


@pytest.mark.parametrize("models", [["gpt-4o"] * 3, ["gpt-4o", None, "gpt-4o"], [None, None]])
def test_one_model_keeps_the_plain_headings(store, models):
    make(store, "one", [({"model": m} if m else {}, "") for m in models])
    assert headings(shown(store, "one")) == ["## Model"] * len(models)
    assert headings(sessions.export_session(store, "one", "md")) == ["## Model"] * len(models)


def test_a_model_name_is_shown_inert(store):
    """The heading's model comes from the store, which another tool may have written: sanitised as all of it."""
    make(store, "odd", [({"model": "a\x1b[2Jb"}, ""), ({"model": "gpt-4o"}, "")])
    assert headings(shown(store, "odd")) == ["## Model: a^[[2Jb", "## Model: gpt-4o"]


def test_a_model_that_is_no_text_names_nothing(store):
    make(store, "odd", [({"model": {"id": "x"}}, ""), ({"model": ["a"]}, ""), ({"model": "gpt-4o"}, ""),
                        ({"model": "o3"}, "")])
    expected = ["## Model", "## Model", "## Model: gpt-4o", "## Model: o3"]
    assert headings(shown(store, "odd")) == expected
    assert headings(sessions.export_session(store, "odd", "md")) == expected
