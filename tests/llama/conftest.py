"""The real-server tier: segchat against llama.cpp's llama-server and a small model (tests/support/llama_server.py).

Select it with `pytest tests/llama`. Without the server provisioned the tier is skipped, saying how to provision
it; with SEGCHAT_REAL_SERVER=required (as CI sets it) that is a failure instead.
"""

from __future__ import annotations

import os

import pytest
from support import llama_server

# Read before any test isolates HOME and drops the SEGCHAT_ variables: the user's cache, and whether CI insists.
CACHE = str(llama_server.cache_dir())
REQUIRED = os.environ.get("SEGCHAT_REAL_SERVER") == "required"
PROVISION = "python tests/support/llama_server.py"


def start_server(threads: int = 1) -> llama_server.LlamaServer:
    """A ready llama-server from the cache found at session start; skips (or fails, when required) if absent."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEGCHAT_TEST_CACHE", CACHE)
        if not llama_server.provisioned():
            why = f"no llama-server and model in {CACHE}: run `{PROVISION}` once to build them"
            if REQUIRED:
                pytest.fail(f"SEGCHAT_REAL_SERVER=required, but {why}", pytrace=False)
            pytest.skip(why)
        return llama_server.LlamaServer(threads=threads).wait_ready()


@pytest.fixture(scope="session")
def llama():
    """One llama-server for the whole tier, one thread (as slow as a reply gets here), stopped at the end."""
    server = start_server()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def start_llama():
    """start(threads=1): another ready llama-server, for a test that stops it (the caller stops it too)."""
    return start_server


def _home(root, base_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SEGCHAT_") and k not in ("SEGMIND_API_KEY", "NO_COLOR", "VISUAL", "EDITOR")}
    for name, sub in (("HOME", ""), ("XDG_CONFIG_HOME", ".config"), ("XDG_DATA_HOME", ".local/share"),
                      ("XDG_STATE_HOME", ".local/state"), ("XDG_CACHE_HOME", ".cache")):
        (root / sub).mkdir(parents=True, exist_ok=True)
        env[name] = str(root / sub)
    config = root / ".config" / "segchat" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'profile = "llama"\n\n[profiles.llama]\nprovider = "openai"\nbase_url = "{base_url}"\n'
                      f'model = "{llama_server.ALIAS}"\n')
    env.update(PYTHONUNBUFFERED="1", TERM="xterm-256color", COLUMNS="100", LINES="30", PAGER="cat")
    return env


@pytest.fixture(scope="session")
def llama_home():
    """home(root, base_url): an environment whose HOME and XDG directories are under root, with a config whose
    default profile is the OpenAI-compatible llama-server at base_url, serving its model as ALIAS."""
    return _home


@pytest.fixture
def llama_env(llama, isolated_home):
    """The environment of a test's segchat: its own home, talking to the tier's server."""
    return _home(isolated_home, llama.base_url)
