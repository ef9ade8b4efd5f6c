"""Every Segmind turn priced: one-shots learn the balance first, header-less replies are priced after."""

from __future__ import annotations

from decimal import Decimal

from support.cli import segchat
from support.repl import ENTER, run


def listed_spend(cli_env) -> list[str]:
    rows = segchat("--list", env=cli_env).stdout.decode().splitlines()[1:]
    return [row.split("\t")[6] for row in rows]


def test_a_one_shot_is_priced_from_a_balance_asked_at_launch(cli_env, fake):
    assert segchat("--session", "once", "q", env=cli_env).returncode == 0
    assert [r.method for r in fake.requests] == ["GET", "POST"]  # the balance, then the question
    assert listed_spend(cli_env) == ["0.0125"]


def test_a_reply_without_the_header_is_priced_by_one_fetch_after_it(make_chat, fake):
    chat = make_chat()
    chat.refresh_balance()
    fake.script({"credits": None})  # no x-remaining-credits on this answer
    fake.balance -= Decimal("0.02")  # what the turn cost, as the account will say
    out = run(chat, "hi" + ENTER)
    assert "cost 0.02 ·" in out and chat.ledger.unpriced == 0 and chat.ledger.spent == Decimal("0.02")
    assert chat.conversation.messages[-1].meta["cost"] == "0.02"
    stored = chat.store.get(chat.session.id)
    assert stored.spent == Decimal("0.02") and stored.unpriced == 0


def test_a_one_shot_without_the_header_is_priced_too(cli_env, fake):
    fake.script({"credits": None})
    assert segchat("--session", "quiet", "q", env=cli_env).returncode == 0
    assert [r.method for r in fake.requests] == ["GET", "POST", "GET"]
    assert listed_spend(cli_env) == ["0"]  # the balance did not move: priced at 0, not unknown


def test_unknown_costs_under_a_budget_stop_a_one_shot(cli_env, fake):
    fake.script({"credits": None}, {"for": "credits", "status": 500}, {"for": "credits", "status": 500},
                {"for": "credits", "status": 500})
    assert segchat("--session", "b", "first", env=cli_env).returncode == 0  # no balance at all: cost unknown
    result = segchat("--session", "b", "--max-credits", "5", "second", env=cli_env)
    assert result.returncode == 1 and b"cannot be sure the budget holds" in result.stderr
    assert len(fake.chat_requests()) == 1


def test_the_chat_asks_before_sending_past_an_unsure_budget(make_chat, fake):
    chat = make_chat()
    chat.send("first")  # no balance was known before it: its cost is unknown
    # Refused, the text waits in the input box (Ctrl-C clears it) for when the user is sure.
    out = run(chat, "/budget 5" + ENTER, "second" + ENTER, "n" + ENTER, "\x03/budget" + ENTER)
    assert "cannot be sure" in out and len(fake.chat_requests()) == 1
    assert "spent this session: ?" in out  # /budget says what the toolbar says


def test_other_spending_on_the_account_is_named(make_chat, fake):
    chat = make_chat()
    chat.refresh_balance()
    run(chat, "one" + ENTER)
    fake.balance -= Decimal("3")  # another client spends between our turns
    out = run(chat, "two" + ENTER)
    assert "(includes other spending)" in out and "other spending on the account" in out


def test_a_balance_fetched_while_a_turn_is_on_its_way_is_not_its_base(make_chat, fake):
    """The start-up fetch may answer after the turn was charged: then its cost is unknown, never 0."""
    chat = make_chat()
    fake.script({"delay": 0.5})
    import threading
    fetched = threading.Event()

    def late_fetch():
        import time
        time.sleep(0.2)  # the turn has been sent, not yet answered
        chat.refresh_balance()
        fetched.set()

    threading.Thread(target=late_fetch).start()
    turn = chat.send("hi")
    fetched.wait(5)
    assert turn.cost is None and chat.ledger.spent == 0 and chat.ledger.unpriced == 1
