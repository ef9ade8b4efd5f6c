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

from segchat.mdstream import MarkdownStream  # noqa: E402
from segchat.render import sanitize  # noqa: E402

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    text = reply()
    parts = pieces(text, PIECES)

    def whole() -> None:
        console().print(Markdown(sanitize(text), code_theme="monokai", hyperlinks=False))

    # The target is for a stream fed as fast as it comes (the real clock); the paced runs show
    # what redrawing the preview costs when deltas trickle in, as a share of the reply's duration.
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
        if pace is None:
            ratio = c / b
            line += f"  (target <= {TARGET:.1f}x)"
        else:
            line += f"  ({(c - b) / (pace * len(parts)) * 100:.1f}% of one core while streaming)"
        print(line)
    verdict = "PASS" if ratio <= TARGET else "FAIL"
    print(f"{verdict}: streaming costs {ratio:.2f}x the whole render (target <= {TARGET:.1f}x)")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
