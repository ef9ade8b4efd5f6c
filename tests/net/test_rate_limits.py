"""Segmind's 429: the wait it asks for (x-rate-limit-reset-at-utc, or Retry-After), counted down, within the
deadline, cancellable; then one more send."""

from __future__ import annotations

import re
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import formatdate

import httpx
import pytest
from support.cli import KEY

from segchat.errors import Cancelled, RetryableError
from segchat.model.call import Call
from segchat.net.http import asked_wait, reset_in
from segchat.providers.segmind import Segmind

MESSAGES = [{"role": "user", "content": "hi"}]
NOW = 1_787_832_000.0  # 2026-08-27T12:00:00Z


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat()


@pytest.mark.parametrize("value, seconds", [
    ("2026-08-27T12:00:05Z", 5.0),
    ("2026-08-27T12:00:05.500Z", 5.5),
    ("2026-08-27T12:00:05+00:00", 5.0),
    ("2026-08-27T14:00:05+02:00", 5.0),  # an offset named is honoured
    ("2026-08-27T12:00:05", 5.0),  # none named: UTC, as the header's name says
    ("2026-08-27 12:00:05", 5.0),
    ("1787832005", 5.0),  # epoch seconds
    ("1787832005.25", 5.25),
])
def test_the_reset_time_is_read_as_iso_8601_or_epoch_seconds(value, seconds):
    assert reset_in(value, NOW) == pytest.approx(seconds)


@pytest.mark.parametrize("value", [None, "", "soon", "2026-08-27T11:59:00Z", "1787831000", "30", "-5", "nan",
                                   "inf", "1e400", "9" * 100, "2026-13-45T99:00:00Z"])
def test_an_unusable_or_past_reset_time_is_none(value):
    assert reset_in(value, NOW) is None


def test_the_reset_time_counts_from_the_answer_s_own_date():
    """A clock here an hour off does not make the wait an hour long (or none at all)."""
    date = time.time() - 3600
    headers = {"date": formatdate(date, usegmt=True), "x-rate-limit-reset-at-utc": iso(int(date) + 5)}
    assert asked_wait(headers) == pytest.approx(5, abs=0.01)
    headers["retry-after"] = "8"
    assert asked_wait(headers) == 8  # the later of the two


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def provider(fake, sleeps):
    made = Segmind(fake.base_url, "llama-v3p1-8b-instruct", KEY, timeout=10.0, sleep=sleeps.append)
    yield made
    made.close()


@pytest.mark.parametrize("form", ["iso", "epoch"])
def test_a_429_waits_until_the_reset_then_sends_once(provider, fake, sleeps, form):
    fake.script({"status": 429, "reset_in": 4, "reset_format": form})
    assert provider.complete(MESSAGES).content == "echo: hi"
    assert len(fake.chat_requests()) == 2 and len(sleeps) == 1
    assert 2.5 < sleeps[0] <= 5.1  # the time it named (counted from its Date, whole seconds), not a backoff


def test_a_429_without_a_usable_reset_backs_off(provider, fake, sleeps):
    fake.script({"status": 429, "headers": {"x-rate-limit-reset-at-utc": "whenever"}})
    provider.complete(MESSAGES)
    assert len(sleeps) == 1 and 0.375 <= sleeps[0] <= 0.5


def test_a_reset_past_the_deadline_is_not_waited_and_the_error_names_the_time(provider, fake, sleeps):
    fake.script({"status": 429, "reset_in": 600})
    with pytest.raises(RetryableError) as info:
        provider.complete(MESSAGES)
    message = str(info.value)
    assert sleeps == [] and len(fake.chat_requests()) == 1 and info.value.status == 429
    assert "10 s timeout" in message and "try again later" in message
    named = re.search(r"until (\d\d):(\d\d):(\d\d)", message)
    assert named, message
    expected = datetime.now() + timedelta(seconds=600)
    shown = expected.replace(hour=int(named[1]), minute=int(named[2]), second=int(named[3]), microsecond=0)
    assert abs((shown - expected).total_seconds()) < 5  # the local time of the reset


def test_a_429_when_no_retries_are_left_names_the_time_too(fake):
    provider = Segmind(fake.base_url, "m", KEY, retries=0)
    fake.script({"status": 429, "reset_in": 40})
    with pytest.raises(RetryableError, match=r"rate limited \(429\): Rate limit exceeded; the server asks to "
                                             r"wait 4[01] s \(until \d\d:\d\d:\d\d\)"):
        provider.complete(MESSAGES)
    provider.close()


def test_the_countdown_ticks_each_second_in_the_call_state(fake):
    provider = Segmind(fake.base_url, "m", KEY, timeout=20.0)
    fake.script({"status": 429, "reset_in": 2.5})
    call, states, done = Call(), [], threading.Event()

    def watch() -> None:
        while not done.is_set():
            if call.state and (not states or states[-1] != (call.state, call.counting)):
                states.append((call.state, call.counting))
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        assert provider.complete(MESSAGES, call=call).content == "echo: hi"
    finally:
        done.set()
        watcher.join()
        provider.close()
    figures = [int(re.fullmatch(r"rate limited \(429\): sending again in (\d) s", s)[1]) for s, _ in states]
    assert figures == sorted(figures, reverse=True) and figures[-1] == 1 and len(figures) >= 2
    assert all(counting for _, counting in states)
    assert call.state is None and not call.counting and len(fake.chat_requests()) == 2


def test_ctrl_c_during_the_wait_cancels_at_once_and_sends_nothing_more(fake):
    provider = Segmind(fake.base_url, "m", KEY, timeout=60.0)
    fake.script({"status": 429, "reset_in": 30})
    call = Call()

    def abort_when_counting() -> None:
        end = time.monotonic() + 10
        while not call.counting and time.monotonic() < end:
            time.sleep(0.01)
        call.abort()

    threading.Thread(target=abort_when_counting).start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        provider.complete(MESSAGES, call=call)
    assert time.monotonic() - started < 10  # not the 30 s asked
    assert len(fake.chat_requests()) == 1
    provider.close()


def test_a_retry_after_within_the_deadline_is_waited_however_long(fake, sleeps):
    """No fixed cap: the deadline bounds the wait, which is shown counting down and can be cancelled."""
    provider = Segmind(fake.base_url, "m", KEY, timeout=200.0, sleep=sleeps.append)
    fake.script({"status": 429, "headers": {"retry-after": "90"}})
    provider.complete(MESSAGES)
    assert sleeps == [90.0]
    provider.close()


def test_a_transport_without_a_date_counts_from_this_clock(sleeps):
    answers = iter([httpx.Response(429, headers={"x-rate-limit-reset-at-utc": iso(time.time() + 6)},
                                   content=iter([b'{"error": "Rate limit exceeded"}'])),
                    httpx.Response(200, content=iter([b'{"choices": [{"message": {"content": "ok"}}]}']))])
    provider = Segmind("https://api.example/v1", "m", KEY, transport=httpx.MockTransport(lambda r: next(answers)),
                       sleep=sleeps.append)
    assert provider.complete(MESSAGES).content == "ok"
    assert len(sleeps) == 1 and 4 < sleeps[0] <= 6
    provider.close()
