"""The REPL in-process: scripted keys through a pipe, output captured, state checked."""

from __future__ import annotations

import _thread
import io
import threading
import time

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from support.repl import ALT_ENTER, CTRL_C, CTRL_D, ENTER, run
from support.store_rows import listed

from segchat.errors import Cancelled
from segchat.net.pacing import Pacer
from segchat.tui.repl import Repl
from segchat.tui.slash_completer import suggest
from segchat.tui.toolbar import make_toolbar
from segchat.ui.render import Renderer


def sent(fake) -> list[list[dict]]:
    return [r.body["messages"] for r in fake.chat_requests()]


def test_enter_sends_and_reply_is_printed(make_chat, fake):
    out = run(make_chat(), "hello there" + ENTER)
    assert "echo: hello there" in out
    assert sent(fake) == [[{"role": "user", "content": "hello there"}]]


def test_alt_enter_and_paste_make_one_message(make_chat, fake):
    run(make_chat(), "line one" + ALT_ENTER + "line two" + ENTER, "\x1b[200~pasted\nlines\x1b[201~" + ENTER)
    assert [m[-1]["content"] for m in sent(fake)] == ["line one\nline two", "pasted\nlines"]


def test_ctrl_c_clears_the_line(make_chat, fake):
    run(make_chat(), "discard me" + CTRL_C, "keep" + ENTER)
    assert [m[-1]["content"] for m in sent(fake)] == ["keep"]


@pytest.mark.parametrize("command", ["/quit", "/exit"])
def test_quit_commands(make_chat, fake, command):
    run(make_chat(), command + ENTER, "never sent" + ENTER)
    assert sent(fake) == []


def test_help_comes_from_the_table(make_chat):
    chat = make_chat()
    out = run(chat, "/help" + ENTER)
    from segchat.tui.commands.registry import build_registry
    for command in build_registry().commands:
        assert f"/{command.name}" in out and command.help in out


def test_unknown_command_hints_and_sends_nothing(make_chat, fake):
    out = run(make_chat(), "/hepl" + ENTER)
    assert "unknown command /hepl" in out and "did you mean /help" in out
    assert sent(fake) == []


def test_double_slash_sends_a_literal_slash(make_chat, fake):
    run(make_chat(), "//etc/hosts is a file" + ENTER)
    assert sent(fake)[0][-1]["content"] == "/etc/hosts is a file"


def test_system_command_shows_and_replaces(make_chat, fake):
    out = run(make_chat(system="old"), "/system" + ENTER, "/system be terse" + ENTER, "hi" + ENTER)
    assert "system prompt: old" in out
    assert sent(fake)[0][0] == {"role": "system", "content": "be terse"}


def test_clear_starts_fresh_with_same_system(make_chat, fake, store):
    chat = make_chat(system="sys")
    run(chat, "one" + ENTER, "/clear" + ENTER, "two" + ENTER)
    assert sent(fake)[1] == [{"role": "system", "content": "sys"}, {"role": "user", "content": "two"}]
    assert len(listed(store)) == 2


def test_errors_keep_the_repl_alive_and_retry_resends(make_chat, fake):
    fake.script({"status": 500}, {"status": 500}, {"status": 500})
    out = run(make_chat(), "first" + ENTER, "/retry" + ENTER)
    assert "server error 500" in out and "echo: first" in out
    assert [m[-1]["content"] for m in sent(fake)] == ["first"] * 4


def test_406_puts_the_message_back_in_the_input(make_chat, fake):
    fake.script({"status": 406, "error": "Insufficient credits"})
    out = run(make_chat(), "precious words" + ENTER, ENTER)
    assert "not enough credits" in out and "last known balance" in out
    assert [m[-1]["content"] for m in sent(fake)] == ["precious words", "precious words"]


