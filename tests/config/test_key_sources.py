"""Where the key comes from: the environment, api_key, api_key_cmd, the OS keyring; in that order."""

from __future__ import annotations

import io
import json
import shlex
import sys

import keyring
import pytest
from keyring.backends import fail
from support.file_keyring import FileKeyring

from segchat.cli.apikey import save
from segchat.config import key_sources
from segchat.config import settings as cfg
from segchat.errors import ConfigError
from segchat.text.redact import redact

URL = "https://api.segmind.com/v1"


@pytest.fixture(autouse=True)
def fresh_commands():
    key_sources.forget_commands()
    yield
    key_sources.forget_commands()


@pytest.fixture
def kept(tmp_path, monkeypatch):
    """A keyring of the test's own (a JSON file), set for this process and taken away after."""
    monkeypatch.setenv("SEGCHAT_TEST_KEYRING", str(tmp_path / "keyring.json"))
    backend = FileKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(fail.Keyring())


def printing(tmp_path, text: str, *, status: int = 0, stderr: str = "", count: str | None = None) -> str:
    """A command that prints text (with a newline) and stderr, exits with status, and appends a line to count."""
    script = tmp_path / f"key{len(list(tmp_path.glob('key*.py')))}.py"
    script.write_text(f"import sys\nsys.stdout.write({text!r} + '\\n')\nsys.stderr.write({stderr!r})\n"
                      + (f"open({count!r}, 'a').write('ran\\n')\n" if count else "") + f"sys.exit({status})\n")
    return shlex.join([sys.executable, str(script)])


