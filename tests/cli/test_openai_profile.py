"""The installed segchat with an OpenAI-compatible profile: our loopback server, and an independent one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
from support.cli import default_signals, segchat
from support.independent_server import STREAM_ECHO_PREFIX, echo_model, start_independent_server
from support.screen import segchat_command

from segchat.model.call import Call
from segchat.providers.openai_compat import OpenAI


@pytest.fixture
def local_env(cli_env, fake, isolated_home):
    """A config whose default profile is an OpenAI-compatible server on this machine, needing no key."""
    path = isolated_home / ".config" / "segchat" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'profile = "local"\n\n[profiles.local]\nprovider = "openai"\nbase_url = "{fake.base_url}"\n'
                    'model = "llama3.1:8b"\n')
    env = dict(cli_env)
    del env["SEGCHAT_BASE_URL"]
    return env


def test_one_shot_streams_plain_text_without_a_key(local_env, fake):
    fake.script({"chunks": ["Hello", ", ", "world"]})
    result = segchat("hi", env=local_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"Hello, world\n"
    (request,) = fake.chat_requests()
    assert request.path == "/v1/chat/completions" and request.body["model"] == "llama3.1:8b"
    assert request.body["stream"] is True and "authorization" not in request.headers
    assert "x-api-key" not in request.headers  # SEGMIND_API_KEY is set, but not for this server


def test_piped_output_arrives_while_the_stream_is_still_open(local_env, fake):
    fake.script({"chunks": ["early words ", "late words"], "stall": 3})
    child = subprocess.Popen([segchat_command(), "q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, env=local_env, start_new_session=True,
                             preexec_fn=default_signals)
    try:
        started = time.monotonic()
        first = os.read(child.stdout.fileno(), 100)
        assert first == b"early words " and time.monotonic() - started < 2.5  # not after the 3 s stall
        assert child.wait(timeout=15) == 0
        assert child.stdout.read() == b"late words\n"
    finally:
        child.kill()
        child.wait()


def test_ctrl_c_mid_stream_keeps_what_arrived_marked_interrupted(local_env, fake):
    fake.script({"chunks": ["kept ", "lost"], "stall": 20})
    child = subprocess.Popen([segchat_command(), "--session", "cut", "q"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=local_env,
                             start_new_session=True, preexec_fn=default_signals)
    try:
        assert os.read(child.stdout.fileno(), 100) == b"kept "
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=5) == 130
        assert b"interrupted" in child.stderr.read()
    finally:
        child.kill()
        child.wait()
    shown = segchat("--show", "cut", env=local_env).stdout.decode()
    assert "## Model (interrupted)\n\nkept" in shown
    exported = json.loads(segchat("--export", "cut", "--format", "json", env=local_env).stdout)
    assert exported["messages"][1]["meta"]["interrupted"] is True


def test_list_shows_the_profile_and_credits_flags_are_refused(local_env, fake):
    assert segchat("--session", "here", "q", env=local_env).returncode == 0
    listing = segchat("--list", env=local_env).stdout.decode()
    assert "llama3.1:8b (local)" in listing
    refused = segchat("--max-credits", "1", "q", env=local_env)
    assert refused.returncode == 2 and b"no credits" in refused.stderr


def test_a_session_resumes_with_its_own_profile(cli_env, local_env, fake):
    assert segchat("--session", "trip", "first", env=local_env).returncode == 0
    config = local_env["XDG_CONFIG_HOME"] + "/segchat/config.toml"
    with open(config) as handle:
        text = handle.read()
    with open(config, "w") as handle:  # the default is now Segmind; the session still belongs to "local"
        handle.write(text.replace('profile = "local"\n', ""))
    assert segchat("--session", "trip", "second", env=local_env).returncode == 0
    assert [r.path for r in fake.chat_requests()] == ["/v1/chat/completions"] * 2


def test_segmind_one_shot_is_unchanged(cli_env, fake):
    result = segchat("hi", env=cli_env)
    assert result.stdout == b"echo: hi\n"
    (request,) = fake.chat_requests()
    assert request.path == "/v1/llama-v3p1-8b-instruct" and set(request.body) == {"messages"}


# -- an independently written OpenAI-compatible server ----------------------------------------

@pytest.fixture(scope="module")
def independent():
    base_url, stop = start_independent_server()
    yield base_url
    stop()


@pytest.mark.parametrize("stream", [False, True])
def test_the_provider_against_an_independent_server(independent, stream):
    provider = OpenAI(independent, echo_model("llama"), None, stream=stream)
    pieces: list[str] = []
    reply = provider.complete([{"role": "user", "content": "one two three four five six seven eight nine ten"}],
                              {"temperature": 0.1, "max_tokens": 50}, Call(on_delta=pieces.append))
    assert "one two three four five six seven eight nine ten" in reply.content
    assert reply.finish_reason == "stop" and reply.usage["total_tokens"] > 0
    assert reply.streamed is stream
    if stream:
        assert len(pieces) >= 2 and "".join(pieces) == reply.content
    assert "llama:mock-echo" in provider.models() or provider.models()  # it lists its own catalogue


def test_one_shot_against_an_independent_server(cli_env, independent, isolated_home):
    path = isolated_home / ".config" / "segchat" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'[profiles.mock]\nprovider = "openai"\nbase_url = "{independent}"\n'
                    f'model = "{echo_model("llama")}"\n')
    env = {k: v for k, v in cli_env.items() if k != "SEGCHAT_BASE_URL"}
    result = segchat("--profile", "mock", "hello independent world", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{STREAM_ECHO_PREFIX}hello independent world\n".encode()
    bad = segchat("--profile", "mock", "-m", "llama:mock-401", "q", env=env)
    assert bad.returncode == 1 and f"{independent}".encode() in bad.stderr and b"SEGMIND" not in bad.stderr


def test_a_reader_that_leaves_a_stream_early_costs_no_reply(local_env, fake):
    fake.script({"chunks": [f"word{n} " for n in range(400)], "chunk_delay": 0.002})
    shell = subprocess.run(["/bin/sh", "-c", f'"{segchat_command()}" --session gone q | head -c 10'],
                           env=local_env, capture_output=True, timeout=30, preexec_fn=default_signals)
    assert shell.stdout == b"word0 word" and b"Traceback" not in shell.stderr
    shown = subprocess.run([segchat_command(), "--show", "gone"], env=local_env, capture_output=True).stdout
    assert b"word399" in shown and b"not sent" not in shown  # the whole reply was saved
