"""One request's controls: the user's cancel, where streamed text and a queued job's id go, the job's state."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Call:
    """One request's controls: the user's cancel, where streamed text (and apart from it, the model's
    reasoning) goes as it arrives, and for a queued request where its job id goes (kept before the first poll)
    and what state the job is in.

    closers: what abort() calls once cancel is set; the request's blocking steps register here (the network
    layer adds a function that shuts the sockets it waits on), so a blocked connect or read wakes at once.
    """

    cancel: threading.Event = field(default_factory=threading.Event)
    on_delta: Callable[[str], None] | None = None
    on_reasoning: Callable[[str], None] | None = None  # a streamed reply's reasoning, apart from its text
    on_job: Callable[[dict[str, str]], None] | None = None
    state: str | None = None  # a queued job's state, as the spinner shows it
    closers: list[Callable[[], None]] = field(default_factory=list, init=False, repr=False)

    def abort(self) -> None:
        """Cancel from another thread: a blocked connect or read wakes at once instead of at its timeout."""
        self.cancel.set()
        for close in list(self.closers):
            close()
