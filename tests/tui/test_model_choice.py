"""/model in the chat: Tab offers the catalogue's slugs with a line about each beside it; a switch tells the new
window, warns when the conversation overflows it, and then asks before sending (no keeps the message)."""

from __future__ import annotations

import io

from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from support.repl import ENTER, make_repl, run

from segchat.config.settings import ModelSettings
from segchat.tui.slash_completer import SlashCompleter, suggest

TAB, CTRL_D = "\t", "\x04"
LONG = {"usage": {"prompt_tokens": 9000, "completion_tokens": 100, "total_tokens": 9100}}


def menu(repl, text: str) -> dict[str, str]:
    """What Tab's menu shows for text: each completion with the line beside it."""
    found = SlashCompleter(repl).get_completions(Document(text), CompleteEvent(completion_requested=True))
    return {c.text: c.display_meta_text for c in found}


def test_tab_offers_the_catalogue_with_a_line_about_each(make_chat):
    repl = make_repl(make_chat(models=(("claude-mine", ModelSettings(description="my \x1b[31mown\x1b[0m")),)),
                     io.StringIO())
    shown = menu(repl, "/model claude")
    assert set(shown) == {"claude-3-haiku", "claude-4-sonnet", "claude-4.5-sonnet", "claude-opus-4.7", "claude-mine"}
    assert shown["claude-4.5-sonnet"].startswith("Claude Sonnet 4.5: ")
    assert shown["claude-mine"] == "my ^[[31mown^[[0m"  # the config's text, made safe for the terminal
    assert menu(repl, "/set te") == {"temperature": ""}  # other commands have no lines
    assert len(suggest(repl, "/model ")[0]) >= 55


def test_tab_offers_only_slugs_model_accepts(make_chat):
    repl = make_repl(make_chat(models=(("llama3.1:8b", ModelSettings(context_window=8192)),)), io.StringIO())
    assert "llama3.1:8b" not in suggest(repl, "/model ")[0]  # a Segmind slug has no ':'; the table is for a server


def test_a_switch_tells_the_window_and_a_new_slugs_note(make_chat, fake):
    out = run(make_chat(), "/model gpt-4" + ENTER, "/model" + ENTER, "/model brand-new" + ENTER)
    assert "model set to gpt-4 (8K context) for the next turns" in out and "model: gpt-4 (8K context)" in out
    assert "model set to brand-new for the next turns" in out
    assert out.count("brand-new is not in segchat's catalogue: sent as is") == 1
    assert '[models."brand-new"] context_window' in out


def test_an_overflowing_switch_warns_and_asks_before_sending(make_chat, fake):
    chat = make_chat()
    fake.script(LONG)
    out = run(chat, "long" + ENTER, "/model gpt-4" + ENTER,
              "and now?" + ENTER, "n" + ENTER,  # asked, and no: not sent, kept in the input box
              ENTER, "y" + ENTER)  # the kept message sent again; yes
    assert "the conversation (~9,100 tokens) is longer than the 8,192-token context window of gpt-4" in out
    assert "nothing was sent; /trim N drops the oldest exchanges" in out
    assert [r.path.rsplit("/", 1)[1] for r in fake.chat_requests()] == ["llama-v3p1-8b-instruct", "gpt-4"]
    assert fake.chat_requests()[-1].body["messages"][-1]["content"] == "and now?"
    assert "echo: and now?" in out


def test_resuming_an_overflowing_session_warns(make_chat, fake, store):
    chat = make_chat()
    fake.script(LONG)
    chat.send("long")
    other = make_chat(model="gpt-4")
    out = run(other, f"/resume {chat.session.name}" + ENTER)
    assert "longer than the 8,192-token context window of gpt-4" in out




def test_the_tab_menu_on_a_terminal_shows_the_lines(term):
    t = term()
    t.wait_for("llama-v3p1-8b-instruct")
    t.type("/model claude-4")
    t.type(TAB)
    screen = t.wait_for("Claude Sonnet 4.5")
    assert "claude-4-sonnet" in screen and "Claude Sonnet 4: coding" in screen
    t.type("\x1b")  # close the menu
    t.type("\x15" + CTRL_D)  # clear the line, leave
    assert t.wait_exit() == 0
