"""A clock that moves only when a wait on it is made: for waits tested without time passing."""

from __future__ import annotations


class FakeClock:
    """now() is the time; pause(seconds) moves it on and records the wait; cancel_at cancels the wait that
    would reach that time (pause then says so, as Event.wait does when the event is set)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now_at, self.pauses = start, []
        self.cancel_at: float | None = None

    def now(self) -> float:
        return self.now_at

    def pause(self, seconds: float) -> bool:
        self.pauses.append(seconds)
        if self.cancel_at is not None and self.now_at + seconds >= self.cancel_at:
            self.now_at = self.cancel_at
            return True
        self.now_at += seconds
        return False

    def advance(self, seconds: float) -> None:
        self.now_at += seconds
