"""A reply that is not whole says so wherever it is shown, in the same words: --show, both exports, /history,
the resume recap and --search results."""

from __future__ import annotations

import io
import json

import pytest
from support.repl import ENTER, run

from segchat.app import sessions
from segchat.model.conversation import Message
from segchat.ui.render import Renderer

# meta as the engine stores it -> the mark every view shows
REPLIES = [
    ({"incomplete": "the connection dropped before the reply was complete"}, "cut off"),
    ({"incomplete": "the stream reported an error: overloaded"}, "cut off"),
    ({"finish_reason": "length"}, "stopped at the length limit"),
    ({"interrupted": True, "incomplete": "interrupted"}, "interrupted"),
    ({"finish_reason": "stop", "usage": {"total_tokens": 9}}, ""),
]


@pytest.fixture
def session(store):
    info = store.create("marked", model="m")
    messages = []
    for n, (meta, _) in enumerate(REPLIES):
        messages += [Message("user", f"question {n} zebra"), Message("assistant", f"answer {n} zebra", meta=meta)]
    store.add_exchange(info.id, messages)
    return info


def headings(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("## Model")]


EXPECTED = [f"## Model ({mark})" if mark else "## Model" for _, mark in REPLIES]


def test_show_marks_each_reply_that_is_not_whole(store, session):
    out = io.StringIO()
    sessions.show_session(store, "marked", Renderer(out=out, rich_output=False))
    assert headings(out.getvalue()) == EXPECTED


def test_both_exports_mark_them(store, session):
    assert headings(sessions.export_session(store, "marked", "md")) == EXPECTED
    replies = [m for m in json.loads(sessions.export_session(store, "marked", "json"))["messages"]
               if m["role"] == "assistant"]
    assert [m.get("meta", {}) for m in replies] == [meta for meta, _ in REPLIES]  # what the marks are read from


def test_search_results_mark_them(store, session):
    out = io.StringIO()
    sessions.search_sessions(store, "zebra", Renderer(out=out, rich_output=False))
    rows = [line.split("\t") for line in out.getvalue().splitlines()[1:]]
    roles = {match: role for _, role, match in rows}
    for n, (_, mark) in enumerate(REPLIES):
        assert roles[f"answer {n} [zebra]"] == (f"assistant ({mark})" if mark else "assistant")
        assert roles[f"question {n} [zebra]"] == "user"


def test_history_and_the_recap_mark_them(make_chat, store, session):
    chat = make_chat()
    out = run(chat, "/resume marked" + ENTER, "/history" + ENTER)
    recap, history = out.split("## Model", 1)
    for n, (_, mark) in enumerate(REPLIES[-3:], start=len(REPLIES) - 3):  # the recap shows the last three
        assert (f"model ({mark}): answer {n} zebra" if mark else f"model: answer {n} zebra") in recap
    assert headings("## Model" + history) == EXPECTED
