"""Start-up, session and save-cost benchmarks: each prints a ratio against a baseline measured in the same run.

Run: python benchmarks/run.py [--runs N] [--only NAME,...]   (needs the test extras: pexpect)
Every ratio of the performance targets, including turns.py's (a turn at a full context, idle memory, one-shot).

Every ratio times the measured thing and its baseline alternately (a, b, a, b, ...) and compares medians, so
machine noise hits both alike. Children in a pseudo-terminal set delaybeforesend = None (pexpect's 50 ms pause
before each send would otherwise be part of both sides). Measure an installed (not editable) segchat:
  python3 -m venv /tmp/v && /tmp/v/bin/pip install '.[test]' && /tmp/v/bin/python benchmarks/run.py
Exit status 1 when a ratio is over its target.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pexpect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.fakeserver import FakeSegmind  # noqa: E402
from support.homes import data_dir, home_variables  # noqa: E402

BARE_PROMPT = """
from prompt_toolkit import PromptSession
PromptSession(bottom_toolbar=lambda: " bare-toolbar ").prompt("> ")
"""
# "Reading and printing its text once": the baseline of --show, the stored text straight out of the database.
READ_AND_PRINT = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT m.content FROM messages m JOIN sessions s ON s.id = m.session_id "
                  "WHERE s.name = ? ORDER BY m.id", (sys.argv[2],))
sys.stdout.write("\\n\\n".join(r[0] for r in rows) + "\\n")
"""
TARGETS = {  # the bounds a user would notice past
    "start-up": 1.2,
    "--version": 2.0,
    "--help": 3.0,
    "--list on a terminal": 1.5,
    "--list piped": 8.0,
    "--search common word": 1.5,
    "--show 10,000 messages": 2.0,
    "/history 10,000 messages": 1.2,
    "resume 10,000 messages": 1.3,
    "turn at 128K context": 1.3,
    "idle REPL peak RSS": 1.3,
    "one-shot": 1.2,
}
MARKER = b"llama-v3p1-8b-instruct"  # in the toolbar: the prompt is up
SESSIONS, MESSAGES_EACH = 2_000, 15  # 30,000 messages, each holding COMMON; one also holds RARE
BIG = 10_000
COMMON, RARE = "meanwhile", "zyzzyva"
TOPICS = ("plan a trip to Lisbon", "why is my Rust build slow?", "explain monads simply", "résumé wording",
          "日本語のメールを書いて", "SQL: window functions", "fix this bash loop", "a recipe with leeks 🥬",
          "regex for ISO dates", "compare two laptops", "kubectl rollout stuck", "birthday poem for Ana")


def segchat() -> str:
    """The console script of the interpreter running this (the venv being measured), else the one on PATH."""
    beside = Path(sys.executable).with_name("segchat")
    return str(beside) if beside.exists() else (shutil.which("segchat") or "segchat")


def spawn(argv: list[str], env: dict) -> pexpect.spawn:
    child = pexpect.spawn(argv[0], argv[1:], env=env, dimensions=(30, 120))
    child.delaybeforesend = None  # pexpect's default 50 ms before each send would add to both sides
    return child


def time_to_screen(argv: list[str], marker: bytes, env: dict) -> float:
    """Seconds from spawn until marker is drawn; answers the cursor-position request like a terminal."""
    started = time.perf_counter()
    child = spawn(argv, env)
    seen = b""
    try:
        while marker not in seen:
            chunk = child.read_nonblocking(65536, timeout=20)
            if b"\x1b[6n" in chunk:
                child.send(b"\x1b[1;1R")
            seen += chunk[-4096:] if len(seen) > 65536 else chunk
        return time.perf_counter() - started
    finally:
        child.terminate(force=True)


def on_terminal(argv: list[str], env: dict) -> float:
    """Seconds from spawn until the program has written everything to its terminal and ended."""
    started = time.perf_counter()
    child = spawn(argv, env)
    try:
        while True:
            try:
                child.read_nonblocking(65536, timeout=20)
            except pexpect.EOF:
                break
        elapsed = time.perf_counter() - started
        child.wait()
        if child.exitstatus != 0:
            raise RuntimeError(f"{argv} ended with {child.exitstatus}")
        return elapsed
    finally:
        child.close(force=True)


def timed(argv: list[str], env: dict) -> float:
    """Seconds to run argv with its output read through a pipe (as `... | less` would)."""
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def alternate(a, b, runs: int) -> tuple[float, float]:
    """Median seconds of a and b, run alternately so machine noise hits both alike."""
    a(), b()  # warm the file cache
    times_a, times_b = [], []
    for _ in range(runs):
        times_a.append(a())
        times_b.append(b())
    return statistics.median(times_a), statistics.median(times_b)


def report(name: str, ours: float, base: float, base_name: str, results: list) -> None:
    ratio = ours / base
    target = TARGETS.get(name)
    verdict = "" if target is None else ("  ok" if ratio <= target else f"  OVER the {target}x target")
    print(f"{name:26} {ours * 1000:8.1f} ms vs {base_name:30} {base * 1000:8.1f} ms   ratio {ratio:5.2f}"
          f"{f' (target <= {target})' if target else ''}{verdict}", flush=True)
    results.append(target is None or ratio <= target)


