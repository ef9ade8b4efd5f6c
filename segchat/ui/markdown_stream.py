"""Streamed replies: finished Markdown blocks are printed once, only the unfinished tail is redrawn."""

from __future__ import annotations

import abc
import threading
import time
from typing import IO, Any, Callable

from segchat.text.redact import SecretsInPieces
from segchat.text.sanitize import HOLD_BACK, sanitize
from segchat.ui.markdown import MAX_NESTING, markdown_class, nesting

_ERASE_LINE_ABOVE = "\x1b[1A\x1b[2K"
_HIDE_CURSOR, _SHOW_CURSOR = "\x1b[?25l", "\x1b[?25h"
_NO_WRAP, _WRAP = "\x1b[?7l", "\x1b[?7h"  # DECAWM


class _Cleaner:
    """sanitize(hide_secrets()) for text that arrives in pieces, as Renderer.reply shows a whole reply.

    A key split across two pieces is hidden whole: a piece's end that could start one waits for the next
    piece (see SecretsInPieces). How sanitize() treats "\\r" (folded into a following "\\n") and ZWJ/ZWNJ
    (kept before what they join) depends on the next character, so one ending a piece waits too:
    chunked and whole text come out the same.
    """

    def __init__(self) -> None:
        self.held = ""
        self._secrets = SecretsInPieces()

    def feed(self, delta: str) -> str:
        text, self.held = self.held + self._secrets.feed(delta), ""
        if text.endswith(HOLD_BACK):
            text, self.held = text[:-1], text[-1]
        return sanitize(text)

    def flush(self) -> str:
        text, self.held = self.held + self._secrets.flush(), ""
        return sanitize(text)


class _Stream(abc.ABC):
    """What both streams share: the raw text, the cleaner, context-manager use."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._cleaner = _Cleaner()
        self._done = False
        # An RLock so abort() on the main thread waits for a feed() running on another thread.
        self._lock = threading.RLock()

    @property
    def text(self) -> str:
        """Everything fed so far, unsanitised."""
        return "".join(self._parts)

    @abc.abstractmethod
    def finish(self) -> None:
        """The reply is complete: leave it on screen for good."""

    def abort(self) -> None:
        """Interrupted: leave what arrived on screen. Safe after finish() and when repeated."""
        with self._lock:
            try:
                self.finish()
            finally:
                if not self._done:  # finish() itself was interrupted (a second Ctrl-C): give up
                    self._done = True
                    self._release()

    def _release(self) -> None:  # noqa: B027 - most streams leave no terminal state: nothing to undo
        """Undo any terminal state left behind when finish() was interrupted."""

    def __enter__(self) -> Any:
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        self.abort() if exc_type else self.finish()


class PlainStream(_Stream):
    """Piped output: sanitised text written as it arrives, ending like Renderer.reply's plain path."""

    def __init__(self, out: IO[str]) -> None:
        super().__init__()
        self.out = out
        self._last = ""

    def feed(self, delta: str) -> None:
        with self._lock:
            if self._done:
                return
            self._parts.append(delta)
            self._write(self._cleaner.feed(delta))

    def finish(self) -> None:
        with self._lock:
            if self._done:
                return
            self._write(self._cleaner.flush())
            if not self._last.endswith("\n"):  # also for an empty reply, as the whole-text path does
                self._write("\n", always=True)
            self._done = True

    def _write(self, clean: str, always: bool = False) -> None:
        if clean or always:
            self.out.write(clean)
            self.out.flush()
            self._last = clean


