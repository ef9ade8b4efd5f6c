"""The chat's context window: the server's word, else the profile's, else what the provider knows, else unknown;
the meter, the warning and a refusal's lesson."""

from __future__ import annotations

import json

import pytest

from segchat.errors import ContextError
from segchat.tui.toolbar import make_toolbar

EXCEEDED = {"error": {"code": 400, "message": "request (931 tokens) exceeds the available context size (512 tokens), "
                                              "try increasing it", "type": "exceed_context_size_error",
                      "n_prompt_tokens": 931, "n_ctx": 512}}


def test_the_servers_word_wins_over_the_profile(make_local_chat, fake):
    fake.models = [{"id": "llama3.1:8b", "max_model_len": 8192}]
    chat = make_local_chat(context_window=131072)
    assert chat.context_window == 131072  # not asked yet: the profile's
    assert chat.learn_window() == 8192 and chat.context_window == 8192


def test_the_profile_wins_over_what_segmind_knows(make_chat):
    assert make_chat().context_window == 131072
    assert make_chat(context_window=4000).context_window == 4000


def test_an_unknown_window_is_shown_as_unknown(make_local_chat, fake):
    fake.models = [{"id": "llama3.1:8b"}]
    chat = make_local_chat()
    chat.learn_window()
    chat.send("x" * 4000)
    assert chat.context_window is None
    bar = "".join(text for _, text in make_toolbar(chat, lambda: 200)())
    assert "ctx " in bar and "/" not in bar.split("ctx ")[1] and "%" not in bar


def test_the_meter_and_warning_use_the_servers_window(make_local_chat, fake):
    fake.models = [{"id": "llama3.1:8b", "max_model_len": 1000}]
    fake.script({"usage": {"prompt_tokens": 900, "completion_tokens": 50, "total_tokens": 950}})
    chat = make_local_chat()
    chat.learn_window()
    turn = chat.send("hello")
    assert any(n.code == "context_full" and n.values["window"] == 1000 for n in turn.notices)
    bar = "".join(text for _, text in make_toolbar(chat, lambda: 200)())
    assert "950/1000 95%" in bar


def test_a_refusal_teaches_the_window(make_local_chat, fake):
    fake.script({"status": 400, "body": json.dumps(EXCEEDED)})
    chat = make_local_chat()
    with pytest.raises(ContextError):
        chat.send("hello " * 900)
    assert chat.context_window == 512
