"""The installed segchat command, run as scripts run it: exit codes, pipes, stderr, sessions."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest
from support.cli import KEY, default_signals, segchat
from support.screen import segchat_command


def test_one_shot_prints_plain_reply(cli_env, fake):
    fake.script({"content": "**bold** \x1b[31mred\x1b]0;title\x07"})
    result = segchat("what", "is", "this?", env=cli_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"**bold** ^[[31mred^[]0;title^G\n"
    assert fake.chat_requests()[0].body["messages"] == [{"role": "user", "content": "what is this?"}]


def test_piped_system_prompt_with_one_shot(cli_env, fake):
    result = segchat("ahoy?", env=cli_env, stdin="Talk like a pirate ☠\n".encode())
    assert result.returncode == 0, result.stderr
    assert fake.chat_requests()[0].body["messages"][0] == {"role": "system", "content": "Talk like a pirate ☠"}


def test_system_flags(cli_env, fake, tmp_path):
    path = tmp_path / "sys.txt"
    path.write_text("from file")
    assert segchat("--system-file", str(path), "q", env=cli_env).returncode == 0
    assert segchat("--system", "from flag", "q", env=cli_env).returncode == 0
    assert [r.body["messages"][0]["content"] for r in fake.chat_requests()] == ["from file", "from flag"]
    both = segchat("--system", "x", "q", env=cli_env, stdin=b"piped")
    assert both.returncode == 2 and b"given twice" in both.stderr


def test_non_utf8_stdin_is_a_clear_error(cli_env, fake):
    result = segchat("q", env=cli_env, stdin=b"\xff\xfe bad")
    assert result.returncode == 2 and b"not UTF-8" in result.stderr and b"Traceback" not in result.stderr
    assert fake.requests == []


def test_no_prompt_and_no_terminal_is_a_usage_error(cli_env, fake):
    result = segchat(env=cli_env, stdin=b"system prompt only")
    assert result.returncode == 2 and b"no PROMPT given and no terminal" in result.stderr


def test_no_key_without_terminal(cli_env, fake):
    del cli_env["SEGMIND_API_KEY"]
    result = segchat("q", env=cli_env)
    assert result.returncode == 2
    assert result.stderr.count(b"\n") == 1 and b"SEGMIND_API_KEY" in result.stderr


@pytest.mark.parametrize("status, code, needle", [
    (401, 1, b"rejected"), (404, 1, b"not found"), (405, 1, b"405"), (406, 1, b"did not accept the request (406")])
def test_api_errors_exit_1_with_one_line(cli_env, fake, status, code, needle):
    fake.script({"status": status, "error": "nope"})
    result = segchat("q", env=cli_env)
    assert result.returncode == code and needle in result.stderr
    assert KEY.encode() not in result.stderr + result.stdout and b"Traceback" not in result.stderr
    assert result.stdout == b""


def test_401_names_where_the_key_came_from(cli_env, fake):
    fake.script({"status": 401})
    assert b"environment variable SEGMIND_API_KEY" in segchat("q", env=cli_env).stderr


def test_malformed_config(cli_env, fake, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('model = "ok"\napi_key = "k\n')
    result = segchat("--config", str(path), "q", env=cli_env)
    assert result.returncode == 2 and str(path).encode() in result.stderr and b"line 2" in result.stderr
    assert b"Traceback" not in result.stderr


def test_plain_http_to_remote_host_is_refused_before_any_request(cli_env, fake):
    result = segchat("--base-url", "http://example.invalid/v1", "q", env=cli_env)
    assert result.returncode == 2 and b"unencrypted" in result.stderr


def test_no_color_keeps_output_plain(cli_env, fake):
    cli_env["NO_COLOR"] = "1"
    fake.script({"content": "# Title"})
    assert segchat("q", env=cli_env).stdout == b"# Title\n"


def test_version_and_config_path(cli_env):
    assert segchat("--version", env=cli_env).stdout.startswith(b"segchat ")
    assert segchat("--config-path", env=cli_env).stdout.strip().endswith(b"segchat/config.toml")


def test_sessions_from_the_command_line(cli_env, fake, tmp_path):
    assert segchat("--session", "trip", "plan a trip to Lisbon", env=cli_env).returncode == 0
    assert segchat("-r", "and in Spain?", env=cli_env).returncode == 0
    assert fake.chat_requests()[-1].body["messages"][:2] == [
        {"role": "user", "content": "plan a trip to Lisbon"},
        {"role": "assistant", "content": "echo: plan a trip to Lisbon"}]
    listing = segchat("--list", env=cli_env).stdout.decode().splitlines()
    assert listing[0].split("\t") == ["name", "id", "title", "model", "messages", "last used", "spent", "balance"]
    assert listing[1].split("\t")[7] == "9.975"  # the balance after the session's last turn
    assert listing[1].split("\t")[:5] == ["trip", "1", "plan a trip to Lisbon", "llama-v3p1-8b-instruct", "4"]
    assert b"trip\tuser\tplan a trip to [Lisbon]" in segchat("--search", "lisbon", env=cli_env).stdout
    exported = segchat("--export", "trip", "--format", "json", env=cli_env).stdout
    assert json.loads(exported)["messages"][2]["content"] == "and in Spain?"
    assert b"## You\n\nand in Spain?" in segchat("--export", "trip", env=cli_env).stdout
    path = tmp_path / "trip.json"
    path.write_bytes(exported)
    assert segchat("--import", str(path), "--session", "copy", env=cli_env).returncode == 0
    assert segchat("--rename", "copy", "copy2", env=cli_env).returncode == 0
    assert b"and in Spain?" in segchat("--show", "copy2", env=cli_env).stdout
    assert segchat("--delete", "copy2", env=cli_env).returncode == 0
    missing = segchat("--show", "trp", env=cli_env)
    assert missing.returncode == 1 and b"did you mean: trip" in missing.stderr
    bad = segchat("--session", "../etc", "q", env=cli_env)
    assert bad.returncode == 1 and b"invalid session name" in bad.stderr


def test_sigint_during_one_shot_exits_130_and_keeps_the_message(cli_env, fake):
    fake.script({"hang": 10})
    proc = subprocess.Popen([segchat_command(), "--session", "s", "slow one"], env=cli_env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=default_signals)
    deadline = time.monotonic() + 10
    while not fake.chat_requests() and time.monotonic() < deadline:  # sent (the balance is asked first)
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 130 and b"interrupted" in err and b"Traceback" not in err
    exported = json.loads(segchat("--export", "s", "--format", "json", env=cli_env).stdout)
    assert exported["pending"] == "slow one"


def test_a_data_path_that_is_a_file_is_an_ordinary_error(cli_env, fake, tmp_path):
    data = tmp_path / "ro"
    data.write_text("not a directory")
    cli_env["XDG_DATA_HOME"] = str(data)
    plain = segchat("q", env=cli_env)
    assert plain.returncode == 1 and b"Traceback" not in plain.stderr and b"internal error" not in plain.stderr
    assert b"cannot create the directory for the session store" in plain.stderr


BUG = f"""
import sys
import segchat.store
def broken(*args, **kwargs):
    raise RuntimeError("a bug near the key {KEY}")