class MarkdownStream(_Stream):
    """Markdown on a rich console while it streams; the final screen equals Renderer.reply's.

    The text not yet printed for good (the tail) starts at a top-level block boundary. Each
    redraw re-parses only that tail: every top-level block but the last has been closed by
    the one after it, so it can no longer change; those are printed once, above a redrawn
    preview of the rest. Redraws are throttled by time, and by a CPU budget: the work spent on
    previews and boundaries stays under `budget` times what rendering the text so far for good
    costs, so a slow stream costs at most about (1 + budget) times one whole rendering.
    """

    def __init__(self, console: Any, code_theme: str = "monokai", *,
                 clock: Callable[[], float] = time.monotonic, min_interval: float = 0.08,
                 budget: float | None = 0.6, live: bool = True) -> None:
        super().__init__()
        from markdown_it import MarkdownIt

        self.console = console
        self._clock = clock
        self._min_interval = min_interval
        self._budget = budget
        self._fed = 0  # sanitised characters so far
        self._spent = 0.0  # seconds on previews and boundary parsing: the price of streaming
        self._committed = (0.0, 0)  # seconds and characters rendered for good
        self._pending: list[str] = []  # sanitised text after the last printed block
        # The same parser rich's Markdown builds; we parse ourselves to parse only the tail
        # and to carry link reference definitions from earlier blocks into later ones.
        self._parser = MarkdownIt().enable("strikethrough").enable("table")
        # Block structure only, for finding boundaries: inline parsing would be wasted there.
        self._blocks = MarkdownIt().enable("strikethrough").enable("table").disable(["inline", "text_join"])
        self._env: dict[str, Any] = {}
        self._markdown = markdown_class()("", code_theme=code_theme, hyperlinks=False)
        # rich's Markdown puts a blank line before a top-level block unless the one before it
        # was a rule (which ends in its own empty line); this carries that across our pieces.
        self._new_line = False
        self._drawn = 0  # lines of preview on screen, the cursor at the start of the line below
        self._next_draw = float("-inf")
        # A preview needs cursor movement and escapes written as they are; elsewhere (a file, a
        # dumb or legacy Windows console, or live=False) finished blocks are just printed in turn.
        self._live = live and console.is_terminal and not console.is_dumb_terminal and not console.legacy_windows

    def feed(self, delta: str) -> None:
        with self._lock:
            if self._done:
                return
            self._parts.append(delta)
            clean = self._cleaner.feed(delta)
            if not clean:
                return
            self._pending.append(clean)
            self._fed += len(clean)
            now = self._clock()
            if now >= self._next_draw and self._affordable():
                self._update(final=False)
                # Back off when a redraw is slow (a long open code block), to bound the CPU share.
                self._next_draw = now + max(self._min_interval, 4 * (self._clock() - now))

    def finish(self) -> None:
        """The reply is complete: print the rest for good and remove the preview."""
        with self._lock:
            if self._done:
                return
            self._pending.append(self._cleaner.flush())
            self._update(final=True)
            self._done = True

    def _affordable(self) -> bool:
        """Whether a redraw fits the budget: what the text fed so far costs to render once, times budget."""
        if self._budget is None:
            return True
        seconds, chars = self._committed
        per_char = seconds / chars if chars >= 4096 else 2.5e-6  # until measured: rich's usual cost
        return self._spent <= 0.03 + self._budget * per_char * self._fed

    def _update(self, final: bool) -> None:
        from rich.segment import Segment, Segments

        started, committing = time.perf_counter(), 0.0
        source = "".join(self._pending)
        cut = len(source) if final else self._boundary(source)
        done, tail = source[:cut], source[cut:]
        # Render before writing anything: an interrupt here leaves screen and state in step.
        new_line = self._new_line
        segments: list[Any] = []
        if done:
            begun = time.perf_counter()
            new_line, segments = self._render(done, self._env, new_line)
            committing = time.perf_counter() - begun
            self._committed = (self._committed[0] + committing, self._committed[1] + len(done))
        preview: list[list[Any]] = []
        if tail and self._live and not final:
            # The preview ends with the cursor on the line below it, so it may fill height - 1
            # lines: taller, and its top would scroll off where it can no longer be erased.
            rows = max(self.console.height, 2) - 1
            _, tail_segments = self._render(tail, {"references": dict(self._env.get("references", {}))},
                                            new_line, rows)
            preview = list(Segment.split_lines(tail_segments))[-rows:]
        if not self._live:
            if segments:
                self.console.print(Segments(segments))
        elif segments or preview or self._drawn:
            # "\r" first: a ^C echoed by the terminal may have moved the cursor off the line's start.
            frame = ["\r\x1b[2K" + _ERASE_LINE_ABOVE * self._drawn, self._ansi(segments)]
            if preview:
                # No autowrap while drawing it: a terminal that draws a cluster such as 👍🏽 wider
                # than rich counts it would wrap a full line, and the erase would miss that row.
                # The cursor stays hidden, as one jumping about the preview looks like flicker.
                frame += [_HIDE_CURSOR, _NO_WRAP,
                          self._ansi([s for line in preview for s in (*line, Segment.line())]), _WRAP]
            elif self._drawn:
                frame.append(_SHOW_CURSOR)
            self.console.file.write("".join(frame))  # one write per frame: no half-drawn states
            self.console.file.flush()
        self._pending, self._new_line, self._drawn = [tail] if tail else [], new_line, len(preview)
        self._spent += time.perf_counter() - started - committing

    def _ansi(self, segments: list[Any]) -> str:
        """Segments as the console would write them (so blocks come out exactly as print's)."""
        from rich.segment import Segments

        if not segments:
            return ""
        with self.console.capture() as captured:
            self.console.print(Segments(segments))
        return captured.get()

    def _release(self) -> None:
        if self._live:
            self.console.file.write(_WRAP + _SHOW_CURSOR)
            self.console.file.flush()

    def _boundary(self, source: str) -> int:
        """Offset of the last top-level block's first line: everything before it is final.

        Only complete lines count: a partial line can still change meaning ("#" is a heading,
        "#x" continues a paragraph), but a complete line that opened a block closed the one
        before it for good.
        """
        complete = source[:source.rfind("\n") + 1]
        if not complete:
            return 0
        env: dict[str, Any] = {}
        starts = [t.map[0] for t in self._blocks.parse(complete, env) if t.level == 0 and t.nesting >= 0 and t.map]
        # Link definitions on complete lines are final; knowing them now resolves links in blocks
        # printed before the definition's own block. The first definition of a label wins.
        known = self._env.setdefault("references", {})
        for label, ref in env.get("references", {}).items():
            known.setdefault(label, ref)
        offset = 0
        for _ in range(starts[-1] if starts else 0):
            offset = source.index("\n", offset) + 1
        return offset

    def _render(self, source: str, env: dict[str, Any], new_line: bool,
                rows: int = 0) -> tuple[bool, list[Any]]:
        """Segments for a run of whole top-level blocks, as they appear inside the full document.

        With rows, for a preview: an open code block is cut to its last rows lines, as only
        those are shown and highlighting all of a long one on every redraw would dominate.
        """
        from markdown_it.token import Token

        if nesting(source) > MAX_NESTING:  # rich would silently drop what no longer fits: show it plain
            from rich.text import Text

            return True, list(self.console.render(Text(source.rstrip("\n")), self.console.options))
        tokens = self._parser.parse(source, env)
        top = [t for t in tokens if t.level == 0 and t.nesting <= 0]
        if not top:  # blank lines or link definitions: nothing printed, spacing unchanged
            return new_line, []
        if rows and top[-1].type == "fence":
            # Unhighlighted until it is complete: highlighting dominates the cost of a redraw.
            top[-1].content = "\n".join(top[-1].content.split("\n")[-rows - 1:])
            top[-1].info = ""
        if new_line:
            # rich decides on a blank line before a block from the last element it closed, even
            # one nested in a list or quote; an empty html_block renders nothing but leaves that
            # flag set, so rich spaces our first block as it would inside the whole document.
            tokens = [Token("html_block", "", 0), *tokens]
        self._markdown.parsed = tokens
        return top[-1].type != "hr", list(self.console.render(self._markdown, self.console.options))

