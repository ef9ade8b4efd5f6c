"""Files attached to a message, in one-shot and in the chat: sent inline, shown compactly, kept everywhere."""

from __future__ import annotations

import io
import json
import os
import socket
import threading

import pytest
from support.cli import segchat
from support.repl import ENTER, make_repl, run
from support.screen import Terminal

from segchat.errors import UsageError
from segchat.model import attachments
from segchat.model.attachments import Attachment
from segchat.tui.commands.compose import cmd_file


def test_inline_fences_each_file_under_its_name_and_never_lets_it_close_early():
    text = attachments.inline("explain", [Attachment("a.py", "print(1)\n"), Attachment("n.md", "```\nx\n```")])
    assert text == "explain\n\nFile: a.py\n```py\nprint(1)\n```\n\nFile: n.md\n````md\n```\nx\n```\n````"


def test_one_shot_sends_files_inline_and_stores_them(cli_env, fake, tmp_path):
    code = tmp_path / "code.py"
    code.write_text("def f():\n    return 42\n")
    fake.script({"content": "an answer"})
    result = segchat("-f", str(code), "--session", "att", "explain this", env=cli_env)
    assert result.returncode == 0, result.stderr
    sent = fake.chat_requests()[0].body["messages"][-1]["content"]
    assert sent.startswith("explain this\n\nFile: ") and "return 42" in sent
    shown = segchat("--show", "att", env=cli_env).stdout.decode()
    assert "*Attached: " in shown and "code.py" in shown and "return 42" not in shown  # compact, not dumped
    exported = segchat("--export", "att", "--format", "json", env=cli_env).stdout
    data = json.loads(exported)
    assert data["messages"][0]["meta"]["attachments"][0]["text"] == "def f():\n    return 42\n"
    dump = tmp_path / "att.json"
    dump.write_bytes(exported)
    assert segchat("--import", str(dump), "--session", "again", env=cli_env).returncode == 0
    assert segchat("--session", "again", "and now?", env=cli_env).returncode == 0
    resent = fake.chat_requests()[-1].body["messages"]
    assert "return 42" in resent[0]["content"]  # the imported file is still part of the conversation


def test_stdin_as_an_attachment_is_not_the_system_prompt(cli_env, fake):
    result = segchat("-f", "-", "summarise", env=cli_env, stdin=b"line one\nline two\n")
    assert result.returncode == 0, result.stderr
    (message,) = fake.chat_requests()[0].body["messages"]
    assert message["role"] == "user" and "File: stdin" in message["content"] and "line two" in message["content"]


@pytest.mark.parametrize("make, needle", [
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0"), b"binary"),
    (lambda p: p.write_bytes(b"caf\xe9"), b"not UTF-8"),
    (lambda p: p.mkdir(), b"directory"),
    (lambda p: None, b"No such file"),
])
def test_unusable_files_are_refused_before_anything_is_sent(cli_env, fake, tmp_path, make, needle):
    path = tmp_path / "thing.bin"
    make(path)
    result = segchat("-f", str(path), "q", env=cli_env)
    assert result.returncode == 2 and needle in result.stderr and b"thing.bin" in result.stderr
    assert fake.requests == []


def test_a_file_too_big_for_the_context_is_refused_naming_it(cli_env, fake, tmp_path, isolated_home):
    config = isolated_home / ".config" / "segchat" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("context_window = 1000\n")
    big = tmp_path / "big.txt"
    big.write_text("word " * 2000)
    result = segchat("-f", str(big), "q", env=cli_env)
    assert result.returncode == 2 and b"big.txt" in result.stderr and b"1,000-token context" in result.stderr
    assert fake.requests == []


