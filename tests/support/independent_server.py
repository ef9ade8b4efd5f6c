"""Start an independently written OpenAI-compatible server on loopback, for cross-checking our client.

The server is the PyPI package ``mock-ai-api`` (pin it in the ``[test]`` extras), run as a
subprocess with ``sys.executable -m uvicorn app.openai_app:app``. It needs no model weights and
no network, keeps its state in memory and writes no files. What it serves under ``/v1``:

* ``POST /v1/chat/completions``: a ``chat.completion`` JSON, or with ``"stream": true`` a
  ``text/event-stream`` of ``chat.completion.chunk`` events (a role chunk, content chunks of up
  to 8 words each, a final chunk with ``finish_reason: "stop"`` and ``usage``, then
  ``data: [DONE]``), 40 ms apart.
* ``GET /v1/models`` (an OpenAI ``list``) and ``GET /v1/models/{id}``; ``GET /health`` (outside /v1).

The reply is chosen by the ``model`` field of the request:

* a plain model name (e.g. ``"llama-v3p1-8b-instruct"``): always ``"Hello. It's nice to meet you."``
* a name with a ``:mock-<anything>`` suffix not listed below, e.g. ``echo_model("m")`` =
  ``"m:mock-echo"``: an echo of every message's text (system included) joined with newlines,
  prefixed ``"Mock response for: "`` (non-streamed) or ``"Mock stream for: "`` (streamed; the
  stream also re-joins words with single spaces, so newlines and runs of spaces are lost).
  The ``model`` field of the answer is the name without the suffix.
* ``:mock-400``, ``:mock-401``, ``:mock-429``, ``:mock-500``, ``:mock-503``: that HTTP status with
  an OpenAI ``{"error": {...}}`` body; ``:mock-delay``: a slower stream; ``:mock-tool-call`` /
  ``:mock-tool-stream`` / ``:mock-bad-tool-json``: tool calls.

It does not check ``Authorization`` at all, and it accepts the usual extra fields
(``temperature``, ``max_tokens``, ``top_p``, ``stop``, ``n``, ``stream_options``, unknown keys).
A body that is not JSON, or lacks ``model`` or ``messages``, gets 400 ``invalid_request_error``.

Usage::

    base_url, stop = start_independent_server()
    try:
        httpx.post(f"{base_url}/chat/completions", json={...})
    finally:
        stop()

or ``with independent_server() as base_url: ...``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator

DISTRIBUTION = "mock-ai-api"
ECHO_SUFFIX = ":mock-echo"
FIXED_REPLY = "Hello. It's nice to meet you."
ECHO_PREFIX = "Mock response for: "
STREAM_ECHO_PREFIX = "Mock stream for: "

_APP = "app.openai_app:app"  # mock-ai-api installs the top-level packages ``app`` and ``server``


class IndependentServerError(RuntimeError):
    """The independent server is not installed, or did not come up."""


def echo_model(name: str = "independent") -> str:
    """A model name that makes the server echo the prompt instead of its fixed greeting."""
    return name + ECHO_SUFFIX


def is_available() -> bool:
    """True when mock-ai-api is importable by ``sys.executable``."""
    try:
        return importlib.util.find_spec("app.openai_app") is not None
    except ModuleNotFoundError:
        return False


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _child_defaults() -> None:
    # The test runner (or a pexpect/pty parent) may ignore or catch these; the server must not inherit that.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def _health(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:  # loopback only
            return json.loads(r.read())
    except (OSError, urllib.error.URLError, ValueError):
        return None


def _terminate(proc: subprocess.Popen, grace: float = 5.0) -> None:
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
        try:
            os.killpg(proc.pid, sig)  # its own session: pgid == pid, nothing else is in it
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _start_once(port: int, workdir: str, timeout: float) -> tuple[subprocess.Popen, str] | str:
    """Start on ``port``; return (process, log path), or the log text when it exited early."""
    env = dict(os.environ)
    env["HOME"] = workdir  # it writes nothing, but keep it away from the real home regardless
    env.pop("PYTHONPATH", None)  # ``app`` must resolve to the installed package, not a tests dir
    env["PYTHONUNBUFFERED"] = "1"
    log_path = os.path.join(workdir, f"server-{port}.log")
    cmd = [
        sys.executable, "-m", "uvicorn", _APP,
        "--host", "127.0.0.1", "--port", str(port),
        "--loop", "asyncio", "--http", "h11",
        "--log-level", "warning", "--no-access-log",
        "--timeout-graceful-shutdown", "2",
    ]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=workdir,  # an empty dir: nothing there can shadow ``app``
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_child_defaults,  # only resets signal dispositions
        )
    health = f"http://127.0.0.1:{port}/health"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            with open(log_path, errors="replace") as f:
                return f.read()
        answer = _health(health)
        if answer is not None:
            if answer.get("provider") != "openai":
                _terminate(proc)
                raise IndependentServerError(f"port {port} answered as something else: {answer!r}")
            return proc, log_path
        time.sleep(0.05)
    _terminate(proc)
    with open(log_path, errors="replace") as f:
        raise IndependentServerError(f"{DISTRIBUTION} did not answer within {timeout:g}s:\n{f.read()}")


def start_independent_server(timeout: float = 30.0) -> tuple[str, Callable[[], None]]:
    """Launch mock-ai-api on a free 127.0.0.1 port; return (``http://127.0.0.1:PORT/v1``, stop).

    ``stop()`` is idempotent: SIGTERM to the server's own process group, SIGKILL after 5 s,
    then the temporary HOME/working directory is removed.
    """
    if not is_available():
        raise IndependentServerError(
            f"{DISTRIBUTION} is not installed for {sys.executable}; install the [test] extras"
        )
    workdir = tempfile.mkdtemp(prefix="independent-server-")
    failures: list[str] = []
    try:
        for _ in range(3):  # the port is picked free but could be taken before uvicorn binds it
            port = _free_port()
            started = _start_once(port, workdir, timeout)
            if isinstance(started, str):
                failures.append(started)
                continue
            proc, _log = started
            break
        else:
            raise IndependentServerError(f"{DISTRIBUTION} exited at start-up:\n" + "\n---\n".join(failures))
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise

    stopped = False

    def stop() -> None:
        nonlocal stopped
        if stopped:
            return
        stopped = True
        try:
            _terminate(proc)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    return f"http://127.0.0.1:{port}/v1", stop


@contextlib.contextmanager
def independent_server(timeout: float = 30.0) -> Iterator[str]:
    """Context-manager form of start_independent_server(); yields the ``.../v1`` base URL."""
    base_url, stop = start_independent_server(timeout)
    try:
        yield base_url
    finally:
        stop()
