"""Every new send of a chat passes its pacer (rpm); asking about a queued job does not (a fake clock)."""

from __future__ import annotations

import pytest
from support.clock import FakeClock

from segchat.errors import Cancelled
from segchat.net.pacing import Pacer


def test_every_new_send_passes_the_pacer(make_chat, fake):
    chat = make_chat(rpm=2)
    assert chat.pacer.rpm == 2
    clock = FakeClock()
    chat.pacer = Pacer(2, clock=clock.now, pause=clock.pause)
    chat.send("one")
    chat.send("two")
    assert clock.pauses == []
    chat.regenerate()  # a third send within the minute waits for the first to leave it
    assert clock.now() == pytest.approx(1060) and len(fake.chat_requests()) == 3


def test_a_send_cancelled_while_paced_is_not_sent_and_stays_unsent(make_chat, fake):
    chat = make_chat(rpm=1)
    clock = FakeClock()
    chat.pacer = Pacer(1, clock=clock.now, pause=clock.pause)
    chat.send("one")
    clock.cancel_at = 1010
    with pytest.raises(Cancelled):
        chat.send("two")
    assert len(fake.chat_requests()) == 1 and chat.conversation.unsent.text == "two"
