"""The installed `segchat --check`: one line per thing checked, the key never shown, exit 1 on a FAIL."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest
from support.cli import KEY, segchat
from support.screen import Terminal

from segchat.config.paths import store_path
from segchat.store import Store

SUPPORT = Path(__file__).parent.parent / "support"
ENTER = "\r"


def lines(result) -> dict[str, tuple[str, str]]:
    """The output's lines by what they check: (mark, detail)."""
    found = {}
    for line in result.stdout.decode().splitlines():
        mark, _, rest = line.partition(" ")
        what, _, detail = rest.strip().partition(": ")
        found[what] = (mark, detail)
    return found


def marks(result) -> dict[str, str]:
    return {what: mark for what, (mark, _) in lines(result).items()}


def config_file(isolated_home, text: str) -> Path:
    path = isolated_home / ".config" / "segchat" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_all_well_exits_0_and_says_where_everything_is(cli_env, fake):
    store = Store(store_path())
    store.create(model="m")
    store.close()
    result = segchat("--check", env=cli_env)
    assert result.returncode == 0, result.stdout
    found = lines(result)
    assert set(marks(result).values()) == {"ok"}
    assert list(found) == ["config", "profile", "provider", "keyring", "key", "server", "store", "terminal"]
    assert found["key"][1] == "from environment variable SEGMIND_API_KEY"
    assert found["provider"][1] == f"segmind at {fake.base_url}, model llama-v3p1-8b-instruct"
    assert found["server"][1].startswith("answers; balance 10")
    assert found["store"][1].startswith(f"{store_path()}, ") and found["store"][1].endswith(
        ", 1 session, integrity ok")
    assert found["terminal"][1] == "colour no (not a terminal), width 100, clipboard no (not a terminal)"
    assert KEY.encode() not in result.stdout + result.stderr
    assert b"\x1b" not in result.stdout  # piped: no colour


def test_a_store_not_made_yet_is_not_made_by_the_check(cli_env, fake):
    result = segchat("--check", env=cli_env)
    assert result.returncode == 0, result.stdout
    assert lines(result)["store"] == ("ok", f"{store_path()} (not created yet)")
    assert not Path(store_path()).exists()


def test_a_rejected_key_fails_the_server_line(cli_env, fake):
    env = dict(cli_env, SEGMIND_API_KEY="bad-key-123")
    result = segchat("--check", env=env)
    assert result.returncode == 1
    assert marks(result)["server"] == "FAIL" and marks(result)["key"] == "ok"
    assert "401" in lines(result)["server"][1] or "reject" in lines(result)["server"][1].lower()
    assert b"bad-key-123" not in result.stdout + result.stderr


def test_no_key_fails_the_key_line_and_the_server_is_not_asked(cli_env, fake):
    env = dict(cli_env)
    del env["SEGMIND_API_KEY"]
    result = segchat("--check", env=env)
    assert result.returncode == 1
    assert marks(result)["key"] == "FAIL" and marks(result)["server"] == "-"
    assert not fake.requests


def damaged_page(path: Path) -> bytes:
    """A store of many sessions whose third page's header is overwritten, as a disk fault would."""
    store = Store(path)
    for number in range(300):
        store.create(name=f"s{number}", model="m", system="x" * 200)
    store.close()
    data = bytearray(path.read_bytes())
    size = int.from_bytes(data[16:18], "big")  # the page size, from the database header
    data[size * 2: size * 2 + 40] = b"\xff" * 40
    return bytes(data)


@pytest.mark.parametrize("damage", ["not a database", "a damaged page"])
def test_a_damaged_store_fails_its_integrity_and_is_left_as_it_is(cli_env, fake, damage):
    path = Path(store_path())
    path.parent.mkdir(parents=True, exist_ok=True)
    damaged = b"SQLite format 3\x00" + b"\x07" * 4000 if damage == "not a database" else damaged_page(path)
    path.write_bytes(damaged)
    result = segchat("--check", env=cli_env)
    assert result.returncode == 1
    mark, detail = lines(result)["store"]
    assert mark == "FAIL" and "damaged or unreadable" in detail
    assert path.read_bytes() == damaged
    # Nothing set aside nor started anew (a reader of a WAL store may leave its -wal and -shm files).
    assert [p.name for p in path.parent.iterdir() if not p.name.endswith(("-wal", "-shm"))] == [path.name]


