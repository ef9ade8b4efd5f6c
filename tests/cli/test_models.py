"""`segchat --models` and choosing a model with -m: the catalogue listed piped and on a terminal (the installed
package reading its own data file), an OpenAI-compatible profile's server's list, a slug the catalogue does not
know sent with a note, and a resumed conversation too long for the chosen model refused before sending."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from support.cli import segchat
from support.config_files import write
from support.screen import Terminal

from segchat.providers.segmind_catalogue import shipped

ROOT = Path(__file__).resolve().parents[2]
HEADER = ["model", "family", "context", "max output", "description"]


def rows(stdout: bytes) -> list[list[str]]:
    return [line.split("\t") for line in stdout.decode().splitlines()]


def test_piped_the_catalogue_is_tab_separated_with_windows_in_tokens(cli_env, fake):
    result = segchat("--models", env=cli_env)
    assert result.returncode == 0 and result.stderr == b""
    lines = rows(result.stdout)
    assert lines[0] == HEADER and all(len(line) == 5 for line in lines)
    by_slug = {line[0]: line for line in lines[1:]}
    assert list(by_slug) == list(shipped())
    assert by_slug["gpt-4"][1:4] == ["openai", "8192", "8192"]
    assert by_slug["gemini-2.5-pro"][1:4] == ["gemini", "1048576", "65536"]
    assert by_slug["llama-v3p1-8b-instruct"][1:4] == ["llama", "131072", ""]  # no separate output limit
    assert by_slug["claude-4.5-sonnet"][4].startswith("Claude Sonnet 4.5")
    assert fake.requests == []  # nothing asked of Segmind


def test_the_configs_tables_are_listed_with_the_catalogue(cli_env, fake, isolated_home):
    config = write(isolated_home / "my.toml", '[models."llama-v3p1-8b-instruct"]\ncontext_window = 65536\n\n'
                                              '[models."brand-new"]\ndescription = "added by me"\n')
    lines = rows(segchat("--models", "--config", str(config), env=cli_env).stdout)
    by_slug = {line[0]: line for line in lines[1:]}
    assert by_slug["llama-v3p1-8b-instruct"][2] == "65536"
    assert lines[-1] == ["brand-new", "", "", "", "added by me"]


def test_on_a_terminal_the_catalogue_is_aligned_and_fits(cli_env):
    term = Terminal(["--models"], cli_env, rows=80, cols=100)
    try:
        assert term.wait_exit() == 0
        shown = term.raw.decode()
    finally:
        term.close()
    lines = [line for line in shown.replace("\x1b[1m", "").replace("\x1b[0m", "").split("\r\n") if line]
    assert lines[0].split() == ["model", "family", "context", "max", "output", "description"]
    gpt4 = next(line for line in lines if line.startswith("gpt-4 "))
    assert gpt4.split()[1:4] == ["openai", "8K", "8K"]
    assert next(line for line in lines if line.startswith("gemini-2.5-pro ")).split()[2] == "1M"
    assert next(line for line in lines if line.startswith("llama4-scout-instruct-basic ")).split()[2] == "10M"
    assert next(line for line in lines if line.startswith("gpt-5 ")).split()[2] == "400K"
    starts = {line.index(" openai ") for line in lines if " openai " in line}
    assert len(starts) == 1  # one column
    assert max(map(len, lines)) <= 100 and "…" in shown  # long descriptions cut to the width


def test_models_is_used_on_its_own(cli_env, fake):
    result = segchat("--models", "a question", env=cli_env)
    assert result.returncode == 2 and b"--models is used on its own" in result.stderr and fake.requests == []


def test_an_openai_profile_lists_its_servers_models(cli_env, fake, isolated_home):
    config = write(isolated_home / "my.toml", f'[profiles.local]\nprovider = "openai"\nbase_url = "{fake.base_url}"\n'
                                              'model = "llama3.1:8b"\n')
    result = segchat("--models", "--config", str(config), "--profile", "local", env=cli_env)
    assert result.returncode == 0
    assert result.stdout.decode().splitlines() == ["model", "llama3.1:8b", "meta-llama/Llama-3.1-8B-Instruct"]
    assert [r.path for r in fake.requests] == ["/v1/models"]


def test_the_catalogue_asks_for_no_key_and_a_servers_list_does(cli_env, fake, isolated_home, tmp_path):
    """Listing Segmind's catalogue makes no request, so api_key_cmd (a password manager) is not run; listing an
    OpenAI-compatible server's models sends its key, which the command prints."""
    ran = tmp_path / "ran"
    command = json.dumps(f"{sys.executable} -c \"open({str(ran)!r}, 'a').write('x'); print('cmd-key-1234567')\"")
    env = {k: v for k, v in cli_env.items() if k != "SEGMIND_API_KEY"}
    config = write(isolated_home / "my.toml", f"api_key_cmd = {command}\n[profiles.local]\nprovider = \"openai\"\n"
                                              f'base_url = "{fake.base_url}"\napi_key_cmd = {command}\n')
    listed = segchat("--models", "--config", str(config), env=env)
    assert listed.returncode == 0 and b"claude-4.5-sonnet" in listed.stdout
    assert not ran.exists() and fake.requests == []
    served = segchat("--models", "--config", str(config), "--profile", "local", env=env)
    assert served.returncode == 0 and b"llama3.1:8b" in served.stdout
    assert ran.read_text() == "x" and fake.requests[-1].headers["authorization"] == "Bearer cmd-key-1234567"


