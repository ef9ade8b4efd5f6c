"""The installed segchat never shows or stores a profile's key, whatever the server sends back; its Tab menu offers
no model id that would act on the terminal."""

from __future__ import annotations

import json

import pytest
from support.cli import KEY, segchat

ENTER, CTRL_C = "\r", "\x03"
PROFILE_KEY = "vllm-profile-key-0123456789"
HEAD, TAIL = PROFILE_KEY[:10], PROFILE_KEY[10:]  # the two stream events the key is split across
SEGMIND_KEY = "segmind-file-key-4444"  # the top level's, which this profile never sends


@pytest.fixture
def keyed_env(cli_env, fake, isolated_home):
    """A config whose default profile is an OpenAI-compatible server that wants PROFILE_KEY as its Bearer key; the
    top level has a Segmind key, and SEGMIND_API_KEY is set."""
    path = isolated_home / ".config" / "segchat" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'profile = "vllm"\napi_key = "{SEGMIND_KEY}"\n\n[profiles.vllm]\nprovider = "openai"\n'
                    f'base_url = "{fake.base_url}"\n'
                    f'model = "llama3.1:8b"\napi_key = "{PROFILE_KEY}"\n')
    path.chmod(0o600)
    fake.bearer = PROFILE_KEY
    return {k: v for k, v in cli_env.items() if k != "SEGCHAT_BASE_URL"}




def stored(isolated_home) -> bytes:
    """Every byte of the session store's files (the database, its write-ahead log)."""
    folder = isolated_home / ".local" / "share" / "segchat"
    return b"".join(path.read_bytes() for path in folder.iterdir() if path.is_file())


def test_a_key_streamed_back_in_two_pieces_is_never_on_screen_nor_stored(term, keyed_env, fake, isolated_home):
    fake.models = [{"id": "llama3.1:8b", "context_length": 8192}, "evil\x1b[31mred", "bidi\u202eledom", PROFILE_KEY,
                   "good/model-2"]
    t = term("--session", "keyed", env=keyed_env)
    t.wait_for("Enter sends")
    fake.script({"chunks": ["your key is ", HEAD, TAIL + " indeed"], "chunk_delay": 0.3})
    t.type("what is my key" + ENTER)
    assert "your key is *** indeed" in t.wait_for("indeed")
    assert HEAD.encode() not in t.raw and TAIL.encode() not in t.raw  # not even written and then erased

    # The model list is fetched after start-up, then the window read from it: once the toolbar shows the window,
    # the menu has the list.
    t.wait_for("/8K")
    t.type("/model \t")
    screen = t.wait_for("good/model-2")
    assert "llama3.1:8b" in screen and "evil" not in screen and "bidi" not in screen
    assert "\u202e".encode() not in t.raw and HEAD.encode() not in t.raw
    t.type(CTRL_C + "/quit" + ENTER)
    assert t.wait_exit() == 0

    exported = segchat("--export", "keyed", "--format", "json", env=keyed_env)
    assert exported.returncode == 0 and HEAD.encode() not in exported.stdout and TAIL.encode() not in exported.stdout
    assert json.loads(exported.stdout)["messages"][1]["content"] == "your key is *** indeed"
    assert PROFILE_KEY.encode() not in stored(isolated_home) and TAIL.encode() not in stored(isolated_home)


def test_a_piped_one_shot_and_an_error_never_show_any_key(keyed_env, fake):
    fake.script({"chunks": ["key: ", HEAD, TAIL, f", the others {SEGMIND_KEY} {KEY}\n"], "chunk_delay": 0.2},
                {"status": 400, "error": f"header Authorization was Bearer {PROFILE_KEY}, key {PROFILE_KEY}"})
    result = segchat("q", env=keyed_env)
    assert result.returncode == 0 and result.stdout == b"key: ***, the others *** ***\n"
    failed = segchat("q", env=keyed_env)
    assert failed.returncode == 1 and b"Authorization" in failed.stderr
    assert HEAD.encode() not in failed.stderr + failed.stdout and TAIL.encode() not in failed.stderr
