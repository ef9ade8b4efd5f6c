"""A call's countdown: the state ticks each whole second, Ctrl-C ends it at once, the state before comes back."""

from __future__ import annotations

import threading
import time

import pytest
from support.clock import FakeClock

from segchat.errors import Cancelled
from segchat.model.call import Call


def test_a_countdown_ticks_each_whole_second_then_gives_the_state_back():
    clock, call = FakeClock(), Call(state="queued")
    seen = []
    pause = clock.pause

    def watched(seconds: float) -> bool:
        seen.append((call.state, call.counting))
        return pause(seconds)

    call.count_down(2.5, "sending in {} s", clock.now, watched)
    assert seen == [("sending in 3 s", True), ("sending in 2 s", True), ("sending in 1 s", True)]
    assert clock.pauses == [0.5, 1.0, 1.0] and clock.now() == 1002.5
    assert call.state == "queued" and not call.counting


def test_a_countdown_cancelled_stops_at_once_and_gives_the_state_back():
    clock, call = FakeClock(), Call()
    clock.cancel_at = 1001.2
    with pytest.raises(Cancelled):
        call.count_down(30, "sending in {} s", clock.now, clock.pause)
    assert clock.now() == 1001.2 and call.state is None and not call.counting


def test_abort_ends_a_real_countdown_at_once():
    call = Call()
    threading.Timer(0.2, call.abort).start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        call.count_down(30, "sending in {} s")
    assert time.monotonic() - started < 5 and call.state is None


def test_nothing_to_wait_for_waits_not_at_all():
    clock, call = FakeClock(), Call()
    call.count_down(0, "sending in {} s", clock.now, clock.pause)
    assert clock.pauses == [] and call.state is None