def test_models_loads_neither_engine_nor_network_nor_store():
    code = ("import io, json, sys, contextlib\nfrom segchat.cli.main import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n    status = main(['--models'])\n"
            "print(json.dumps([status, out.getvalue().count('\\n'), sorted(sys.modules)]))")
    status, count, loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                                      check=True).stdout)
    assert status == 0 and count == len(shipped()) + 1
    heavy = [m for m in loaded if m.startswith(("segchat.engine", "segchat.net", "segchat.store", "segchat.app",
                                                "segchat.tui", "httpx", "httpcore", "sqlite3", "prompt_toolkit"))]
    assert heavy == [] and "segchat.providers.segmind_catalogue" in loaded
    assert "segchat.providers.segmind" not in loaded


def test_the_installed_package_carries_and_finds_its_catalogue(tmp_path):
    """A wheel built from the source holds the data file; installed (not editable), importlib.resources finds it
    beside the catalogue's module, and the module reads it."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "wheel"),
                    str(ROOT)], check=True, capture_output=True, timeout=300)
    wheel = next((tmp_path / "wheel").glob("segchat-*.whl"))
    assert "segchat/providers/segmind_models.toml" in zipfile.ZipFile(wheel).namelist()
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    code = ("import sys; sys.path.insert(0, sys.argv[1])\nimport importlib.resources, json\n"
            "from segchat.providers import segmind_catalogue as c\n"
            "data = importlib.resources.files('segchat.providers').joinpath('segmind_models.toml')\n"
            "print(json.dumps([data.is_file(), c.FILE, str(data), len(c.entries())]))")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    found, file, resource, count = json.loads(subprocess.run(
        [sys.executable, "-c", code, str(target)], capture_output=True, text=True, check=True, env=env,
        cwd=tmp_path).stdout)
    assert found and file == resource and file.startswith(str(target)) and count == len(shipped())


def test_a_slug_the_catalogue_does_not_know_is_sent_with_a_note(cli_env, fake):
    result = segchat("-m", "brand-new-model", "hello", env=cli_env)
    assert result.returncode == 0 and result.stdout == b"echo: hello\n"
    assert result.stderr.decode().count("brand-new-model is not in segchat's catalogue: sent as is") == 1
    assert fake.chat_requests()[-1].path == "/v1/brand-new-model"
    known = segchat("-m", "gpt-4", "hello", env=cli_env)
    assert known.returncode == 0 and b"catalogue" not in known.stderr


def test_resuming_with_a_model_too_small_for_the_conversation_is_refused(cli_env, fake):
    fake.script({"usage": {"prompt_tokens": 9000, "completion_tokens": 100, "total_tokens": 9100}})
    assert segchat("a long one", env=cli_env).returncode == 0
    result = segchat("-r", "-m", "gpt-4", "and now?", env=cli_env)
    said = result.stderr.decode()
    assert result.returncode == 2, said
    assert "is longer than the 8,192-token context window of gpt-4; nothing was sent" in said
    assert "segchat --models lists them" in said and said.count("longer than") == 1
    assert len(fake.chat_requests()) == 1  # the first question only
    fine = segchat("-r", "-m", "gpt-4o", "and now?", env=cli_env)  # 128K: it fits
    assert fine.returncode == 0 and fake.chat_requests()[-1].path == "/v1/gpt-4o"
