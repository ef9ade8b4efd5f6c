"""rpm: sends paced so that no minute holds more than rpm of them, counted down and cancellable (a fake clock)."""

from __future__ import annotations

import pytest
from support.clock import FakeClock

from segchat.errors import Cancelled
from segchat.model.call import Call
from segchat.net.pacing import Pacer


def pacer(rpm: int | None, clock: FakeClock) -> Pacer:
    return Pacer(rpm, clock=clock.now, pause=clock.pause)


def test_without_rpm_nothing_waits():
    clock = FakeClock()
    paced = pacer(None, clock)
    for _ in range(100):
        paced.wait(Call())
    assert clock.pauses == [] and paced.delay() == 0


def test_sends_past_the_rate_wait_for_the_oldest_to_leave_the_minute():
    clock, call, states = FakeClock(), Call(), []
    paced = Pacer(2, clock=clock.now, pause=lambda seconds: states.append(call.state) or clock.pause(seconds))
    paced.wait(Call())  # at 1000
    clock.advance(10)
    paced.wait(Call())  # at 1010
    assert clock.pauses == []
    clock.advance(10)  # 1020: two sends in the last minute
    assert paced.delay() == 40
    paced.wait(call)
    assert clock.now() == 1060  # when the first send is a minute old
    assert states[0] == "sending in 40 s (keeping to rpm = 2)" and states[-1] == "sending in 1 s (keeping to rpm = 2)"
    assert len(states) == 40 and call.state is None
    assert paced.delay() == 10  # the next waits for the one at 1010


def test_a_cancelled_wait_sends_nothing_and_counts_nothing():
    clock = FakeClock()
    paced = pacer(1, clock)
    paced.wait(Call())
    clock.cancel_at = 1005
    with pytest.raises(Cancelled):
        paced.wait(Call())
    assert paced.delay() == 55  # still only the one send counted
    clock.cancel_at = None
    paced.wait(Call())
    assert clock.now() == 1060


@pytest.mark.parametrize("rpm", [1, 5, 50])
def test_each_send_goes_as_soon_as_the_rate_allows_and_no_sooner(rpm):
    clock = FakeClock()
    paced = pacer(rpm, clock)
    sent = []
    for i in range(rpm * 4):
        clock.advance(7.0 * (i % 3))
        arrived = clock.now()
        paced.wait(Call())
        sent.append(clock.now())
        # at once while fewer than rpm went in the last minute, else when the rpm-th last is a minute old
        assert sent[-1] == pytest.approx(arrived if i < rpm else max(arrived, sent[i - rpm] + 60))
    assert all(sum(1 for t in sent if start <= t < start + 60) <= rpm for start in sent)