segchat.store.Store.__init__ = broken
from segchat.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def test_debug_shows_a_traceback_without_the_key(cli_env, fake):
    import sys

    def run(*args):
        return subprocess.run([sys.executable, "-c", BUG, *args], capture_output=True, env=cli_env, timeout=30,
                              start_new_session=True, preexec_fn=default_signals)

    plain = run("q")
    assert plain.returncode == 1 and b"Traceback" not in plain.stderr and b"--debug" in plain.stderr
    assert b"internal error: RuntimeError: a bug near the key ***" in plain.stderr
    debug = run("--debug", "q")
    assert b"Traceback" in debug.stderr and KEY.encode() not in debug.stderr


def test_endless_stdin_is_refused(cli_env, fake):
    result = segchat("q", env=cli_env, stdin=b"y\n" * (3 * 2**20))
    assert result.returncode == 2 and b"over 4 MiB" in result.stderr and fake.requests == []


def test_a_failed_first_question_keeps_its_session_for_retry(cli_env, fake):
    fake.script({"status": 500}, {"status": 500}, {"status": 500})
    assert segchat("--session", "flaky", "please answer", env=cli_env).returncode == 1
    exported = json.loads(segchat("--export", "flaky", "--format", "json", env=cli_env).stdout)
    assert exported["pending"] == "please answer"


def test_406_in_one_shot_shows_the_last_known_balance(cli_env, fake):
    assert segchat("first", env=cli_env).returncode == 0
    fake.script({"status": 406, "error": "Insufficient credits"})
    result = segchat("second", env=cli_env)
    assert result.returncode == 1 and b"not enough credits" in result.stderr
    assert b"last known balance: 9.9875" in result.stderr


def test_a_piped_one_shot_shows_no_spinner(cli_env, fake):
    fake.script({"delay": 1.2})
    result = segchat("q", env=cli_env)
    assert result.returncode == 0 and result.stdout == b"echo: q\n" and result.stderr == b""


def test_the_program_exits_with_main_s_status_and_spares_the_final_collection(monkeypatch):
    """run() (the console script, python -m segchat): main's status, with what lives on frozen out of the
    interpreter's last collection; main() itself, which tests call, freezes nothing."""
    import gc

    from segchat.cli import main as cli

    frozen = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    monkeypatch.setattr(cli, "main", lambda: 3)
    with pytest.raises(SystemExit) as ended:
        cli.run()
    assert ended.value.code == 3 and frozen == [True]
