"""Start-up, resume and save-cost benchmarks: each prints a ratio against a baseline measured in the same run.

Run: python benchmarks/run.py [--runs N]   (needs the test extras: pexpect)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pexpect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fakeserver import FakeSegmind  # noqa: E402

BARE_PROMPT = """
from prompt_toolkit import PromptSession
PromptSession(bottom_toolbar=lambda: " bare-toolbar ").prompt("> ")
"""
TARGETS = {"start-up": 1.5, "--version": 2.0, "resume 2,000 messages": 1.2}


def segchat() -> str:
    return shutil.which("segchat") or str(Path(sys.executable).with_name("segchat"))


def time_to_screen(argv: list[str], marker: bytes, env: dict) -> float:
    """Seconds from spawn until marker is drawn; answers the cursor-position request like a terminal."""
    started = time.perf_counter()
    child = pexpect.spawn(argv[0], argv[1:], env=env, dimensions=(30, 120))
    child.delaybeforesend = None  # pexpect's default 50 ms before each send would add to both sides
    seen = b""
    try:
        while marker not in seen:
            chunk = child.read_nonblocking(65536, timeout=20)
            if b"\x1b[6n" in chunk:
                child.send(b"\x1b[1;1R")
            seen += chunk
        return time.perf_counter() - started
    finally:
        child.terminate(force=True)


def alternate(a, b, runs: int) -> tuple[float, float]:
    """Median seconds of a and b, run alternately so machine noise hits both alike."""
    a(), b()  # warm the file cache
    times_a, times_b = [], []
    for _ in range(runs):
        times_a.append(a())
        times_b.append(b())
    return statistics.median(times_a), statistics.median(times_b)


def timed(argv: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def report(name: str, ours: float, base: float, base_name: str) -> bool:
    ratio = ours / base
    target = TARGETS.get(name)
    verdict = "" if target is None else ("  ok" if ratio <= target else f"  OVER the {target}x target")
    print(f"{name:24} {ours * 1000:8.1f} ms vs {base_name} {base * 1000:8.1f} ms   ratio {ratio:5.2f}"
          f"{f' (target <= {target})' if target else ''}{verdict}")
    return target is None or ratio <= target


def save_cost(home: Path) -> None:
    from segchat.conversation import Message
    from segchat.store import Store

    store = Store(home / "bench-save.db")
    print("\nsaving one turn (user + reply, one durable transaction), median of 40:")
    base = None
    for size in (10, 1_000, 10_000):
        info = store.create(f"s{size}")
        history = [Message(r, f"{r} message {n} " + "lorem ipsum " * 20) for n in range(size // 2)
                   for r in ("user", "assistant")]
        store.add_exchange(info.id, history)
        samples = []
        for n in range(40):
            pair = [Message("user", f"q {n} " + "words " * 30), Message("assistant", f"a {n} " + "text " * 60)]
            started = time.perf_counter()
            store.add_exchange(info.id, pair)
            samples.append(time.perf_counter() - started)
        median = statistics.median(samples)
        base = base or median
        print(f"  at {size:6,} messages: {median * 1000:7.2f} ms   ratio to 10 messages {median / base:5.2f}")
    store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    fake = FakeSegmind().start()
    home = Path(tempfile.mkdtemp(prefix="segchat-bench-"))
    env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home / "c"), XDG_DATA_HOME=str(home / "d"),
               XDG_STATE_HOME=str(home / "s"), SEGMIND_API_KEY="bench-key-123", SEGCHAT_BASE_URL=fake.base_url,
               TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    ok = True
    try:
        marker = "llama-v3p1-8b-instruct".encode()
        bare = [sys.executable, "-c", BARE_PROMPT]
        ours, base = alternate(lambda: time_to_screen([segchat()], marker, env),
                               lambda: time_to_screen(bare, b"bare-toolbar", env), runs)
        ok &= report("start-up", ours, base, "bare prompt")
        ours, base = alternate(lambda: timed([segchat(), "--version"], env),
                               lambda: timed([sys.executable, "-c", "pass"], env), runs)
        ok &= report("--version", ours, base, "python -c pass")

        from segchat.conversation import Message
        from segchat.store import Store

        store = Store(home / "d" / "segchat" / "sessions.db")
        info = store.create("big")
        store.add_exchange(info.id, [Message(r, f"{r} {n} " + "some words " * 30) for n in range(1000)
                                     for r in ("user", "assistant")])
        store.close()
        ours, base = alternate(lambda: time_to_screen([segchat(), "--session", "big"], marker, env),
                               lambda: time_to_screen([segchat()], marker, env), runs)
        ok &= report("resume 2,000 messages", ours, base, "fresh start")
        save_cost(home)
    finally:
        fake.stop()
        shutil.rmtree(home, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
