"""A request run in a worker thread: a spinner while waiting, streamed text shown as it comes, Ctrl-C at once."""

from __future__ import annotations

import queue
import threading
import time
from typing import TYPE_CHECKING, Callable, TypeVar

from segchat.errors import Cancelled
from segchat.model.call import Call

if TYPE_CHECKING:
    from segchat.ui.render import Renderer

T = TypeVar("T")
COLD_START = 10.0  # seconds of silence after a send, for a model that may warm up, before the spinner says so
WARMING_UP = "no answer yet: the model may be warming up (a cold start)"


def run(request: Callable[[Call], T], spinner: Renderer, screen: Renderer) -> T:
    """request(call) in a worker; spinner shows the wait, screen the streamed reply (they may be one).

    A streamed reply's reasoning is not text of the reply: while it comes the spinner says "reasoning", and what
    came before the text is shown set apart (screen.reasoning) just before the text begins. The spinner shows the
    call's state (a queued job's, a countdown to a send) when it has one; where the model may warm up
    (call.warms_up), COLD_START seconds without an answer since the last send are told as a possible cold start.
    Ctrl-C abandons the request at once (its sockets are shut) and raises Cancelled with the text shown.
    """
    deltas: queue.SimpleQueue[str] = queue.SimpleQueue()
    thoughts: list[str] = []
    # Set when text arrives or the request ends, so the waits below end then, not at their next tick: the first
    # text reaches the screen as it arrives (polling alone held it up to a tick, 50 ms, and each later piece 20 ms).
    woken, finished = threading.Event(), threading.Event()

    def delta(text: str) -> None:
        deltas.put(text)
        woken.set()

    call, box = Call(on_delta=delta, on_reasoning=thoughts.append), {}

    def work() -> None:
        try:
            box["result"] = request(call)
        except BaseException as exc:  # handed to the main thread below
            box["error"] = exc
        finally:
            finished.set()
            woken.set()

    worker = threading.Thread(target=work, daemon=True, name="segchat-request")
    worker.start()
    view, shown = None, []
    try:
        with spinner.waiting() as tick:
            quiet_since = time.monotonic()  # since the last send: no state (a countdown to one, a job's) since
            while not finished.is_set() and deltas.empty():
                woken.wait(0.05)
                woken.clear()  # before the loop looks again: what is set after it is seen by the next wait
                now = time.monotonic()
                if call.state is not None:
                    quiet_since = now
                cold = call.warms_up and not thoughts and now - quiet_since >= COLD_START
                tick(call.state or ("reasoning" if thoughts else WARMING_UP if cold else None), call.counting)
        if not deltas.empty():
            _careful(screen.reasoning, screen)("".join(thoughts[:]))  # what came before the first text
            view = screen.stream()
            feed = _careful(view.feed, screen)
            while not finished.is_set() or not deltas.empty():
                woken.clear()
                if _drain(deltas, shown, feed) == 0:
                    woken.wait(0.02)
            _careful(view.finish, screen)()
    except KeyboardInterrupt:
        call.abort()
        if view is not None:
            _drain(deltas, shown, view.feed)
            view.abort()
        raise Cancelled("".join(shown)) from None
    if "error" in box:
        raise box["error"]
    return box["result"]


def _careful(show: Callable[..., None], screen: Renderer) -> Callable[..., None]:
    """show, but a reader that went away (`segchat q | head -c 10`) costs only the display, never the reply:
    the request goes on, the reply is saved, and screen.broken tells the caller."""
    def careful(*args: str) -> None:
        if screen.broken:
            return
        try:
            show(*args)
        except OSError:  # BrokenPipeError and kin: stdout is gone
            screen.broken = True

    return careful


def _drain(deltas: queue.SimpleQueue[str], shown: list[str], feed: Callable[[str], None]) -> int:
    """Feed everything queued as one piece (fewer redraws when text comes faster than the screen)."""
    pieces = []
    while not deltas.empty():
        pieces.append(deltas.get_nowait())
    if pieces:
        shown.extend(pieces)
        feed("".join(pieces))
    return len(pieces)