# -- data ---------------------------------------------------------------------------------------------


def _reply_meta(rng: random.Random, n: int) -> dict:
    prompt = rng.randint(50, 120_000)
    completion = rng.randint(20, 900)
    return {"elapsed": round(rng.uniform(0.4, 9.0), 3), "model": "llama-v3p1-8b-instruct",
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
            "cost": f"0.{rng.randint(1, 99999):05d}"}


def fill_sessions(store, rng: random.Random) -> None:
    """SESSIONS sessions of MESSAGES_EACH messages, with the figures, profiles and titles a user's store has."""
    from decimal import Decimal

    from segchat.model.conversation import Message

    rare_at = rng.randrange(SESSIONS)
    for s in range(SESSIONS):
        topic = rng.choice(TOPICS)
        info = store.create(f"{topic.split()[0].strip('?:').lower() or 'chat'}-{s}" if topic.isascii() else None,
                            model=rng.choice(("llama-v3p1-8b-instruct", "llama-v3p1-70b-instruct")),
                            profile=rng.choice((None, None, None, "ollama")))
        messages = []
        for n in range(MESSAGES_EACH):
            words = f"{topic} {n}: {COMMON} " + " ".join(" ".join(rng.choice(TOPICS).split()[:3]) for _ in range(6))
            if s == rare_at and n == 7:
                words += f" {RARE}"
            role = "user" if n % 2 == 0 else "assistant"
            messages.append(Message(role, words, time.time(), _reply_meta(rng, n) if role == "assistant" else {}))
        store.add_exchange(info.id, messages, spent=Decimal(rng.randint(0, 10**6)) / 10**5,
                           balance=Decimal(rng.randint(0, 10**7)) / 10**3)


def fill_big(store, rng: random.Random) -> None:
    """One session of BIG messages, a few with attached files, the last reply carrying the server's usage."""
    from segchat.model.conversation import Message

    info = store.create("big", model="llama-v3p1-8b-instruct", system="You are terse.")
    messages = []
    for n in range(BIG):
        if n % 2 == 0:
            meta = {"attachments": [{"name": f"notes-{n}.txt", "text": "a line of notes\n" * 40}]} \
                if n % 500 == 0 else {}
            messages.append(Message("user", f"question {n}: " + "some words " * rng.randint(5, 30), time.time(), meta))
        else:
            body = f"answer {n}: " + "more text here " * rng.randint(10, 40)
            if n % 10 == 1:
                body += "\n\n- a list item\n- another with `code`\n"
            messages.append(Message("assistant", body, time.time(), _reply_meta(rng, n)))
    store.add_exchange(info.id, messages)


def home_env(root: Path, fake_url: str) -> dict:
    """An isolated HOME and XDG_* dirs under root, pointed at the fake server; never the user's own files."""
    env = dict(os.environ, **home_variables(root), SEGMIND_API_KEY="bench-key-123", SEGCHAT_BASE_URL=fake_url,
               TERM="xterm-256color", LANG="C.UTF-8")
    for var in ("NO_COLOR", "COLUMNS", "LINES", "PAGER", "LESS"):
        env.pop(var, None)
    return env


def build_home(home: Path, fake_url: str) -> tuple[dict, dict]:
    """Two isolated homes: one with SESSIONS sessions, one with the BIG session; their environments."""
    from segchat.store import Store

    envs = []
    for name, fill in (("many", fill_sessions), ("big", fill_big)):
        env = home_env(home / name, fake_url)
        store = Store(Path(db_path(env)))
        store._db.execute("PRAGMA synchronous=OFF")  # only while filling; segchat itself always opens with FULL
        fill(store, random.Random(7))
        store.close()
        envs.append(env)
    return envs[0], envs[1]


def db_path(env: dict) -> str:
    return str(data_dir(env) / "sessions.db")


# -- measures -----------------------------------------------------------------------------------------


def bench_version_help(runs: int, env: dict, results: list) -> None:
    ours, base = alternate(lambda: timed([segchat(), "--version"], env),
                           lambda: timed([sys.executable, "-c", "pass"], env), runs)
    report("--version", ours, base, "python -c pass", results)
    ours, base = alternate(lambda: timed([segchat(), "--help"], env),
                           lambda: timed([segchat(), "--version"], env), runs)
    report("--help", ours, base, "--version", results)


def bench_models(runs: int, env: dict, results: list) -> None:
    """--models against what --version loads plus reading the catalogue's data file, in one process (no target:
    the figure the catalogue's issue asks to be told)."""
    from segchat.providers.segmind_catalogue import FILE

    read = [sys.executable, "-c", "import sys, tomllib, segchat.cli.main\nwith open(sys.argv[1], 'rb') as f:\n"
            "    tomllib.load(f)", FILE]
    ours, base = alternate(lambda: timed([segchat(), "--models"], env), lambda: timed(read, env), runs)
    report("--models", ours, base, "--version's modules + its data file", results)