def test_a_key_from_a_command_is_used_and_never_shown(cli_env, fake, isolated_home, tmp_path):
    script = tmp_path / "key.py"
    script.write_text(f"print({KEY!r})\n")
    command = shlex.join([sys.executable, str(script)])
    config_file(isolated_home, f"api_key_cmd = {json.dumps(command)}\n")
    env = dict(cli_env)
    del env["SEGMIND_API_KEY"]
    result = segchat("--check", env=env)
    assert result.returncode == 0, result.stdout
    assert lines(result)["key"][1].startswith(f"from api_key_cmd `{command}` (config file ")
    assert KEY.encode() not in result.stdout + result.stderr


def test_a_failing_command_fails_the_key_line_without_its_output(cli_env, fake, isolated_home, tmp_path):
    script = tmp_path / "key.py"
    script.write_text("import sys\nprint('printed-secret-1234')\nsys.exit(4)\n")
    config_file(isolated_home, f"api_key_cmd = {json.dumps(shlex.join([sys.executable, str(script)]))}\n")
    env = dict(cli_env)
    del env["SEGMIND_API_KEY"]
    result = segchat("--check", env=env)
    assert result.returncode == 1
    mark, detail = lines(result)["key"]
    assert mark == "FAIL" and "exit status 4" in detail
    assert b"printed-secret" not in result.stdout + result.stderr


def test_a_broken_config_fails_the_config_line(cli_env, fake, isolated_home):
    config_file(isolated_home, "temperature = 9\n")
    result = segchat("--check", env=cli_env)
    assert result.returncode == 1
    assert marks(result)["config"] == "FAIL" and "temperature" in lines(result)["config"][1]
    assert marks(result)["store"] == "ok"


def test_an_openai_profile_lists_the_models_and_the_window(cli_env, fake, isolated_home):
    fake.models = [{"id": "llama3.1:8b", "object": "model", "meta": {"n_ctx": 8192}}, "other"]
    config_file(isolated_home, f'profile = "local"\n[profiles.local]\nprovider = "openai"\n'
                               f'base_url = "{fake.base_url}"\nmodel = "llama3.1:8b"\n')
    env = dict(cli_env)
    del env["SEGCHAT_BASE_URL"]
    result = segchat("--check", env=env)
    assert result.returncode == 0, result.stdout
    found = lines(result)
    assert found["profile"] == ("ok", "local")
    assert found["key"] == ("ok", "none: the server is asked without one")
    assert found["server"] == ("ok", "answers; 2 models listed; context window 8,192 tokens")


@pytest.fixture
def keyring_env(cli_env, tmp_path):
    """The installed segchat with a keyring of the test's own: a JSON file."""
    env = dict(cli_env, PYTHON_KEYRING_BACKEND="file_keyring.FileKeyring", PYTHONPATH=str(SUPPORT),
               SEGCHAT_TEST_KEYRING=str(tmp_path / "keyring.json"))
    del env["SEGMIND_API_KEY"]
    return env


def test_set_key_keeps_the_key_in_the_keyring_and_check_finds_it(keyring_env, fake, isolated_home, tmp_path):
    t = Terminal(["--set-key"], keyring_env)
    t.child.delaybeforesend = None
    try:
        t.wait_for("Segmind API key (input hidden)")
        t.type(KEY + ENTER)
        t.wait_for("Saved in the OS keyring")
        assert t.wait_exit() == 0
    finally:
        t.close()
    kept = json.loads((tmp_path / "keyring.json").read_text())
    assert kept == {f"segchat {fake.base_url}": KEY}
    assert not (isolated_home / ".config" / "segchat" / "config.toml").exists()
    result = segchat("--check", env=keyring_env)
    assert result.returncode == 0, result.stdout
    found = lines(result)
    assert found["keyring"] == ("ok", "file_keyring.FileKeyring")
    assert found["key"] == ("ok", "from the OS keyring")
    assert KEY.encode() not in result.stdout + result.stderr


def test_colour_marks_on_a_terminal_and_none_with_no_color(cli_env, fake):
    env = dict(cli_env, SEGMIND_API_KEY="bad-key-123")
    t = Terminal(["--check"], env)
    t.child.delaybeforesend = None
    try:
        t.wait_for("terminal: colour yes, width 100, clipboard OSC 52")
        assert t.wait_exit() == 1
        assert b"\x1b[1;31mFAIL" in t.raw and b"\x1b[32mok" in t.raw
    finally:
        t.close()
    t = Terminal(["--check"], dict(env, NO_COLOR="1"))
    t.child.delaybeforesend = None
    try:
        t.wait_for("terminal: colour no (NO_COLOR is set), width 100, clipboard OSC 52")
        assert t.wait_exit() == 1
        assert b"\x1b[" not in t.raw
    finally:
        t.close()
