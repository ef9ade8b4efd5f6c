"""Files attached to a message, in one-shot and in the chat: sent inline, shown compactly, kept everywhere."""

from __future__ import annotations

import json

import pytest
from support.cli import segchat
from support.repl import ENTER, run

from segchat.errors import UsageError
from segchat.model import attachments
from segchat.model.attachments import Attachment


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