def test_a_team_spend_limit_leaves_the_message_unsent_not_in_the_input(make_chat, fake):
    fake.script({"status": 406, "error": "Team spend limit reached: 50.00 of 50.00 for this month"})
    chat = make_chat()
    out = run(chat, "precious words" + ENTER, ENTER)  # a bare Enter: nothing was put back to send
    assert "team's spend limit is reached" in out and "/retry sends it again" in out
    assert "not enough credits" not in out
    assert len(fake.chat_requests()) == 1 and chat.conversation.unsent.text == "precious words"


def test_a_retired_model_says_so_and_another_answers_the_same_message(make_chat, fake):
    fake.script({"status": 410})
    chat = make_chat(model="a-model-no-catalogue-knows")
    out = run(chat, "hello" + ENTER, "/model llama-v3p1-8b-instruct" + ENTER, "/retry" + ENTER)
    assert "model 'a-model-no-catalogue-knows' was retired by Segmind" in out
    assert "/model NAME switches to another" in out and "echo: hello" in out
    assert [r.path for r in fake.chat_requests()] == ["/v1/a-model-no-catalogue-knows", "/v1/llama-v3p1-8b-instruct"]


def test_undo_model_set_budget_credits(make_chat, fake):
    chat = make_chat()
    out = run(chat, "a" + ENTER, "/undo" + ENTER, "/model llama-v3p1-70b-instruct" + ENTER, "/set temperature 0.4"
              + ENTER, "/set" + ENTER, "/set top_p 7" + ENTER, "/budget 0.5" + ENTER, "/credits" + ENTER, "b" + ENTER,
              "y" + ENTER)  # the first turn's cost is unknown (no balance before it): asked before sending more
    assert "removed the last exchange" in out and "top_p: 7.0 is out of range" in out
    assert "changed by another segchat" not in out  # our own /undo is not someone else's change
    assert "credits: 10" in out.replace("credits: 10.0", "credits: 10") or "credits: 9.9875" in out
    last = fake.chat_requests()[-1]
    assert last.path.endswith("/llama-v3p1-70b-instruct") and last.body["temperature"] == 0.4
    assert last.body["messages"] == [{"role": "user", "content": "b"}]
    assert chat.max_credits is not None and str(chat.max_credits) == "0.5"


def test_budget_refusal_in_repl_keeps_the_text(make_chat, fake):
    # The refused text comes back in the input box: a bare Enter submits it again.
    out = run(make_chat(), "/budget 0" + ENTER, "hello" + ENTER, ENTER, CTRL_C)
    assert out.count("reaching its budget of 0") == 2 and sent(fake) == []


def test_trim_history_save_copy(make_chat, fake, tmp_path, monkeypatch):
    monkeypatch.setattr("segchat.ui.render.is_terminal", lambda stream: True)  # as on a terminal
    fake.script({}, {"content": "text\n```py\nprint(1)\n```"})
    path = tmp_path / "t.md"
    out = run(make_chat(), "q1" + ENTER, "q2" + ENTER, "/copy code" + ENTER, "/trim 1" + ENTER,
              "/history" + ENTER, f"/save {path}" + ENTER)
    assert "\x1b]52;c;cHJpbnQoMSk=\x07" in out  # base64 of print(1)
    assert "dropping: q1" in out
    assert "## You\n\nq2" in path.read_text() and "## You\n\nq1" not in path.read_text()


def use_editor(tmp_path, monkeypatch, old: str, new: str) -> None:
    """$EDITOR becomes a script that replaces old with new in the file it is given."""
    editor = tmp_path / "ed.sh"
    editor.write_text(f"#!/bin/sh\nsed -i 's/{old}/{new}/' \"$1\"\n")
    editor.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(editor))


def test_edit_resends_the_edited_message(make_chat, fake, tmp_path, monkeypatch):
    use_editor(tmp_path, monkeypatch, "teh", "the")
    chat = make_chat()
    run(chat, "fix teh typo" + ENTER, "/edit" + ENTER)
    assert [m.content for m in chat.conversation.messages] == ["fix the typo", "echo: fix the typo"]


