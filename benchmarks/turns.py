"""A REPL turn at a full context, the idle REPL's peak memory and a one-shot: each a ratio against a baseline.

Run through run.py: python benchmarks/run.py --only turn,rss,oneshot   (needs the test extras: pexpect)

Like run.py (whose helpers these reuse), each figure alternates the measured thing with its baseline in the same
run and compares medians; everything talks to the loopback fake server, in a throwaway HOME and XDG_* dirs.
The bench_* functions take (runs, env, results) as run.py's measures do; run.py holds their targets.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from itertools import count
from pathlib import Path

import pexpect
from run import MARKER, TARGETS, alternate, report, segchat, spawn, timed

WINDOW = 131_072  # segchat's default context_window: 128K
FULL, FULL_MESSAGES, SMALL_MESSAGES = 127_000, 400, 10  # ~97%: past the 90% warning, room left for the turn
MODEL = "llama-v3p1-8b-instruct"
WORDS = ("context window token reply model session prompt store terminal answer question render stream budget "
         "latency request balance credits history summary").split()
LIBRARIES = ("import prompt_toolkit, rich, httpx, time, sys; sys.stdout.write('ready\\n'); sys.stdout.flush(); "
             "time.sleep(60)")
# The least a one-shot must do: the same POST with the same headers and body, the reply's text printed.
PLAIN_HTTPX = """
import json, os, sys, httpx
url = os.environ["SEGCHAT_BASE_URL"] + "/llama-v3p1-8b-instruct"
headers = {"x-api-key": os.environ["SEGMIND_API_KEY"], "content-type": "application/json"}
body = json.dumps({"messages": [{"role": "user", "content": sys.argv[1]}]})
answer = httpx.post(url, headers=headers, content=body)
answer.raise_for_status()
sys.stdout.write(answer.json()["choices"][0]["message"]["content"] + "\\n")
"""
QUESTION = "what is a context window?"
_unique = count()


def conversation(messages: int, tokens: int, rng: random.Random) -> list:
    """Alternating user/assistant messages whose estimate (len // 4 + 4 each, as segchat counts) totals tokens."""
    from segchat.model.conversation import Message

    chars = (tokens // messages - 4) * 4
    out = []
    for n in range(messages):
        text = f"message {n}: "
        while len(text) < chars:
            text += rng.choice(WORDS) + (".\n\n" if rng.random() < 0.05 else " ")
        out.append(Message("user" if n % 2 == 0 else "assistant", text[:chars], time.time(), {}))
    return out


def make_sessions(env: dict, prefix: str, messages: list, how_many: int) -> list[str]:
    """how_many stored sessions holding messages: every sample resumes an untouched one (a turn adds to it)."""
    from segchat.store import Store

    store = Store(Path(env["XDG_DATA_HOME"]) / "segchat" / "sessions.db")
    names = []
    try:
        for _ in range(how_many):
            info = store.create(f"{prefix}-{next(_unique)}", model=MODEL)
            store.add_exchange(info.id, messages)
            names.append(info.name)
    finally:
        store.close()
    return names


class Screen:
    """What a child draws, read as a terminal would: the cursor-position request is answered."""

    def __init__(self, child: pexpect.spawn) -> None:
        self.child, self.seen = child, b""

    def _read(self, timeout: float) -> None:
        chunk = self.child.read_nonblocking(65536, timeout=timeout)
        if b"\x1b[6n" in chunk:
            self.child.send(b"\x1b[1;1R")
        self.seen = (self.seen + chunk)[-16384:]  # enough for any marker split across reads

    def wait_for(self, marker: bytes, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while marker not in self.seen:
            self._read(max(deadline - time.monotonic(), 0.01))

    def settle(self, quiet: float = 0.3) -> None:
        """Read until nothing has come for quiet seconds: start-up work (balance, toolbar) is done."""
        while True:
            try:
                self._read(quiet)
            except pexpect.TIMEOUT:
                return

    def turn(self, text: str) -> float:
        """Seconds from sending text until the fake server's echo of it is on screen."""
        self.seen = b""
        started = time.perf_counter()
        self.child.send(text.encode() + b"\r")
        self.wait_for(f"echo: {text}".encode())
        return time.perf_counter() - started


def repl(argv: list[str], env: dict) -> tuple[pexpect.spawn, Screen]:
    """A REPL on a pty, its prompt up and its start-up work finished."""
    child = spawn(argv, env)
    screen = Screen(child)
    screen.wait_for(MARKER)
    screen.settle()
    return child, screen


def peak_rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def report_mb(name: str, ours_kb: float, base_kb: float, base_name: str, results: list) -> None:
    """report()'s layout in MB: report() itself prints seconds as ms."""
    ratio, target = ours_kb / base_kb, TARGETS[name]
    verdict = "  ok" if ratio <= target else f"  OVER the {target}x target"
    print(f"{name:26} {ours_kb / 1024:8.1f} MB vs {base_name:30} {base_kb / 1024:8.1f} MB   ratio {ratio:5.2f}"
          f" (target <= {target}){verdict}", flush=True)
    results.append(ratio <= target)


# -- measures -----------------------------------------------------------------------------------------


def bench_turn_at_context(runs: int, env: dict, results: list) -> None:
    """One turn as the user sees it, send to reply on screen, in a resumed session at ~97% of 128K vs 10 messages."""
    rng = random.Random(7)
    big = make_sessions(env, "full128k", conversation(FULL_MESSAGES, FULL, rng), runs + 1)
    small = make_sessions(env, "ten", conversation(SMALL_MESSAGES, 1_000, rng), runs + 1)

    def one_turn(names: list[str]) -> float:
        child, screen = repl([segchat(), "--session", names.pop()], env)  # start-up is not timed
        try:
            return screen.turn(f"say w{next(_unique)}x")
        finally:
            child.terminate(force=True)

    ours, base = alternate(lambda: one_turn(big), lambda: one_turn(small), runs)
    report("turn at 128K context", ours, base, f"a turn at {SMALL_MESSAGES} messages", results)


def bench_idle_rss(runs: int, env: dict, results: list) -> None:
    """Peak RSS of a REPL idle at its prompt after one turn vs an interpreter that imported its three libraries."""

    def segchat_peak() -> int:
        child, screen = repl([segchat()], env)
        try:
            screen.turn(f"hello r{next(_unique)}x")
            screen.settle()  # the cost line, the next prompt: idle now
            return peak_rss_kb(child.pid)
        finally:
            child.terminate(force=True)

    def libraries_peak() -> int:
        with subprocess.Popen([sys.executable, "-c", LIBRARIES], env=env, stdout=subprocess.PIPE) as child:
            try:
                if child.stdout.readline() != b"ready\n":
                    raise RuntimeError("the libraries' baseline did not start")
                return peak_rss_kb(child.pid)
            finally:
                child.kill()

    ours, base = alternate(segchat_peak, libraries_peak, min(runs, 5))  # memory hardly varies: few samples do
    report_mb("idle REPL peak RSS", ours, base, "prompt_toolkit, rich, httpx", results)


def bench_oneshot(runs: int, env: dict, results: list) -> None:
    """`segchat QUESTION` to a pipe vs a plain httpx script making the same request; both print the reply."""
    ours_argv, base_argv = [segchat(), QUESTION], [sys.executable, "-c", PLAIN_HTTPX, QUESTION]
    for argv in (ours_argv, base_argv):  # both must really get the answer, or the ratio means nothing
        out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout
        if out.strip() != f"echo: {QUESTION}":
            raise RuntimeError(f"{argv[0]} printed {out!r}")
    ours, base = alternate(lambda: timed(ours_argv, env), lambda: timed(base_argv, env), runs)
    report("one-shot", ours, base, "the same POST in plain httpx", results)


MEASURES = {"turn": bench_turn_at_context, "rss": bench_idle_rss, "oneshot": bench_oneshot}