def bench_list(runs: int, env: dict, results: list) -> None:
    ours, base = alternate(lambda: on_terminal([segchat(), "--list"], env),
                           lambda: timed([segchat(), "--list"], env), runs)
    report("--list on a terminal", ours, base, f"--list piped ({SESSIONS:,} sessions)", results)
    ours, base = alternate(lambda: timed([segchat(), "--list"], env),
                           lambda: timed([sys.executable, "-c", "pass"], env), runs)
    report("--list piped", ours, base, "python -c pass", results)


def bench_search(runs: int, env: dict, results: list) -> None:
    ours, base = alternate(lambda: timed([segchat(), "--search", COMMON], env),
                           lambda: timed([segchat(), "--search", RARE], env), runs)
    report("--search common word", ours, base, f"a word in 1 of {SESSIONS * MESSAGES_EACH:,}", results)


def bench_show(runs: int, env: dict, results: list) -> None:
    reader = [sys.executable, "-c", READ_AND_PRINT, db_path(env), "big"]
    ours, base = alternate(lambda: timed([segchat(), "--show", "big"], env), lambda: timed(reader, env), runs)
    report("--show 10,000 messages", ours, base, "read and print its text", results)


def bench_history(runs: int, env: dict, results: list) -> None:
    """In process, as the REPL runs it: /history against one rich render of the same Markdown."""
    from rich.console import Console

    from segchat.app import sessions
    from segchat.store import Store
    from segchat.tui.commands.sessions import cmd_history
    from segchat.ui.render import Renderer

    saved = {k: os.environ.get(k) for k in ("COLUMNS", "LINES", "PAGER", "NO_COLOR")}
    os.environ.update(COLUMNS="120", LINES="30", PAGER="cat")  # the pager gets the whole text, as less would
    os.environ.pop("NO_COLOR", None)
    store = Store(Path(db_path(env)))
    try:
        info = store.find("big")
        chat = SimpleNamespace(conversation=store.load(info.id), store=store, session=info)
        text = sessions.export_markdown(info, chat.conversation)
        with open(os.devnull, "w", encoding="utf-8") as devnull:
            def history() -> float:
                renderer = Renderer(out=devnull, rich_output=True)
                started = time.perf_counter()
                cmd_history(SimpleNamespace(chat=chat, renderer=renderer), "")
                return time.perf_counter() - started

            def render_once() -> float:
                renderer = Renderer(out=io.StringIO(), rich_output=True)
                console = Console(file=io.StringIO(), force_terminal=True, highlight=False, markup=False, emoji=False)
                started = time.perf_counter()
                console.print(renderer.markdown(text))
                return time.perf_counter() - started

            ours, base = alternate(history, render_once, min(runs, 3))
    finally:
        store.close()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    report("/history 10,000 messages", ours, base, "one rich render of its text", results)


def bench_resume(runs: int, env: dict, results: list) -> None:
    ours, base = alternate(lambda: time_to_screen([segchat(), "--session", "big"], MARKER, env),
                           lambda: time_to_screen([segchat()], MARKER, env), runs)
    report("resume 10,000 messages", ours, base, "fresh start", results)


def bench_startup(runs: int, env: dict, results: list) -> None:
    bare = [sys.executable, "-c", BARE_PROMPT]
    ours, base = alternate(lambda: time_to_screen([segchat()], MARKER, env),
                           lambda: time_to_screen(bare, b"bare-toolbar", env), runs)
    report("start-up", ours, base, "bare prompt with a toolbar", results)


def save_cost(home: Path) -> None:
    from segchat.model.conversation import Message
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


MEASURES = {"version": bench_version_help, "models": bench_models, "list": bench_list, "search": bench_search,
            "show": bench_show, "history": bench_history, "resume": bench_resume, "startup": bench_startup}
TURNS = ("turn", "rss", "oneshot")  # measured by turns.py, in a home of its own


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--only", default=",".join([*MEASURES, *TURNS, "save"]),
                        help=f"comma-separated, of: {', '.join([*MEASURES, *TURNS, 'save'])}")
    options = parser.parse_args()
    chosen = options.only.split(",")
    fake = FakeSegmind().start()
    home = Path(tempfile.mkdtemp(prefix="segchat-bench-"))
    results: list[bool] = []
    try:
        many, big = build_home(home, fake.base_url)
        print(f"segchat: {segchat()}  python: {sys.version.split()[0]}  runs: {options.runs}\n"
              f"data: {SESSIONS:,} sessions of {MESSAGES_EACH} messages; a session of {BIG:,} messages\n", flush=True)
        homes = {"version": many, "models": many, "list": many, "search": many, "show": big, "history": big,
                 "resume": big, "startup": big}
        for name, measure in MEASURES.items():
            if name in chosen:
                measure(options.runs, homes[name], results)
        if any(name in chosen for name in TURNS):
            import turns

            turns_env = home_env(home / "turns", fake.base_url)
            for name in TURNS:
                if name in chosen:
                    turns.MEASURES[name](options.runs, turns_env, results)
        if "save" in chosen:
            save_cost(home)
    finally:
        fake.stop()
        shutil.rmtree(home, ignore_errors=True)
    print(json.dumps({"all within target": all(results)}))
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