def test_session_commands(make_chat, fake, store, tmp_path):
    other = store.create("older-one")
    chat = make_chat()
    export = tmp_path / "x.json"
    out = run(chat, "alpha words" + ENTER, "/rename mine" + ENTER, "/sessions" + ENTER, f"/export {export}" + ENTER,
              "/search alpha" + ENTER, "/delete older-one" + ENTER, "/delete mine" + ENTER, "/resume nope" + ENTER)
    assert "session renamed to 'mine'" in out and "older-one" in out
    assert '"content": "alpha words"' in export.read_text()
    assert "mine\tuser\t[alpha] words" in out
    assert "deleted session 'older-one'" in out and "cannot delete the session in use" in out
    assert "no session named 'nope'" in out
    assert store.names() == ["mine"] and other.name not in store.names()


def test_resume_command_switches(make_chat, fake, store):
    chat = make_chat()
    old = store.create("old")
    from segchat.model.conversation import Message
    store.add_exchange(old.id, [Message("user", "remember me"), Message("assistant", "sure")])
    out = run(chat, "/resume old" + ENTER, "next" + ENTER)
    assert "remember me" in out
    assert sent(fake)[0][:2] == [{"role": "user", "content": "remember me"}, {"role": "assistant", "content": "sure"}]


def test_completion_from_the_table(make_chat, store):
    chat = make_chat()
    store.create("travel")
    out = io.StringIO()
    with create_pipe_input() as pipe:
        repl = Repl(chat, Renderer(out=out, rich_output=False), input=pipe, output=DummyOutput())
    assert suggest(repl, "/he") == (["/help"], 3)
    assert "/resume" in suggest(repl, "/re")[0] and "/retry" in suggest(repl, "/re")[0]
    assert suggest(repl, "/resume tr") == (["travel"], 2)
    assert "llama-v3p1-70b-instruct" in suggest(repl, "/model llama")[0]
    assert suggest(repl, "/set te") == (["temperature"], 2)
    assert suggest(repl, "hello") == ([], 0)


def test_ctrl_c_during_a_request_cancels_at_once(make_chat, fake):
    chat = make_chat()
    out = io.StringIO()
    with create_pipe_input() as pipe:
        repl = Repl(chat, Renderer(out=out, rich_output=False), input=pipe, output=DummyOutput())
    fake.script({"hang": 10})
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    started = time.monotonic()
    repl.send("slow question")
    assert time.monotonic() - started < 5  # not the 10 s the server hangs
    assert "cancelled" in out.getvalue()
    assert chat.conversation.messages == [] and chat.conversation.unsent.text == "slow question"
    repl.retry()
    assert [m.content for m in chat.conversation.messages] == ["slow question", "echo: slow question"]


def test_run_request_reraises_worker_errors(make_chat):
    with create_pipe_input() as pipe:
        repl = Repl(make_chat(), Renderer(out=io.StringIO(), rich_output=False), input=pipe, output=DummyOutput())

    def boom(cancel):
        raise Cancelled()

    with pytest.raises(Cancelled):
        repl.run_request(boom)


def test_toolbar_shows_model_credits_spend_session_context(make_chat, fake):
    chat = make_chat()
    chat.refresh_balance()
    chat.send("hello")
    text = "".join(part for _, part in make_toolbar(chat, lambda: 200)())
    for needle in ("llama-v3p1-8b-instruct", "credits 9.9875", "spent 0.0125", f"session {chat.session.name}",
                   "ctx ", "/128K"):
        assert needle in text, needle
    narrow = "".join(part for _, part in make_toolbar(chat, lambda: 80)())
    assert len(narrow) <= 80 and "9.9875" in narrow and "credits" not in narrow and chat.session.name in narrow


