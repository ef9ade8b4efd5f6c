"""Where Segmind states what a request cost (x-credits-consumed, undocumented), that figure is the turn's cost."""

from __future__ import annotations

from decimal import Decimal

import pytest
from support.cli import KEY
from support.repl import ENTER, run

from segchat.model.reply import Reply
from segchat.providers.segmind import Segmind


def reply(fake) -> Reply:
    provider = Segmind(fake.base_url, "llama-v3p1-8b-instruct", KEY, timeout=5.0)
    try:
        return provider.complete([{"role": "user", "content": "hi"}])
    finally:
        provider.close()


@pytest.mark.parametrize("header, cost", [("0.0031", Decimal("0.0031")), ("0", Decimal("0")),
                                          ("-0.5", None), ("lots", None), ("1e999999", None), ("NaN", None)])
def test_the_cost_header_is_read_when_it_is_a_sane_figure(fake, header, cost):
    fake.script({"consumed": header})
    assert reply(fake).cost == cost


def test_no_cost_header_no_cost(fake):
    assert reply(fake).cost is None


def test_a_stated_cost_is_the_turn_s_cost(make_chat, fake):
    chat = make_chat()
    chat.refresh_balance()
    fake.script({"consumed": "0.0031"})  # the balance falls by the fake's 0.0125 all the same
    turn = chat.send("hi")
    assert turn.cost == Decimal("0.0031") and chat.ledger.spent == Decimal("0.0031")
    assert chat.ledger.balance == Decimal("9.9875") and chat.ledger.unpriced == 0
    assert chat.conversation.messages[-1].meta["cost"] == "0.0031"
    assert chat.store.get(chat.session.id).spent == Decimal("0.0031")


def test_a_stated_cost_prices_a_turn_no_balance_was_known_before(make_chat, fake):
    chat = make_chat()  # no balance asked first: from the balance alone, this turn's cost would be unknown
    fake.script({"consumed": "0.0125"})
    turn = chat.send("hi")
    assert turn.cost == Decimal("0.0125") and chat.ledger.unpriced == 0


def test_a_stated_cost_without_a_balance_needs_no_fetch_and_moves_the_balance(make_chat, fake):
    chat = make_chat()
    chat.refresh_balance()  # 10
    fake.script({"credits": None, "consumed": "0.004"})
    out = run(chat, "hi" + ENTER)
    assert "cost 0.004 ·" in out and "balance 9.996" in out
    assert [r.method for r in fake.requests] == ["GET", "POST"]  # no balance fetch after the turn


@pytest.mark.parametrize("header", ["-1", "many", "1e999999"])
def test_a_stated_cost_that_is_no_sane_figure_falls_back_on_the_balance(make_chat, fake, header):
    chat = make_chat()
    chat.refresh_balance()
    fake.script({"consumed": header})
    assert chat.send("hi").cost == Decimal("0.0125")  # the drop in x-remaining-credits


def test_a_stated_cost_is_this_turn_s_alone_never_other_spending(make_chat, fake):
    chat = make_chat()
    chat.refresh_balance()
    chat.send("one")
    fake.balance -= Decimal("3")  # another client spends between our turns
    fake.script({"consumed": "0.0125"})
    turn = chat.send("two")
    assert turn.cost == Decimal("0.0125") and not any(n.code == "other_spending" for n in turn.notices)
