"""What the spinner says while a request waits: for a model that may warm up, after a while without an answer,
that it may be a cold start; else the call's state, or nothing but the seconds."""

from __future__ import annotations

import contextlib
import io
import time

from segchat.model.call import Call
from segchat.ui import progress
from segchat.ui.render import Renderer


class Spinner:
    """A spinner that records every tick: (state, counting)."""

    def __init__(self) -> None:
        self.ticks: list[tuple[str | None, bool]] = []

    @contextlib.contextmanager
    def waiting(self):
        yield lambda state=None, counting=False: self.ticks.append((state, counting))


def waited(monkeypatch, request) -> list[tuple[str | None, bool]]:
    monkeypatch.setattr(progress, "COLD_START", 0.5)
    spinner = Spinner()
    progress.run(request, spinner, Renderer(out=io.StringIO(), rich_output=False))
    return spinner.ticks


def slow(warms_up: bool, seconds: float = 1.2):
    def request(call: Call) -> str:
        call.warms_up = warms_up
        time.sleep(seconds)
        return "done"

    return request


def test_a_model_that_may_warm_up_is_said_to_after_a_while_without_an_answer(monkeypatch):
    states = [state for state, _ in waited(monkeypatch, slow(True))]
    assert states[0] is None and states[-1] == progress.WARMING_UP
    first = states.index(progress.WARMING_UP)
    assert set(states[first:]) == {progress.WARMING_UP}  # once said, it stays while nothing comes


def test_a_local_server_s_silence_is_not_called_a_cold_start(monkeypatch):
    assert {state for state, _ in waited(monkeypatch, slow(False))} == {None}


def test_the_silence_counts_from_the_send_not_from_a_countdown_before_it(monkeypatch):
    def request(call: Call) -> str:
        call.warms_up = True
        call.count_down(0.8, "sending in {} s")  # longer than the threshold: no silence yet
        time.sleep(0.1)  # sent: less than the threshold since
        return "done"

    ticks = waited(monkeypatch, request)
    assert ("sending in 1 s", True) in ticks
    assert progress.WARMING_UP not in [state for state, _ in ticks]


def test_a_queued_job_s_state_is_shown_not_the_cold_start(monkeypatch):
    def request(call: Call) -> str:
        call.warms_up, call.state = True, "queued"
        time.sleep(0.6)
        return "done"

    states = [state for state, _ in waited(monkeypatch, request)]
    assert set(states[states.index("queued"):]) == {"queued"}