def write(tmp_path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def toml(command: str) -> str:
    return json.dumps(command)  # a TOML basic string escapes as JSON does


def test_the_order_environment_then_api_key_then_command_then_keyring(tmp_path, kept):
    kept.set_password("segchat", URL, "ring-key-123456")
    command = printing(tmp_path, "cmd-key-123456")
    both = write(tmp_path, f'api_key = "file-key-123456"\napi_key_cmd = {toml(command)}\n')
    env = {"SEGMIND_API_KEY": "env-key-123456"}
    assert cfg.load(both, env=env).api_key == "env-key-123456"
    config = cfg.load(both, env={})
    assert (config.api_key, config.api_key_source) == ("file-key-123456", f"config file {both}")
    only_command = write(tmp_path, f"api_key_cmd = {toml(command)}\n")
    config = cfg.load(only_command, env={})
    assert config.api_key == "cmd-key-123456"
    assert config.api_key_source == f"api_key_cmd `{command}` (config file {only_command})"
    nothing = write(tmp_path, "")
    config = cfg.load(nothing, env={})
    assert (config.api_key, config.api_key_source) == ("ring-key-123456", "the OS keyring")


def test_a_profiles_command_outranks_the_top_levels_key_for_the_same_server(tmp_path):
    command = printing(tmp_path, "cmd-key-123456")
    path = write(tmp_path, f'api_key = "file-key-123456"\n[profiles.work]\napi_key_cmd = {toml(command)}\n')
    assert cfg.load(path, env={}, profile="work").api_key == "cmd-key-123456"
    assert cfg.load(path, env={}).api_key == "file-key-123456"


def test_a_command_for_another_server_is_not_run_for_a_profile(tmp_path):
    ran = tmp_path / "ran"
    path = write(tmp_path, f"api_key_cmd = {toml(printing(tmp_path, 'cmd-key-123456', count=str(ran)))}\n"
                           '[profiles.local]\nprovider = "openai"\nbase_url = "http://127.0.0.1:8080/v1"\n'
                           'model = "m"\n')
    config = cfg.load(path, env={}, profile="local")
    assert config.api_key is None and config.api_key_cmd is None
    assert not ran.exists()


def test_the_command_runs_once_per_process_and_its_key_is_hidden(tmp_path):
    ran = tmp_path / "ran"
    path = write(tmp_path, f"api_key_cmd = {toml(printing(tmp_path, 'cmd-key-123456', count=str(ran)))}\n")
    cfg.load(path, env={})
    cfg.load(path, env={}, profile="")
    assert ran.read_text() == "ran\n"
    assert "cmd-key-123456" not in redact("the server said cmd-key-123456")


def test_a_failing_command_is_named_and_its_output_never_shown(tmp_path):
    command = printing(tmp_path, "out-secret-123456", status=3, stderr="err-secret-123456")
    path = write(tmp_path, f"api_key_cmd = {toml(command)}\n")
    with pytest.raises(ConfigError) as caught:
        cfg.load(path, env={})
    said = str(caught.value)
    assert f"api_key_cmd `{command}`" in said and "exit status 3" in said and str(path) in said
    assert "secret" not in said


def test_a_command_that_prints_no_key(tmp_path):
    for printed, reason in (("", "printed nothing"), ("two words-123456", "is not a valid API key")):
        key_sources.forget_commands()
        command = printing(tmp_path, printed)
        path = write(tmp_path, f"api_key_cmd = {toml(command)}\n")
        with pytest.raises(ConfigError, match=reason) as caught:
            cfg.load(path, env={})
        assert "words-123456" not in str(caught.value).replace(command, "")


def test_a_command_that_cannot_be_run_or_split(tmp_path):
    path = write(tmp_path, 'api_key_cmd = "no-such-program-here --key"\n')
    with pytest.raises(ConfigError, match="no such program: no-such-program-here"):
        cfg.load(path, env={})
    path = write(tmp_path, "api_key_cmd = \"pass show 'segmind\"\n")
    with pytest.raises(ConfigError, match=r"line 1: api_key_cmd: cannot be split"):
        cfg.load(path, env={})
    path = write(tmp_path, 'api_key_cmd = ""\n')
    with pytest.raises(ConfigError, match="api_key_cmd: is empty"):
        cfg.load(path, env={})


def test_a_command_that_hangs_is_given_up():
    command = shlex.join([sys.executable, "-c", "import time; time.sleep(30)"])
    with pytest.raises(ConfigError, match=r"gave no key within 0.5 s"):
        key_sources.run_key_command(command, key_sources.command_source(command, "config file x"), timeout=0.5)


def test_the_key_typed_is_kept_in_the_keyring_and_the_files_old_key_removed(tmp_path, kept):
    path = write(tmp_path, 'api_key = "old-key-123456"\nmodel = "m1"\n[profiles.p]\napi_key = "p-key-123456"\n')
    said = io.StringIO()
    source = save(cfg.DEFAULT, path, "typed-key-123456", said)
    assert source == "the OS keyring"
    assert kept.get_password("segchat", URL) == "typed-key-123456"
    assert path.read_text() == 'model = "m1"\n[profiles.p]\napi_key = "p-key-123456"\n'
    assert "Saved in the OS keyring" in said.getvalue()
    assert cfg.load(path, env={}).api_key == "typed-key-123456"


@pytest.mark.parametrize("missing", ["backend", "package"])
def test_without_a_usable_keyring_the_file_keeps_the_key_said_once(tmp_path, monkeypatch, missing):
    if missing == "package":
        monkeypatch.setitem(sys.modules, "keyring", None)  # as if the extra were not installed
        why = "the keyring extra is not installed (pip install 'segchat[keyring]')"
    else:
        keyring.set_keyring(fail.Keyring())
        why = "no usable OS keyring was found"
    path = tmp_path / "config.toml"
    said = io.StringIO()
    source = save(cfg.DEFAULT, path, "typed-key-123456", said)
    assert source == f"config file {path}"
    assert said.getvalue() == f"Saved to {path} (readable only by you; {why}).\n"
    assert cfg.load(path, env={}).api_key == "typed-key-123456"


def test_a_keyring_that_fails_is_as_one_that_holds_nothing(tmp_path, kept, monkeypatch):
    def refuse(*args):
        raise RuntimeError("locked")

    monkeypatch.setattr(kept, "get_password", refuse)
    config = cfg.load(write(tmp_path, ""), env={})
    assert (config.api_key, config.api_key_source) == (None, "nowhere")


def test_the_keyring_is_asked_only_for_segmind(tmp_path, kept):
    kept.set_password("segchat", "http://127.0.0.1:8080/v1", "ring-key-123456")
    path = write(tmp_path, 'provider = "openai"\nbase_url = "http://127.0.0.1:8080/v1"\nmodel = "m"\n')
    assert cfg.load(path, env={}).api_key is None
