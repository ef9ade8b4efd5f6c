"""Hostile and ordinary trouble around the engine, the store and the command line: nothing paid for is lost."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
from decimal import Decimal

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from support.cli import KEY, default_signals, segchat
from support.repl import ENTER, run

from segchat.app import sessions
from segchat.config import settings as cfg
from segchat.config.key_file import save_api_key
from segchat.engine.chat import Chat
from segchat.errors import ConfigError, StoreBusy, StoreError
from segchat.figures import fmt_credits
from segchat.private_files import private_dir
from segchat.providers.segmind import Segmind
from segchat.store import Store
from segchat.text.redact import register_secret
from segchat.tui.repl import Repl
from segchat.tui.toolbar import make_toolbar
from segchat.ui import wording as words
from segchat.ui.render import Renderer

# -- 1. a paid reply is never lost -----------------------------------------------------------


def test_a_reply_the_store_cannot_take_is_shown_kept_and_saved_later(make_chat, fake, store):
    chat = make_chat()
    chat.send("first")
    path = store.path
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    chat.store.wait = chat.store.wait_before_sending = 0.2
    try:
        out = io.StringIO()
        with create_pipe_input() as pipe:
            repl = Repl(chat, Renderer(out=out, rich_output=False), input=pipe, output=DummyOutput())
        repl.send("second")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    shown = out.getvalue()
    assert "echo: second" in shown and "could not be saved" in shown and "/save PATH" in shown
    assert chat.unsaved and [m.content for m in chat.conversation.messages][-1] == "echo: second"
    chat.send("third")  # the store is free again: the kept turn is written with this one
    stored = [m.content for m in Store(path).load(chat.session.id).messages]
    assert stored == ["first", "echo: first", "second", "echo: second", "third", "echo: third"]


def test_a_one_shot_sends_nothing_its_busy_store_could_not_take_first(config, store, fake):
    """A one-shot ends with its turn: a reply to a message the store could not take would be paid for and lost."""
    provider = Segmind(config.base_url, config.model, KEY, timeout=10, sleep=lambda s: None)
    chat = Chat(config, provider, store, store.create("once"), adopt_unsent=False, store_first=True)
    store.wait_before_sending = 0.2
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # taken after the session was opened
    try:
        with pytest.raises(StoreBusy, match="the session store is busy.*; nothing was sent$"):
            chat.send("worth money")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert fake.requests == [] and chat.conversation.unsent is None
    store._db.execute("PRAGMA query_only=ON")  # a store that cannot take it for another reason
    try:
        with pytest.raises(StoreError, match="cannot keep your message .*; nothing was sent$"):
            chat.send("worth money")
    finally:
        store._db.execute("PRAGMA query_only=OFF")
    assert fake.requests == []
    assert chat.send("worth money").reply.content == "echo: worth money"  # and once it can, it is sent


def test_a_session_deleted_meanwhile_does_not_cost_the_reply(make_chat, fake, store):
    chat = make_chat()
    chat.send("first")
    Store(store.path).delete(chat.session.name)  # another segchat deleted it
    turn = chat.send("second")
    assert turn.reply.content == "echo: second" and turn.saved
    assert [n.code for n in turn.notices][:1] == ["restored"]
    again = store.find(chat.session.name)
    assert [m.content for m in store.load(again.id).messages] == ["first", "echo: first", "second", "echo: second"]


# -- 2. two processes on one session ---------------------------------------------------------


def test_undo_removes_this_chats_exchange_not_the_newest_rows(make_chat, fake, store, config):
    mine = make_chat()
    mine.send("mine")
    theirs = Chat(config, mine.provider, Store(store.path), store.get(mine.session.id))
    theirs.send("theirs")  # appended after ours by another process
    mine.undo()
    assert [m.content for m in store.load(mine.session.id).messages] == ["theirs", "echo: theirs"]


LIVE_WRITER = """
import sys, time
from pathlib import Path
from segchat.model.conversation import UnsentMessage
from segchat.store import Store
from segchat.text.redact import register_secret
store = Store(Path(sys.argv[1]))
store.add_unsent(store.find("shared").id, UnsentMessage("a live process's message"))
print("written", flush=True)
time.sleep(30)
"""


def test_a_live_processs_unsent_message_is_neither_adopted_nor_deleted(make_chat, store, config):
    info = store.create("shared")
    child = subprocess.Popen([sys.executable, "-c", LIVE_WRITER, str(store.path)], stdout=subprocess.PIPE,
                             start_new_session=True, preexec_fn=default_signals)
    try:
        assert child.stdout.readline() == b"written\n"
        chat = Chat(config, make_chat().provider, store, info)
        assert chat.conversation.unsent is None
        chat.forget_unsent()
        assert [d.text for d in Store(store.path)._db.execute("SELECT content FROM pending").fetchall()] \
            if False else store._db.execute("SELECT content FROM pending").fetchall() == [
                ("a live process's message",)]
    finally:
        child.kill()
        child.wait()
    later = Chat(config, make_chat().provider, store, store.get(info.id))  # its writer has ended: ours now
    assert later.conversation.unsent.text == "a live process's message"


# -- 5. numbers from outside -------------------------------------------------------------------


@pytest.mark.parametrize("text", ["temperature = nan\n", "top_p = inf\n", "timeout = inf\n", "timeout = 1e300\n",
                                  "context_warning = nan\n", "max_tokens = inf\n", "max_credits = nan\n",
                                  f"context_window = {'9' * 400}\n"])
def test_non_finite_and_absurd_settings_are_refused(tmp_path, text):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        cfg.load(path, env={})
    assert len(str(info.value)) < 200


@pytest.mark.parametrize("flag", ["--temperature", "--top-p", "--timeout"])
def test_non_finite_flags_are_usage_errors(cli_env, fake, flag):
    result = segchat(flag, "nan", "q", env=cli_env)
    assert result.returncode == 2 and b"finite" in result.stderr and fake.requests == []


def test_enormous_figures_stay_short():
    assert fmt_credits(Decimal("1e999999999")) == "1.000E+999999999"
    assert fmt_credits(Decimal("-0.5")) == "-0.5" and fmt_credits(Decimal("12.5")) == "12.5"


def test_an_enormous_balance_never_pushes_the_toolbar_off_screen(make_chat):
    chat = make_chat()
    chat.ledger.balance = Decimal("9" * 5000)
    bar = "".join(text for _, text in make_toolbar(chat, lambda: 100)())
    assert len(bar) <= 100 and chat.session.name in bar and "ctx" not in bar or len(bar) <= 100


# -- 6. Ctrl-C never quits the REPL by accident ------------------------------------------------


def test_ctrl_c_while_a_reply_is_printed_returns_to_the_prompt(make_chat, fake, monkeypatch):
    def interrupted(self, text):
        raise KeyboardInterrupt

    monkeypatch.setattr(Renderer, "reply", interrupted)
    out = run(make_chat(), "first" + ENTER, "second" + ENTER)
    assert out.count("stopped") == 2 and len(fake.chat_requests()) == 2


# -- 7. sessions stay trustworthy ----------------------------------------------------------------


def test_resume_never_picks_a_session_left_empty(store):
    kept = store.create("kept")
    from segchat.model.conversation import Message
    store.add_exchange(kept.id, [Message("user", "q"), Message("assistant", "a")])
    store.create("killed-at-once")  # a REPL killed before anything was sent
    assert store.latest().name == "kept"


def test_damaged_stores_set_aside_never_overwrite_each_other(tmp_path):
    path = tmp_path / "sessions.db"
    for n in range(3):
        path.write_bytes(b"not a database %d" % n + b"\0" * 200)
        Store(path).close()
    asides = sorted(p.read_bytes()[:16] for p in tmp_path.glob("sessions.db.corrupt-*") if "-wal" not in p.name)
    assert asides == [b"not a database 0", b"not a database 1", b"not a database 2"]


@pytest.mark.parametrize("data, needle", [
    ('{"name": "x", "model": "../get-user-credits", "messages": []}', "not a model id"),
    ('{"name": "trailing\\n", "messages": []}', "invalid session name"),
    ('[' * 100000 + ']' * 100000, "nested too deeply"),
])
def test_imports_are_validated_like_typed_input(store, tmp_path, data, needle):
    path = tmp_path / "in.json"
    path.write_text(data)
    with pytest.raises(StoreError, match=needle):
        sessions.import_session(store, path)


def test_imports_with_a_bom_and_repeated_names_get_clear_answers(store, tmp_path):
    path = tmp_path / "in.json"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"name": "trip", "messages": [{"role": "user", "content": "hi"}]}')
    names = [sessions.import_session(store, path).name for _ in range(3)]
    assert names[0] == "trip" and len(set(names)) == 3


def test_an_id_is_ascii_digits_only(store):
    store.create("first")
    assert store.find("1").name == "first"
    with pytest.raises(StoreError):
        store.find("\u0661")  # ARABIC-INDIC DIGIT ONE is not an id


# -- 8. ordinary conditions, ordinary messages -----------------------------------------------------


def test_another_programs_database_is_left_alone(tmp_path):
    path = tmp_path / "sessions.db"
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE invoices(id INTEGER)")
    other.commit()
    other.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="another program's SQLite database"):
        Store(path)
    assert path.read_bytes() == before and not os.path.exists(f"{path}-wal")


def test_an_editor_with_bad_quoting_is_a_clear_error(make_chat, fake, monkeypatch):
    chat = make_chat()
    chat.send("hi")
    monkeypatch.setenv("EDITOR", "vim 'unclosed")
    out = run(chat, "/edit" + ENTER)
    assert "check the quoting" in out and "internal error" not in out


def test_a_pipe_that_cannot_encode_gets_replacements(cli_env, fake):
    fake.script({"content": "pirate \u2620 flag"})
    result = segchat("q", env={**cli_env, "PYTHONIOENCODING": "ascii"})
    assert result.returncode == 0 and result.stdout == b"pirate ? flag\n"


def test_a_reader_that_leaves_early_gets_no_traceback(cli_env, fake):
    for n in range(40):
        assert segchat("--session", f"s{n}", "q", env=cli_env).returncode == 0
    shell = subprocess.run(["/bin/sh", "-c", "\"$0\" --list | head -1; echo \"status ${PIPESTATUS:-x}\"",
                            segchat_path()], env={**cli_env, "COLUMNS": "80"}, capture_output=True, timeout=30)
    assert shell.stderr == b"" and shell.stdout.startswith(b"name\t")


def segchat_path() -> str:
    from support.screen import segchat_command
    return segchat_command()


# -- 9. output goes where the user is ----------------------------------------------------------------


def test_deeply_nested_markdown_is_never_silently_cut():
    out = io.StringIO()
    Renderer(out=out, rich_output=True).reply("> " * 45 + "the hidden words\n\nafter")
    assert "the hidden words" in out.getvalue()


# -- 11. no side effects on the user's files ---------------------------------------------------------


def test_a_symlinked_config_is_written_through(tmp_path):
    real = tmp_path / "dotfiles" / "segchat.toml"
    real.parent.mkdir()
    real.write_text('model = "m1"\n')
    link = tmp_path / "config.toml"
    link.symlink_to(real)
    save_api_key(link, "new-key-12345")
    assert link.is_symlink() and 'api_key = "new-key-12345"' in real.read_text()


def test_only_directories_segchat_creates_become_private(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    private_dir(shared / "segchat" / "data")
    assert shared.stat().st_mode & 0o777 == 0o755
    assert (shared / "segchat").stat().st_mode & 0o777 == 0o700


def test_config_flag_to_a_missing_file_is_an_error(cli_env, fake, tmp_path):
    result = segchat("--config", str(tmp_path / "nope.toml"), "q", env=cli_env)
    assert result.returncode == 2 and b"no such file" in result.stderr and fake.requests == []


# -- 12. the command line says what it will not do ---------------------------------------------------


@pytest.mark.parametrize("args, needle", [
    (["--list", "a prompt"], b"--list does not take a PROMPT"),
    (["-r", "--session", "x"], b"use one of them"),
    (["--format", "json", "--list"], b"--format goes with --export"),
    (["--search", " "], b"needs some text"),
    (["--show", "x", "--system", "s"], b"--show does not take --system"),
])
def test_conflicting_or_unused_arguments_are_usage_errors(cli_env, fake, args, needle):
    result = segchat(*args, env=cli_env)
    assert result.returncode == 2 and needle in result.stderr


@pytest.mark.parametrize("url", ["https://api.example/v1?x=1", "https://api.example/v1#top",
                                 "https://api.example:99999/v1", "https://api.example:port/v1"])
def test_base_urls_with_a_query_fragment_or_bad_port_are_refused(cli_env, fake, url):
    result = segchat("--base-url", url, "q", env=cli_env)
    assert result.returncode == 2 and b"base_url" in result.stderr


def test_a_system_file_has_the_piped_input_cap(cli_env, fake, tmp_path):
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * (4 * 2**20 + 1))
    result = segchat("--system-file", str(big), "q", env=cli_env)
    assert result.returncode == 2 and b"over 4 MiB" in result.stderr and fake.requests == []


def test_one_shot_advice_is_one_shot_advice():
    from segchat.errors import AmbiguousError, BudgetError
    assert "/retry" in words.error(AmbiguousError("dropped"), words.REPL)
    assert "segchat -r" in words.error(AmbiguousError("dropped"), words.ONE_SHOT)
    assert "--max-credits" in words.error(BudgetError(Decimal(1), Decimal(1)), words.ONE_SHOT)
    assert "--max-tokens N" in words.notice("cut_at_max_tokens", {}, words.ONE_SHOT)


def test_deeply_nested_markdown_streamed_is_never_silently_cut():
    from segchat.ui.markdown_stream import MarkdownStream
    out = io.StringIO()
    stream = MarkdownStream(Renderer(out=out, rich_output=True).console)
    for piece in ["> " * 45, "the hidden ", "words\n\nafter\n"]:
        stream.feed(piece)
    stream.finish()
    assert "the hidden words" in out.getvalue()


def test_markdown_images_show_their_address():
    out = io.StringIO()
    Renderer(out=out, rich_output=True).reply("look: ![a cat](https://evil.example/x.png)")
    assert "https://evil.example/x.png" in out.getvalue()


@pytest.mark.parametrize("body, shown", [
    ('{"choices": [{"message": {"content": "hi \\ud800 there"}}]}', "hi \ufffd there"),
    ('{"choices": [{"message": {"content": "a \\ud83d\\ude00 b"}}]}', "a 😀 b")])
def test_a_lone_surrogate_from_the_server_never_costs_the_reply(make_chat, fake, store, body, shown):
    chat = make_chat()
    fake.script({"body": body})
    turn = chat.send("q")
    assert turn.saved and turn.reply.content == shown
    assert store.load(chat.session.id).messages[-1].content == turn.reply.content


def test_a_surrogate_pair_split_across_stream_events_is_joined(make_local_chat, fake, store):
    chat = make_local_chat()
    fake.script({"raw_sse": ['data: {"choices": [{"delta": {"content": "a \\ud83d"}}]}\n\n',
                             'data: {"choices": [{"delta": {"content": "\\ude00 b"}}]}\n\n', "data: [DONE]\n\n"]})
    turn = chat.send("q")
    assert turn.reply.content == "a 😀 b" and store.load(chat.session.id).messages[-1].content == "a 😀 b"


def test_a_prompt_that_is_not_utf8_is_a_usage_error(cli_env, fake):
    import subprocess

    from support.screen import segchat_command
    result = subprocess.run([segchat_command().encode(), b"caf\xe9"], env=cli_env, capture_output=True, timeout=30,
                            preexec_fn=default_signals)
    assert result.returncode == 2 and b"not UTF-8" in result.stderr and fake.requests == []


def test_imports_with_surrogates_or_absurd_times_get_clear_answers(store, tmp_path):
    path = tmp_path / "odd.json"
    path.write_text('{"messages": [{"role": "user", "content": "x \\ud800"}]}')
    info = sessions.import_session(store, path)
    assert store.load(info.id).messages[0].content == "x \ufffd"
    path.write_text('{"messages": [{"role": "user", "content": "x", "created": 1e400}]}')
    with pytest.raises(StoreError, match="seconds since 1970"):
        sessions.import_session(store, path)


def test_a_locked_store_in_the_chat_is_an_ordinary_message_and_changes_nothing(make_chat, fake, store):
    chat = make_chat()
    chat.send("hello")
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    store.wait = store.wait_before_sending = 0.1
    try:
        out = run(chat, "/model llama-v3p1-70b-instruct" + ENTER, "/system be brief" + ENTER, "/trim 1" + ENTER)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert out.count("the session store is busy") == 3 and "internal error" not in out
    assert chat.model == "llama-v3p1-8b-instruct" and chat.conversation.system is None
    assert len(chat.conversation.messages) == 2  # /trim changed nothing either


def test_resume_of_another_profiles_session_is_refused(make_chat, store):
    chat = make_chat()
    store.create("elsewhere", model="llama3.1:8b", profile="local")
    out = run(chat, "/resume elsewhere" + ENTER)
    assert "belongs to profile 'local'" in out and "segchat --session elsewhere" in out
    assert chat.session.name != "elsewhere"


@pytest.mark.parametrize("args, needle", [
    (["--show", ""], b"no session named ''"),
    (["--completion", "bash", "a prompt"], b"--completion is used on its own"),
    (["-f", "-", "-f", "-", "q"], b"give it once"),
])
def test_more_arguments_that_cannot_work_are_said_so(cli_env, fake, args, needle):
    result = segchat(*args, env=cli_env)
    assert result.returncode in (1, 2) and needle in result.stderr and fake.chat_requests() == []


def test_a_cut_off_stream_in_a_one_shot_exits_1_with_its_text_kept(cli_env, fake, isolated_home):
    config = isolated_home / ".config" / "segchat" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'provider = "openai"\nbase_url = "{fake.base_url}"\nmodel = "m"\n')
    fake.script({"chunks": ["half ", "of it", " never"], "cut_after": 2})
    result = segchat("q", env={k: v for k, v in cli_env.items() if k != "SEGCHAT_BASE_URL"})
    assert result.returncode == 1 and result.stdout == b"half of it\n" and b"reply incomplete" in result.stderr


def test_an_editor_that_writes_another_encoding_is_a_clear_error(make_chat, fake, tmp_path, monkeypatch):
    editor = tmp_path / "latin.sh"
    editor.write_text("#!/bin/sh\nprintf 'caf\\351' > \"$1\"\n")
    editor.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(editor))
    chat = make_chat()
    chat.send("hi")
    out = run(chat, "/edit" + ENTER)
    assert "not UTF-8" in out and "internal error" not in out


# -- a key a server echoes is never stored ---------------------------------------------------------


def stored_bytes(store) -> bytes:
    """Every byte of the store's files: the database, its write-ahead log, its shared memory."""
    return b"".join(path.read_bytes() for path in store.path.parent.iterdir() if path.is_file())