def test_the_chat_attaches_lists_drops_and_sends(make_chat, fake, tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("alpha")
    b.write_text("beta")
    chat = make_chat()
    out = run(chat, f"/file {a} {b}" + ENTER, "/file" + ENTER, "/file clear" + ENTER, f"/file {a}" + ENTER,
              "what is in it?" + ENTER, "and now?" + ENTER)
    before_reply = out.split("echo:")[0]
    assert "attached " in out and "dropped 2 attachment(s)" in out and "alpha" not in before_reply
    first, second = (r.body["messages"] for r in fake.chat_requests())
    assert "File: " in first[-1]["content"] and "alpha" in first[-1]["content"] and "beta" not in first[-1]["content"]
    assert second[-1]["content"] == "and now?"  # attachments go with one message only
    assert chat.conversation.messages[0].meta["attachments"][0]["text"] == "alpha"


def test_a_bad_file_in_the_chat_attaches_nothing(make_chat, fake, tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("fine")
    out = run(make_chat(), f"/file {good} {tmp_path}/missing.txt" + ENTER, "hi" + ENTER)
    assert "missing.txt" in out and fake.chat_requests()[0].body["messages"][-1]["content"] == "hi"


def test_retry_of_an_unsent_message_keeps_its_files(make_chat, fake, tmp_path):
    path = tmp_path / "keep.txt"
    path.write_text("kept text")
    chat = make_chat()
    fake.script({"status": 500}, {"status": 500}, {"status": 500})
    run(chat, f"/file {path}" + ENTER, "look" + ENTER, "/retry" + ENTER)
    assert all("kept text" in r.body["messages"][-1]["content"] for r in fake.chat_requests())
    assert len(fake.chat_requests()) == 4


def test_read_names_the_problem():
    with pytest.raises(UsageError, match="standard input"):
        attachments.read("-", None)


def _special(kind: str, tmp_path, monkeypatch) -> str:
    """A path to a file that is not a regular one, of kind; a socket's path is short (sun_path is)."""
    monkeypatch.chdir(tmp_path)
    if kind == "fifo":
        os.mkfifo("pipe")
        return str(tmp_path / "pipe")
    if kind == "socket":
        listener = socket.socket(socket.AF_UNIX)
        listener.bind("sock")
        return str(tmp_path / "sock")
    if kind == "link to a fifo":
        os.mkfifo("pipe")
        os.symlink("pipe", "link")
        return str(tmp_path / "link")
    return kind  # a device


@pytest.mark.parametrize("kind, said", [("fifo", b"a FIFO"), ("socket", b"a socket"), ("link to a fifo", b"a FIFO"),
                                        ("/dev/null", b"a character device"), ("/dev/zero", b"a character device")])
def test_a_file_that_is_not_a_regular_one_is_refused_at_once(cli_env, fake, tmp_path, monkeypatch, kind, said):
    path = _special(kind, tmp_path, monkeypatch)
    result = segchat("-f", path, "q", env=cli_env, timeout=20)  # a hang is a TimeoutExpired, not a wait
    assert result.returncode == 2, result.stderr
    assert result.stderr.decode().splitlines() == [f"segchat: error: cannot attach {path}: it is "
                                                   f"{said.decode()}, not a file"]
    assert fake.requests == []


def test_a_symlink_to_a_regular_file_is_attached(cli_env, fake, tmp_path):
    (tmp_path / "real.txt").write_text("through the link")
    os.symlink(tmp_path / "real.txt", tmp_path / "link.txt")
    result = segchat("-f", str(tmp_path / "link.txt"), "q", env=cli_env)
    assert result.returncode == 0, result.stderr
    assert "through the link" in fake.chat_requests()[0].body["messages"][-1]["content"]


def test_a_fifo_swapped_in_after_the_look_is_refused_not_waited_on(tmp_path, monkeypatch):
    """Between the look (stat) and the open, a FIFO takes a regular file's place: the open must not wait for a
    writer, and what was opened is looked at again."""
    fifo = tmp_path / "swapped"
    os.mkfifo(fifo)
    looks_regular, real_stat = os.stat(__file__), os.stat
    monkeypatch.setattr(os, "stat", lambda path, *a, **k: looks_regular if os.fspath(path) == str(fifo)
                        else real_stat(path, *a, **k))
    outcome: list[BaseException | None] = []

    def attach() -> None:
        try:
            attachments.read(str(fifo))
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=attach, daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # let the waiting open go, then fail
        pytest.fail("reading a FIFO waited for a writer")
    assert isinstance(outcome[0], UsageError) and "it is a FIFO, not a file" in str(outcome[0])


def test_file_in_the_chat_refuses_a_fifo_and_the_chat_goes_on(cli_env, fake, tmp_path, monkeypatch):
    _special("fifo", tmp_path, monkeypatch)  # ./pipe, where segchat runs
    t = Terminal([], cli_env)
    t.child.delaybeforesend = None
    try:
        t.wait_for("credits")
        t.type("/file pipe /dev/zero" + ENTER)
        t.wait_for("error: cannot attach pipe: it is a FIFO, not a file")
        t.type("/file" + ENTER)
        t.wait_for("nothing attached")
        t.type("still here?" + ENTER)
        t.wait_for("echo: still here?")
        t.type("/quit" + ENTER)
        assert t.wait_exit() == 0
    finally:
        t.close()
    assert fake.chat_requests()[0].body["messages"] == [{"role": "user", "content": "still here?"}]


ODD = "two\nlines\t\x1b[31mred.txt"  # a file's name may hold any byte but / and NUL
ODD_SHOWN = "two^Jlines^I^[[31mred.txt"


def test_describe_shows_a_name_on_one_line_with_its_controls_visible():
    assert attachments.describe(Attachment(ODD, "hi\n")) == f"{ODD_SHOWN} (3 B, ~8 tokens)"
    assert attachments.describe(Attachment("plain.py", "x" * 2048)) == "plain.py (2.0 KB, ~520 tokens)"


def test_an_odd_name_is_one_line_in_show_and_exports_and_kept_whole(cli_env, fake, tmp_path):
    (tmp_path / ODD).write_text("the body\n")
    assert segchat("-f", str(tmp_path / ODD), "--session", "odd", "q", env=cli_env).returncode == 0
    attached = f"*Attached: {tmp_path}/{ODD_SHOWN} (9 B, ~10 tokens)*"
    for args in (("--show", "odd"), ("--export", "odd")):
        out = segchat(*args, env=cli_env).stdout.decode()
        assert attached in out.splitlines() and "\x1b" not in out, out
    exported = json.loads(segchat("--export", "odd", "--format", "json", env=cli_env).stdout)
    assert exported["messages"][0]["meta"]["attachments"][0]["name"] == str(tmp_path / ODD)  # the data is whole


def test_a_refused_odd_name_is_named_on_one_line(cli_env, fake, tmp_path):
    result = segchat("-f", str(tmp_path / ODD), "q", env=cli_env)
    assert result.returncode == 2
    assert result.stderr.decode().splitlines() == [
        f"segchat: error: cannot attach {tmp_path}/{ODD_SHOWN}: No such file or directory"]


def test_the_chat_names_an_odd_file_on_one_line(make_chat, fake, tmp_path):
    (tmp_path / ODD).write_text("the body\n")
    out = io.StringIO()
    repl = make_repl(make_chat(), out)  # such a name cannot be typed: a line break sends, ESC starts a key
    repl.attach([attachments.read(str(tmp_path / ODD))])
    cmd_file(repl, "")  # /file lists what is attached
    lines = out.getvalue().splitlines()
    assert f"attached {tmp_path}/{ODD_SHOWN} (9 B, ~10 tokens) to your next message" in lines
    assert f"{tmp_path}/{ODD_SHOWN} (9 B, ~10 tokens)" in lines and "\x1b" not in out.getvalue()
