"""Crash safety under SIGKILL and two processes writing one session."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import threading
import time

from support.cli import default_signals
from support.screen import segchat_command

from segchat.config.paths import store_path


def turns(session: str) -> list[tuple[str, str]]:
    db = sqlite3.connect(store_path())
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    rows = db.execute("SELECT m.role, m.content FROM messages m JOIN sessions s ON s.id = m.session_id "
                      "WHERE s.name = ? ORDER BY m.id", (session,)).fetchall()
    db.close()
    return rows


def assert_whole_pairs(rows: list[tuple[str, str]]) -> None:
    """Every user message is followed by its own reply: no half turns, no interleaving."""
    assert len(rows) % 2 == 0
    for (role_q, question), (role_a, answer) in zip(rows[::2], rows[1::2], strict=True):
        assert (role_q, role_a) == ("user", "assistant") and answer == f"echo: {question}"


def test_sigkill_at_many_moments_loses_no_completed_turn(cli_env, fake):
    rng = random.Random(1234)
    subprocess.run([segchat_command(), "--session", "crash", "warm up"], env=cli_env, check=True,
                   capture_output=True, start_new_session=True, preexec_fn=default_signals)
    completed, killed = ["warm up"], 0
    for n in range(40):
        text = f"turn {n}"
        proc = subprocess.Popen([segchat_command(), "--session", "crash", text], env=cli_env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True, preexec_fn=default_signals)
        time.sleep(rng.uniform(0.05, 0.6))
        proc.kill()
        out, _ = proc.communicate()
        if proc.returncode == 0 and out.strip() == f"echo: {text}".encode():
            completed.append(text)
        else:
            killed += 1
    rows = turns("crash")
    assert_whole_pairs(rows)
    stored = [content for role, content in rows if role == "user"]
    for text in completed:
        assert text in stored, text
    assert killed >= 5 and len(completed) >= 5, (killed, len(completed))  # both outcomes were exercised
    check = subprocess.run([segchat_command(), "--session", "crash", "after"], env=cli_env, capture_output=True,
                           start_new_session=True, preexec_fn=default_signals)
    assert check.returncode == 0 and check.stdout == b"echo: after\n"


def test_two_processes_append_to_one_session(cli_env, fake):
    subprocess.run([segchat_command(), "--session", "shared", "start"], env=cli_env, check=True,
                   capture_output=True, start_new_session=True, preexec_fn=default_signals)
    failures: list[bytes] = []

    def writer(name: str) -> None:
        for n in range(8):
            result = subprocess.run([segchat_command(), "--session", "shared", f"{name} {n}"], env=cli_env,
                                    capture_output=True, start_new_session=True, preexec_fn=default_signals)
            if result.returncode != 0:
                failures.append(result.stderr)

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    rows = turns("shared")
    assert_whole_pairs(rows)
    assert sorted(c for r, c in rows if r == "user") == sorted(["start"] + [f"{x} {n}" for x in "ab" for n in range(8)])
