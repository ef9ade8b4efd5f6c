"""One request's controls: the user's cancel, where streamed text and a queued job's id go, what it is doing."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from segchat.errors import Cancelled


@dataclass
class Call:
    """One request's controls: the user's cancel, where streamed text (and apart from it, the model's
    reasoning) goes as it arrives, and for a queued request where its job id goes (kept before the first poll);
    what the request is doing, as the spinner shows it.

    closers: what abort() calls once cancel is set; the request's blocking steps register here (the network
    layer adds a function that shuts the sockets it waits on), so a blocked connect or read wakes at once.
    """

    cancel: threading.Event = field(default_factory=threading.Event)
    on_delta: Callable[[str], None] | None = None
    on_reasoning: Callable[[str], None] | None = None  # a streamed reply's reasoning, apart from its text
    on_job: Callable[[dict[str, str]], None] | None = None
    state: str | None = None  # what the request is doing, as the spinner shows it: a queued job's state, a countdown
    counting: bool = False  # state counts the seconds to a send itself (count_down): no other seconds go beside it
    warms_up: bool = False  # the model may have to start before it answers (a cold start): the spinner says so
    closers: list[Callable[[], None]] = field(default_factory=list, init=False, repr=False)

    def abort(self) -> None:
        """Cancel from another thread: a blocked connect or read wakes at once instead of at its timeout."""
        self.cancel.set()
        for close in list(self.closers):
            close()

    def count_down(self, seconds: float, saying: str, clock: Callable[[], float] = time.monotonic,
                   pause: Callable[[float], bool] | None = None) -> None:
        """Wait seconds, state saying so each second (saying with the whole seconds left, rounded up, in its
        braces: "sending in {} s"); Cancelled at once when cancel is set. The state before is put back after.

        pause(s) waits s seconds and says whether cancel came meanwhile (by default cancel.wait); with clock it
        makes the wait testable without time passing.
        """
        pause = pause or self.cancel.wait
        before, end = self.state, clock() + seconds
        try:
            while (left := end - clock()) > 0:
                self.state, self.counting = saying.format(math.ceil(left)), True
                if pause(left - math.ceil(left) + 1):  # to the next whole second left: the figure ticks then
                    raise Cancelled()
            if self.cancel.is_set():
                raise Cancelled()
        finally:
            self.state, self.counting = before, False
