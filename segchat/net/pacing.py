"""Sends paced to a rate (rpm = N): never more than N in any minute, so the server's rate limit is not hit."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable

from segchat.model.call import Call

WINDOW = 60.0  # seconds: a rate limit counts the requests of the last minute


class Pacer:
    """Keeps the times of the last sends and, before another, waits until fewer than rpm fall in the last minute.

    It paces the sends of this process only: two segchats at once each keep their own count (the server's 429
    and its reset time then say when to send again). None for rpm: no pacing.
    clock and pause (see Call.count_down) make the waits testable without time passing.
    """

    def __init__(self, rpm: int | None, *, window: float = WINDOW, clock: Callable[[], float] = time.monotonic,
                 pause: Callable[[float], bool] | None = None) -> None:
        self.rpm, self.window, self._clock, self._pause = rpm, window, clock, pause
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def delay(self) -> float:
        """Seconds until another send keeps to the rate; 0 when it may go now."""
        with self._lock:
            return self._delay(self._clock())

    def _delay(self, now: float) -> float:
        while self._sent and self._sent[0] <= now - self.window:
            self._sent.popleft()
        if self.rpm is None or len(self._sent) < self.rpm:
            return 0.0
        return self._sent[len(self._sent) - self.rpm] + self.window - now

    def wait(self, call: Call) -> None:
        """Wait until a send keeps to the rate, saying so in call.state ("sending in 9 s"), then count one as
        sent. Cancelled at once when the call's cancel is set; a cancelled send is not counted."""
        while True:
            with self._lock:
                now = self._clock()
                if (seconds := self._delay(now)) <= 0:
                    self._sent.append(now)
                    return
            call.count_down(seconds, f"sending in {{}} s (keeping to rpm = {self.rpm})", self._clock, self._pause)
