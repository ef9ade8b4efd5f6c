"""Shared fixtures: an isolated home, a loopback Segmind, and ready-made chats."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from support.cli import KEY  # noqa: E402
from support.fakeserver import FakeSegmind  # noqa: E402
from support.homes import home_variables  # noqa: E402
from support.screen import Terminal  # noqa: E402

from segchat.config import settings as cfg  # noqa: E402
from segchat.engine.chat import Chat  # noqa: E402
from segchat.providers.segmind import Segmind  # noqa: E402
from segchat.store import Store  # noqa: E402
from segchat.text.redact import forget_secrets  # noqa: E402


@pytest.fixture(autouse=True)
def sigint_raises():
    """Ctrl-C works in-process too (interrupt_main does nothing while SIGINT is ignored by the runner)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture(autouse=True)
def no_secrets_left():
    """A secret a test registers is forgotten after it: the next test starts with none."""
    yield
    forget_secrets()


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Every test gets its own HOME and XDG dirs; the real user's files are never touched."""
    home = tmp_path / "home"
    # The real user's keyring is never read nor written either: a test that wants one sets its own backend.
    for name, value in home_variables(home).items():
        monkeypatch.setenv(name, value)
    for name in list(os.environ):
        if name.startswith("SEGCHAT_") or name in ("SEGMIND_API_KEY", "NO_COLOR", "FORCE_COLOR", "VISUAL", "EDITOR"):
            monkeypatch.delenv(name)
    return home


@pytest.fixture
def fake():
    server = FakeSegmind().start()
    yield server
    server.stop()


@pytest.fixture
def config(fake):
    return cfg.Config(base_url=fake.base_url, model="llama-v3p1-8b-instruct", api_key=KEY,
                      api_key_source="environment variable SEGMIND_API_KEY", timeout=10.0)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "data" / "sessions.db")
    yield s
    s.close()


@pytest.fixture
def make_chat(config, store):
    def make(**changes):
        conf = config.replace(**changes)
        client = Segmind(conf.base_url, conf.model, KEY, timeout=conf.timeout, retries=conf.retries,
                            key_source=conf.api_key_source, overrides=dict(conf.models), sleep=lambda s: None)
        info = store.create(model=conf.model, system=conf.system)
        return Chat(conf, client, store, info)

    return make


@pytest.fixture
def make_local_chat(config, store):
    """A chat with an OpenAI-compatible server on this machine: no key, streamed replies."""
    from segchat.providers.openai_compat import OpenAI

    def make(**changes):
        conf = config.replace(provider="openai", model="llama3.1:8b", api_key=None, stream=True, **changes)
        provider = OpenAI(conf.base_url, conf.model, None, timeout=conf.timeout, stream=conf.stream,
                          overrides=dict(conf.models), sleep=lambda s: None)
        return Chat(conf, provider, store, store.create(model=conf.model))

    return make


@pytest.fixture
def cli_env(fake, isolated_home):
    """Environment for running the installed segchat against the loopback server."""
    env = {k: v for k, v in os.environ.items()}
    env.update(SEGCHAT_BASE_URL=fake.base_url, SEGMIND_API_KEY=KEY, PYTHONUNBUFFERED="1", TERM="xterm-256color",
               COLUMNS="100", LINES="30", PAGER="cat")
    return env




@pytest.fixture
def term(request):
    """segchat on a pseudo-terminal, term(*args, env=None, shell=None): env defaults to cli_env (the loopback
    server); with shell, /bin/sh -c shell instead. Every terminal started is closed after the test."""
    started: list[Terminal] = []

    def start(*args: str, env: dict | None = None, shell: str | None = None) -> Terminal:
        env = request.getfixturevalue("cli_env") if env is None else env
        started.append(Terminal(["-c", shell], env, command="/bin/sh") if shell else Terminal(list(args), env))
        return started[-1]

    yield start
    for t in started:
        t.close()
