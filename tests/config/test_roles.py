"""Named roles, the checked key, and shell completion, as a user meets them."""

from __future__ import annotations

import io
import os
import shutil
import subprocess

import pytest
from support.cli import default_signals, segchat
from support.repl import ENTER, make_repl, run
from support.screen import segchat_command

from segchat.config import roles
from segchat.errors import UsageError
from segchat.tui.slash_completer import suggest


@pytest.fixture
def role_dir(isolated_home):
    folder = isolated_home / ".config" / "segchat" / "roles"
    folder.mkdir(parents=True)
    (folder / "pirate.md").write_text("+++\ntemperature = 1.2\nmodel = \"llama-v3p1-70b-instruct\"\n+++\n"
                                      "You are a pirate.\nSpeak like one.\n")
    (folder / "terse.md").write_text("Answer in one line.\n")
    return folder


def test_a_role_sets_the_system_prompt_and_its_settings(cli_env, fake, role_dir):
    result = segchat("--role", "pirate", "hello", env=cli_env)
    assert result.returncode == 0, result.stderr
    (request,) = fake.chat_requests()
    assert request.path == "/v1/llama-v3p1-70b-instruct" and request.body["temperature"] == 1.2
    assert request.body["messages"][0] == {"role": "system", "content": "You are a pirate.\nSpeak like one."}


def test_flags_beat_the_role(cli_env, fake, role_dir):
    assert segchat("--role", "pirate", "--temperature", "0.1", "-m", "llama-v3-8b-instruct", "q",
                   env=cli_env).returncode == 0
    (request,) = fake.chat_requests()
    assert request.path == "/v1/llama-v3-8b-instruct" and request.body["temperature"] == 0.1


def test_unknown_role_names_the_roles_there_are(cli_env, fake, role_dir):
    result = segchat("--role", "ninja", "q", env=cli_env)
    assert result.returncode == 2 and b"unknown role 'ninja'" in result.stderr
    assert b"pirate, terse" in result.stderr and fake.requests == []


def test_roles_are_listed_with_their_first_line(cli_env, role_dir):
    result = segchat("--roles", env=cli_env)
    assert result.stdout.decode().splitlines()[1:] == ["pirate\tYou are a pirate.", "terse\tAnswer in one line."]


def test_a_role_and_another_system_prompt_conflict(cli_env, fake, role_dir):
    result = segchat("--role", "terse", "q", env=cli_env, stdin=b"You are a cat.")
    assert result.returncode == 2 and b"given twice" in result.stderr


@pytest.mark.parametrize("text, needle", [
    ("+++\ncolour = 1\n+++\nx", "unknown setting 'colour'"),
    ("+++\ntemperature = 1\nno end", "never ends"),
    ("+++\n= bad\n+++\nx", "not valid TOML"),
    ("+++\n+++\n", "no text"),
])
def test_broken_front_matter_is_explained(isolated_home, role_dir, text, needle):
    (role_dir / "broken.md").write_text(text)
    with pytest.raises(UsageError, match=needle):
        roles.load(role_dir.parent / "config.toml", "broken")


def test_a_role_that_is_a_fifo_is_said_to_be_one_at_once(cli_env, fake, role_dir):
    os.mkfifo(role_dir / "piped.md")
    result = segchat("--role", "piped", "q", env=cli_env, timeout=20)  # a wait for a writer is a TimeoutExpired
    assert result.returncode == 2
    assert f"the role {role_dir / 'piped.md'} is a FIFO, not a file".encode() in result.stderr
    assert b"unknown role" not in result.stderr and fake.requests == []
    listed = segchat("--roles", env=cli_env, timeout=20).stdout.decode()
    assert "piped\t(cannot be used: the role " in listed and "is a FIFO, not a file)" in listed
    assert "terse\tAnswer in one line." in listed


def test_a_role_that_is_a_directory_is_said_to_be_one(role_dir):
    (role_dir / "folder.md").mkdir()
    with pytest.raises(UsageError, match="folder.md is a directory, not a file"):
        roles.load(role_dir.parent / "config.toml", "folder")
    with pytest.raises(UsageError, match="unknown role 'absent'"):
        roles.load(role_dir.parent / "config.toml", "absent")


