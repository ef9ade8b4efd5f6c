"""Streamed replies in the REPL, in-process: shown as they arrive, once; Ctrl-C keeps what came."""

from __future__ import annotations

import _thread
import io
import threading

from support.repl import ENTER, make_repl, run

from segchat.text.redact import register_secret
from segchat.tui.slash_completer import suggest
from segchat.tui.toolbar import make_toolbar


def test_a_streamed_reply_is_printed_once(make_local_chat, fake):
    fake.script({"chunks": ["Stream", "ed ", "reply"]})
    out = run(make_local_chat(), "hi" + ENTER)
    assert out.count("Streamed reply") == 1 and "cost" not in out


def test_text_is_on_screen_before_the_stream_ends(make_local_chat, fake):
    chat, out = make_local_chat(), io.StringIO()
    repl = make_repl(chat, out)
    fake.script({"chunks": ["early ", "late"], "stall": 1.0})
    seen = []
    threading.Timer(0.6, lambda: seen.append(out.getvalue())).start()
    repl.send("q")
    assert seen == ["early "] and out.getvalue().startswith("early late\n")


def test_ctrl_c_mid_stream_keeps_the_text_marked_and_retry_replaces_it(make_local_chat, fake, store):
    chat, out = make_local_chat(), io.StringIO()
    repl = make_repl(chat, out)
    fake.script({"chunks": ["half an ", "answer"], "stall": 10})
    threading.Timer(0.5, _thread.interrupt_main).start()
    repl.send("question")
    (user, reply) = chat.conversation.messages
    assert reply.content == "half an " and reply.interrupted and "interrupted" in out.getvalue()
    stored = store.load(chat.session.id).messages
    assert [m.content for m in stored] == ["question", "half an "] and stored[1].interrupted
    history = run(chat, "/history" + ENTER)
    assert "Model (interrupted)" in history
    fake.script({"chunks": ["a whole ", "answer"]})
    repl.retry()
    assert [m.content for m in store.load(chat.session.id).messages] == ["question", "a whole answer"]


def test_no_credits_anywhere_for_a_provider_without_them(make_local_chat, fake):
    chat = make_local_chat()
    bar = "".join(text for _, text in make_toolbar(chat, lambda: 200)())
    assert "llama3.1:8b" in bar and "credits" not in bar and "spent" not in bar
    out = run(chat, "/credits" + ENTER, "/budget 5" + ENTER)
    assert out.count("has no credits") == 2
    assert not any(r.path.endswith("get-user-credits") for r in fake.requests)


def test_model_completion_offers_what_the_server_lists(make_local_chat):
    chat = make_local_chat()
    repl = make_repl(chat, io.StringIO())
    assert suggest(repl, "/model ll") == (["llama3.1:8b"], 2)  # before the list came: the configured one
    repl.model_ids = chat.provider.models()
    assert suggest(repl, "/model meta")[0] == ["meta-llama/Llama-3.1-8B-Instruct"]


def test_model_completion_offers_only_ids_model_accepts_and_no_key(make_local_chat):
    register_secret("local-secret-key-0123")
    chat = make_local_chat()
    repl = make_repl(chat, io.StringIO())
    repl.model_ids = ["llama3.1:8b", "ll\x1b[31mred", "ll\u202eevil", "ll a space", "ll/../up", "local-secret-key-0123",
                      "llama3.2:3b"]
    assert suggest(repl, "/model ")[0] == ["llama3.1:8b", "llama3.2:3b"]
    assert suggest(repl, "/model lo") == ([], 2)  # the key the server listed as a model is not offered
    repl.model_ids = ["\x1bonly-bad"]
    assert suggest(repl, "/model ") == (["llama3.1:8b"], 0)  # none left: the configured one