def test_toolbar_unknown_credits_and_low_style(make_chat):
    chat = make_chat()
    parts = make_toolbar(chat, lambda: 200)()
    assert any("credits —" in text for _, text in parts)
    chat.ledger.balance = chat.config.low_credit_warning / 2
    assert any(style.endswith(".low") and "credits" in text for style, text in make_toolbar(chat, lambda: 200)())


def test_history_file_is_private(make_chat, tmp_path):
    import stat
    history = tmp_path / "state" / "history"
    run(make_chat(), "remember this" + ENTER, history=history)
    assert stat.S_IMODE(history.stat().st_mode) == 0o600
    assert stat.S_IMODE(history.parent.stat().st_mode) == 0o700
    assert "remember this" in history.read_text()


def test_a_failing_command_does_not_end_the_repl(make_chat, fake, monkeypatch):
    from segchat.app import sessions
    monkeypatch.setattr(sessions, "list_sessions", lambda *a: 1 / 0)
    out = run(make_chat(), "/sessions" + ENTER, "still here" + ENTER)
    assert "internal error: ZeroDivisionError" in out and "echo: still here" in out


def test_failed_edit_keeps_the_old_exchange_and_the_edited_text(make_chat, fake, tmp_path, monkeypatch):
    use_editor(tmp_path, monkeypatch, "old", "new")
    chat = make_chat()
    fake.script({}, {"status": 404})
    out = run(chat, "old words" + ENTER, "/edit" + ENTER, ENTER)
    assert "not found" in out
    assert fake.chat_requests()[1].body["messages"] == [{"role": "user", "content": "new words"}]
    # The old exchange survived, and the edited text came back in the input box: Enter sent it.
    assert [m.content for m in chat.conversation.messages] == [
        "old words", "echo: old words", "new words", "echo: new words"]


def test_copy_says_what_it_did_and_wraps_for_tmux(make_chat, fake, monkeypatch):
    chat = make_chat()
    chat.send("hi")
    assert "not a terminal" in run(chat, "/copy" + ENTER)  # a pipe has no clipboard: said, not pretended
    monkeypatch.setattr("segchat.ui.render.is_terminal", lambda stream: True)
    monkeypatch.setenv("TMUX", "/tmp/tmux-0/default,1,0")
    out = run(chat, "/copy" + ENTER)
    assert "\x1bPtmux;\x1b\x1b]52;c;" in out and "sent 8 characters" in out and "set-clipboard on" in out


def test_undo_of_the_only_exchange_clears_the_title(make_chat, fake, store):
    chat = make_chat()
    chat.send("a first question")
    assert store.get(chat.session.id).title == "a first question"
    run(chat, "/undo" + ENTER)
    assert store.get(chat.session.id).title == ""


def test_help_names_the_aliases(make_chat):
    out = run(make_chat(), "/help" + ENTER)
    assert "(also /?)" in out and "(also /exit)" in out and "(also /new)" in out


def test_start_up_work_begins_once_the_prompt_is_drawn(make_chat):
    """on_ready (the balance fetch, httpx's import) runs after the first render, once: it must not hold it up."""
    seen = []
    with create_pipe_input() as pipe:
        pipe.send_text("hello" + ENTER + CTRL_D)
        repl = Repl(make_chat(), Renderer(out=io.StringIO(), rich_output=False), input=pipe, output=DummyOutput())
        assert repl.run(on_ready=lambda: seen.append(repl.prompt.app.render_counter)) == 0
    assert len(seen) == 1 and seen[0] >= 1


def test_sends_past_rpm_wait_their_turn(make_chat, fake):
    chat = make_chat(rpm=1)
    chat.pacer = Pacer(1, window=1.0)  # a one-second "minute", for the test's sake
    out = run(chat, "first" + ENTER, "second" + ENTER)
    assert "echo: first" in out and "echo: second" in out
    first, second = fake.chat_requests()
    assert second.at - first.at >= 0.8  # the second waited for the first to leave the window