def test_a_role_s_number_in_quotes_is_refused_from_the_line_and_in_the_chat(cli_env, fake, role_dir, make_chat):
    (role_dir / "quoted.md").write_text('+++\nmax_tokens = "10"\n+++\nBe brief.\n')
    said = ("max_tokens: expected a whole number, got the text '10' "
            "(a number is written without quotes: max_tokens = 10)")
    result = segchat("--role", "quoted", "q", env=cli_env)
    assert result.returncode == 2 and result.stderr.decode() == f"segchat: error: role quoted: {said}\n"
    out = run(make_chat(path=role_dir.parent / "config.toml"), "/role quoted" + ENTER, "hi" + ENTER)
    assert f"role 'quoted': {said}" in out
    assert fake.chat_requests()[0].body["messages"] == [{"role": "user", "content": "hi"}]  # no role, no max_tokens


def test_role_in_the_chat_switches_and_completes(make_chat, fake, role_dir):
    made = make_chat(path=role_dir.parent / "config.toml")
    out = run(made, "/role" + ENTER, "/role terse" + ENTER, "hi" + ENTER, "/role" + ENTER)
    assert "no role" in out and "role 'terse': Answer in one line." in out and "role: terse" in out
    assert fake.chat_requests()[0].body["messages"][0] == {"role": "system", "content": "Answer in one line."}
    assert suggest(make_repl(made, io.StringIO()), "/role p") == (["pirate"], 1)


# -- the key ---------------------------------------------------------------------------------------


def test_a_first_run_key_is_checked_before_it_is_saved(cli_env, fake, isolated_home):
    from support.screen import Terminal
    env = {k: v for k, v in cli_env.items() if k != "SEGMIND_API_KEY"}
    t = Terminal([], env)
    try:
        t.wait_for("Segmind API key (input hidden)")
        t.type("bad-key-123\r")
        t.wait_for("rejected that key")
        t.type("good-key-456\r")
        t.wait_for("Saved to")
        t.wait_for("credits")  # the toolbar: the prompt reads keys now
        t.type("\x04")
        assert t.wait_exit() == 0
    finally:
        t.close()
    config = (isolated_home / ".config" / "segchat" / "config.toml").read_text()
    assert 'api_key = "good-key-456"' in config and "bad-key-123" not in config


def test_set_key_replaces_the_stored_key(cli_env, fake, isolated_home):
    from support.screen import Terminal
    path = isolated_home / ".config" / "segchat" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('api_key = "old-key-0001"\nmodel = "llama-v3p1-8b-instruct"\n')
    t = Terminal(["--set-key"], {k: v for k, v in cli_env.items() if k != "SEGMIND_API_KEY"})
    try:
        t.wait_for("input hidden")
        t.type("new-key-0002\r")
        assert t.wait_exit() == 0
    finally:
        t.close()
    assert path.read_text() == 'api_key = "new-key-0002"\nmodel = "llama-v3p1-8b-instruct"\n'


def test_network_trouble_saves_the_key_with_a_notice(isolated_home, tmp_path):
    from segchat.cli.apikey import verify
    from segchat.config.settings import Config
    reason = verify(Config(base_url="http://127.0.0.1:9/v1", model="m"), "some-key-123")
    assert reason and "cannot connect" in reason


# -- completion -------------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_bash_completion_script_loads_and_completes(cli_env, fake, role_dir):
    assert segchat("--session", "lisbon-trip", "q", env=cli_env).returncode == 0
    script = segchat("--completion", "bash", env=cli_env).stdout.decode()
    assert "segchat" in script
    bin_dir = os.path.dirname(segchat_command())
    probe = f"""
{script}
complete -p segchat
COMP_LINE="segchat --role pi"; COMP_POINT=${{#COMP_LINE}}; COMP_WORDS=(segchat --role pi); COMP_CWORD=2
_python_argcomplete segchat 2>/dev/null || true
echo "roles: ${{COMPREPLY[*]}}"
COMP_LINE="segchat --session lis"; COMP_POINT=${{#COMP_LINE}}; COMP_WORDS=(segchat --session lis); COMP_CWORD=2
_python_argcomplete segchat 2>/dev/null || true
echo "sessions: ${{COMPREPLY[*]}}"
"""
    env = {**cli_env, "PATH": bin_dir + os.pathsep + cli_env.get("PATH", "")}
    shell = subprocess.run(["bash", "-c", probe], capture_output=True, env=env, timeout=60, start_new_session=True,
                           preexec_fn=default_signals)
    out = shell.stdout.decode()
    assert "complete " in out and "segchat" in out.splitlines()[0]
    assert "roles: pirate" in out and "sessions: lisbon-trip" in out


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_other_shells_get_a_script(cli_env, shell):
    result = segchat("--completion", shell, env=cli_env)
    assert result.returncode == 0 and b"segchat" in result.stdout