def test_a_reply_that_echoes_the_key_is_kept_with_the_key_hidden(make_chat, fake, store):
    register_secret(KEY)
    chat = make_chat()
    fake.script({"content": f'your key is {KEY}; send it as curl -H "x-api-key: $KEY"', "finish_reason": KEY})
    turn = chat.send("what is my key?")
    hidden = 'your key is ***; send it as curl -H "x-api-key: $KEY"'  # the example stays as written
    assert turn.reply.content == hidden and turn.reply.finish_reason == "***"
    assert chat.conversation.messages[-1].content == hidden
    (_, reply) = store.load(chat.session.id).messages
    assert reply.content == hidden and reply.meta["finish_reason"] == "***"
    assert KEY.encode() not in stored_bytes(store)


def test_a_key_split_across_stream_events_is_stored_hidden(make_local_chat, fake, store):
    register_secret(KEY)
    chat = make_local_chat()
    fake.script({"chunks": ["the key: ", KEY[:6], KEY[6:], " (done)"]})
    turn = chat.send("q")
    assert turn.reply.content == "the key: *** (done)"
    assert store.load(chat.session.id).messages[-1].content == "the key: *** (done)"
    assert KEY[6:].encode() not in stored_bytes(store)


def test_a_credits_header_holding_the_key_is_told_without_it(make_chat, fake):
    register_secret(KEY)
    chat = make_chat()
    fake.script({"credits": "credits " * 4 + KEY})  # the key across the cut at 40
    (notice,) = [n for n in chat.send("q").notices if n.code == "bad_credits_header"]
    assert KEY[:4] not in notice.values["raw"]
