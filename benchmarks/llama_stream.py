"""A streamed one-shot against a real llama.cpp server: segchat's CPU and time to first byte against a plain httpx
script streaming the same reply.

Run: python benchmarks/llama_stream.py [--runs N]
Needs the real server, built once: python tests/support/llama_server.py (the benchmark says so and exits if not).

Both sides ask the server for the same 200-token reply (temperature 0: llama.cpp then samples greedily, so the
reply does not depend on a seed; the script also sends a fixed one, segchat has no such setting) and write it to a
pipe as it arrives. Measured per run: the child's user + system CPU (os.wait4), and the seconds from starting it
to the first byte on its stdout. As in run.py, the two alternate (a, b, a, b, ...) and medians are compared.
Targets: segchat's CPU at most 3x the script's; its first byte at most 50 ms after the script's.
Exit status 1 when over a target.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from run import segchat  # noqa: E402
from support import llama_server  # noqa: E402
from support.homes import config_dir, home_variables  # noqa: E402

CPU_TARGET = 3.0  # times the script's CPU
FIRST_BYTE_TARGET = 0.050  # seconds after the script's first byte
MAX_TOKENS = 200
PROMPT = "Write a long story about a lighthouse keeper and a storm, in many paragraphs."
# The least a streaming client must do: POST, read the events, write each piece of text as it comes.
PLAIN_HTTPX = """
import json, sys, httpx
base_url, prompt, max_tokens = sys.argv[1], sys.argv[2], int(sys.argv[3])
body = {"model": "smollm2", "messages": [{"role": "user", "content": prompt}], "stream": True,
        "stream_options": {"include_usage": True}, "temperature": 0, "max_tokens": max_tokens, "seed": 42}
usage = None
with httpx.stream("POST", base_url + "/chat/completions", json=body, timeout=120) as answer:
    answer.raise_for_status()
    for line in answer.iter_lines():
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        event = json.loads(line[6:])
        usage = event.get("usage") or usage
        for choice in event.get("choices") or ():
            piece = (choice.get("delta") or {}).get("content")
            if piece:
                sys.stdout.write(piece)
                sys.stdout.flush()
sys.stdout.write("\\n")
sys.stderr.write(json.dumps(usage))
"""


def home_env(root: Path, base_url: str) -> dict:
    """A throwaway HOME and XDG_* dirs whose config's default profile is the llama-server."""
    env = dict(os.environ, **home_variables(root), LANG="C.UTF-8")
    for var in [v for v in env if v.startswith("SEGCHAT_")] + ["SEGMIND_API_KEY", "NO_COLOR", "PAGER"]:
        env.pop(var, None)
    config = config_dir(env) / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'profile = "llama"\n\n[profiles.llama]\nprovider = "openai"\nbase_url = "{base_url}"\n'
                      f'model = "{llama_server.ALIAS}"\n')
    return env


def run_once(argv: list[str], env: dict) -> tuple[float, float, bytes, bytes]:
    """(CPU seconds, seconds to the first byte on stdout, stdout, stderr) of one run of argv to pipes."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    first, out = None, b""
    while chunk := os.read(child.stdout.fileno(), 65536):
        if first is None:
            first = time.perf_counter() - started
        out += chunk
    err = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    child.stdout.close()
    child.stderr.close()
    if child.returncode != 0 or first is None:
        raise RuntimeError(f"{argv[0]} ended with {child.returncode}: {err.decode(errors='replace')[-2000:]}")
    return usage.ru_utime + usage.ru_stime, first, out, err


def tokens_of_session(env: dict, name: str) -> int:
    """The completion tokens the server reported for the session's reply."""
    exported = subprocess.run([segchat(), "--export", name, "--format", "json"], env=env, capture_output=True,
                              check=True).stdout
    return json.loads(exported)["messages"][-1]["meta"]["usage"]["completion_tokens"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    if not llama_server.provisioned():
        print(f"no llama-server and model in {llama_server.cache_dir()}: run "
              "`python tests/support/llama_server.py` once to build them", file=sys.stderr)
        return 2
    server = llama_server.LlamaServer(threads=1).wait_ready()
    home = Path(tempfile.mkdtemp(prefix="segchat-bench-llama-"))
    try:
        env = home_env(home, server.base_url)
        flags = ["--temperature", "0", "--max-tokens", str(MAX_TOKENS)]
        ours = [segchat(), *flags, PROMPT]
        base = [sys.executable, "-c", PLAIN_HTTPX, server.base_url, PROMPT, str(MAX_TOKENS)]
        # Both must get the same reply, or the ratios mean nothing: compare the token counts the server reported.
        _, _, our_text, _ = run_once([segchat(), "--session", "check", *flags, PROMPT], env)
        _, _, base_text, base_usage = run_once(base, env)
        our_tokens, base_tokens = tokens_of_session(env, "check"), json.loads(base_usage)["completion_tokens"]
        print(f"segchat: {segchat()}  python: {sys.version.split()[0]}  runs: {options.runs}\n"
              f"server: llama-server, {llama_server.ALIAS}, one thread; reply: {our_tokens} tokens (segchat), "
              f"{base_tokens} (script); same text: {our_text.strip() == base_text.strip()}\n", flush=True)
        if abs(our_tokens - base_tokens) > MAX_TOKENS // 20 or base_tokens < MAX_TOKENS // 2:
            raise SystemExit(f"the replies differ too much to compare: {our_tokens} and {base_tokens} tokens")
        samples: dict[str, list[tuple[float, float]]] = {"segchat": [], "script": []}
        for _ in range(options.runs):
            samples["segchat"].append(run_once(ours, env)[:2])
            samples["script"].append(run_once(base, env)[:2])
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)
    cpu = {side: statistics.median(s[0] for s in runs) for side, runs in samples.items()}
    first = {side: statistics.median(s[1] for s in runs) for side, runs in samples.items()}
    ratio, late = cpu["segchat"] / cpu["script"], first["segchat"] - first["script"]
    cpu_ok, first_ok = ratio <= CPU_TARGET, late <= FIRST_BYTE_TARGET
    print(f"{'client CPU':16} {cpu['segchat'] * 1000:8.1f} ms vs plain httpx script {cpu['script'] * 1000:8.1f} ms"
          f"   ratio {ratio:5.2f} (target <= {CPU_TARGET}){'  ok' if cpu_ok else '  OVER the target'}")
    print(f"{'first byte':16} {first['segchat'] * 1000:8.1f} ms vs plain httpx script "
          f"{first['script'] * 1000:8.1f} ms   later by {late * 1000:5.1f} ms (target <= "
          f"{FIRST_BYTE_TARGET * 1000:.0f} ms){'  ok' if first_ok else '  OVER the target'}")
    print(json.dumps({"all within target": cpu_ok and first_ok}))
    return 0 if cpu_ok and first_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
