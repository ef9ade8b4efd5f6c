"""CPU cost of streaming a ~100 KB Markdown reply in ~2,000 pieces against rendering it whole once.

Run: python benchmarks/stream.py [--runs N]
Exit status 1 if streaming costs more than TARGET times the whole render.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console  # noqa: E402
from rich.markdown import Markdown  # noqa: E402
from run import segchat  # noqa: E402  (run puts tests/ on the path, for support)
from support.homes import home_variables  # noqa: E402

from segchat.text.sanitize import sanitize  # noqa: E402
from segchat.ui.markdown_stream import MarkdownStream  # noqa: E402

TARGET = 2.0
PIECES = 2000
WORDS = ("stream render block terminal markdown parser token console segment width line cursor "
         "preview commit reply model chunk delta table quote fence heading list item").split()


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def reply(size: int = 100_000, seed: int = 1) -> str:
    """A model-like reply: a mix of every block kind rich renders."""
    rng = random.Random(seed)
    parts: list[str] = []
    section = 0
    while sum(map(len, parts)) < size:
        section += 1
        parts.append(f"## Section {section}: {words(rng, 3)}\n")
        parts.append(f"{words(rng, 40)} with *emphasis*, **strong**, `inline code` and a "
                     f"[link](https://example.com/{section}).\n{words(rng, 30)}\n")
        parts.append("".join(f"- {words(rng, 8)}\n" for _ in range(rng.randint(2, 6))))
        parts.append("".join(f"{i}. {words(rng, 6)}\n\n   {words(rng, 12)}\n\n" for i in range(1, 4)))
        lang = rng.choice(["python", "javascript", "rust", "bash", "json"])
        body = "\n".join(f"    value_{i} = compute({i}, '{words(rng, 2)}')  # {words(rng, 3)}"
                         for i in range(rng.randint(5, 30)))
        parts.append(f"```{lang}\ndef section_{section}():\n{body}\n    return value_0\n```\n")
        parts.append("| name | kind | value |\n|------|:----:|------:|\n"
                     + "".join(f"| {words(rng, 2)} | {words(rng, 1)} | {rng.randint(1, 9999)} |\n"
                               for _ in range(rng.randint(2, 8))))
        parts.append(f"> {words(rng, 20)}\n> {words(rng, 15)}\n")
        if section % 3 == 0:
            parts.append("### Details\n\n---\n")
    return "\n".join(parts)


def pieces(text: str, count: int, seed: int = 2) -> list[str]:
    """Random cut points, so pieces split words, lines and fences as network deltas do."""
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(text)), count - 1))
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


def console() -> Console:
    return Console(file=io.StringIO(), force_terminal=True, width=100, height=30,
                   highlight=False, markup=False, emoji=False)


def cpu(run) -> float:
    started = time.process_time()
    run()
    return time.process_time() - started


def stream(parts: list[str], seconds_per_piece: float | None) -> Console:
    """Stream parts; with seconds_per_piece, a clock that advances as if deltas arrived at that pace."""
    now = [0.0]
    target = console()
    stream = MarkdownStream(target, clock=time.monotonic if seconds_per_piece is None else (lambda: now[0]))
    for part in parts:
        now[0] += seconds_per_piece or 0.0
        stream.feed(part)
    stream.finish()
    return target


def one_shot_cpu(base_url: str, home: str, stream_it: bool) -> float:
    """CPU seconds of `segchat "q"` on a pseudo-terminal, the reply streamed or whole."""
    import os
    import resource

    import pexpect

    env = {**os.environ, **home_variables(Path(home)), "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    args = ["--profile", "local", "--base-url", base_url, "q"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = pexpect.spawn(segchat(), args if stream_it else ["--profile", "whole", "--base-url", base_url, "q"],
                          env=env, dimensions=(30, 100))
    child.delaybeforesend = None
    child.expect(pexpect.EOF, timeout=120)
    child.close()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def end_to_end(text: str, parts: list[str], runs: int) -> float:
    """The one-shot ratio: a streamed reply in a real terminal against the same reply whole."""
    import tempfile

    from support.fakeserver import FakeSegmind

    fake = FakeSegmind().start()
    with tempfile.TemporaryDirectory() as home:
        config = Path(home, ".config", "segchat", "config.toml")
        config.parent.mkdir(parents=True)
        config.write_text('[profiles.local]\nprovider = "openai"\nmodel = "m"\n\n'
                          '[profiles.whole]\nprovider = "openai"\nmodel = "m"\nstream = false\n')
        streamed, whole = [], []
        try:
            for _ in range(runs + 1):  # the first pair warms the file cache
                fake.script({"chunks": parts, "chunk_delay": 0.001})
                streamed.append(one_shot_cpu(fake.base_url, home, True))
                fake.script({"content": text})
                whole.append(one_shot_cpu(fake.base_url, home, False))
        finally:
            fake.stop()
    s, w = statistics.median(streamed[1:]), statistics.median(whole[1:])
    print(f"  one-shot on a terminal, end to end          streamed {s * 1000:7.1f} ms CPU  whole {w * 1000:7.1f} ms CPU"
          f"  {s / w:5.2f}x  (target <= {TARGET:.1f}x)")
    return s / w


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    text = reply()
    parts = pieces(text, PIECES)

    def whole() -> None:
        console().print(Markdown(sanitize(text), code_theme="monokai", hyperlinks=False))

    # The target holds for every pace: as fast as it comes (the real clock), and trickling in, where
    # each redraw re-renders the unfinished tail and only the CPU budget keeps the total bounded.
    scenarios = {"as fast as it comes (real clock)": None,
                 "paced 25 ms a piece (a 50 s reply)": 0.025,
                 "paced 80 ms a piece (a 160 s reply, a redraw per piece)": 0.08}
    whole(), stream(parts, None)  # warm imports and caches
    print(f"reply: {len(text):,} characters in {len(parts):,} pieces; median CPU of {args.runs} alternating runs")
    ratio = 0.0
    for label, pace in scenarios.items():
        frames = stream(parts, pace).file.getvalue().count("\x1b[?25l")  # each preview hides the cursor
        base, cost = [], []
        for _ in range(args.runs):
            base.append(cpu(whole))
            cost.append(cpu(lambda pace=pace: stream(parts, pace)))
        b, c = statistics.median(base), statistics.median(cost)
        line = f"  {label:56} {frames:5} previews  whole {b * 1000:6.1f} ms  streamed {c * 1000:7.1f} ms  {c / b:5.2f}x"
        ratio = max(ratio, c / b)
        if pace is not None:
            line += f"  ({(c - b) / (pace * len(parts)) * 100:.1f}% of one core while streaming)"
        print(line)
    ratio = max(ratio, end_to_end(text, parts, max(3, args.runs // 2)))
    verdict = "PASS" if ratio <= TARGET else "FAIL"
    print(f"{verdict}: streaming costs at most {ratio:.2f}x the whole render (target <= {TARGET:.1f}x)")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
