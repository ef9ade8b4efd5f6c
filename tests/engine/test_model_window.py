"""The window of the model in use: from segchat's catalogue (or the user's [models] table), followed on every
switch; a switch to a model the conversation overflows warns, and the next message is not sent unless the user
chooses to; a slug the catalogue does not know is noted once."""

from __future__ import annotations

import pytest

from segchat.config.roles import Role
from segchat.config.settings import ModelSettings
from segchat.errors import ContextTooLong, UsageError
from segchat.model.attachments import Attachment

LONG = {"usage": {"prompt_tokens": 9000, "completion_tokens": 100, "total_tokens": 9100}}  # past 8K, within 128K


def codes(notices) -> list[str]:
    return [n.code for n in notices]


def test_each_models_own_window(make_chat):
    chat = make_chat()
    assert chat.context_window == 131072
    for model, window in (("gpt-4", 8192), ("claude-4.5-sonnet", 200000), ("gemini-2.5-pro", 1048576)):
        chat.set_model(model)
        assert chat.context_window == window


def test_the_users_table_comes_before_the_profiles_window_and_the_catalogue(make_chat, make_local_chat, fake):
    models = (("gpt-4", ModelSettings(context_window=4000)), ("llama3.1:8b", ModelSettings(context_window=3000)))
    chat = make_chat(context_window=50000, models=models)
    assert chat.context_window == 50000  # the profile's word, for a model the tables do not name
    chat.set_model("gpt-4")
    assert chat.context_window == 4000
    local = make_local_chat(models=models)
    assert local.context_window == 3000  # an OpenAI-compatible server's model, until the server says
    fake.models = [{"id": "llama3.1:8b", "max_model_len": 8192}]
    local.learn_window()
    assert local.context_window == 8192


def test_a_switch_to_a_model_the_conversation_overflows_warns_then_refuses_to_send(make_chat, fake, store):
    chat = make_chat()
    fake.script(LONG)
    chat.send("a long conversation")
    assert chat.context_tokens() == 9100 and codes(chat.set_model("gpt-5")) == []
    notices = chat.set_model("gpt-4")
    assert codes(notices) == ["context_too_long"]
    assert notices[0].values == {"model": "gpt-4", "tokens": 9100, "window": 8192}
    before = len(fake.chat_requests())
    with pytest.raises(ContextTooLong) as info:
        chat.send("and now?")
    assert isinstance(info.value, UsageError) and info.value.window == 8192 and info.value.tokens >= 9100
    assert "nothing was sent" in str(info.value)
    assert len(fake.chat_requests()) == before  # nothing sent, nothing paid
    assert chat.conversation.unsent is None and store.load(chat.session.id).unsent is None  # nor kept as unsent
    with pytest.raises(ContextTooLong):
        chat.regenerate()  # /retry asks with the same conversation
    chat.allow_overflow()  # the user's choice: the count is an estimate, the server decides
    chat.send("and now?")
    assert fake.chat_requests()[-1].path.endswith("/gpt-4") and len(fake.chat_requests()) == before + 1


def test_the_choice_to_send_lasts_until_the_model_changes(make_chat, fake):
    chat = make_chat(model="gpt-4")
    fake.script(LONG, LONG)  # the server's count after each reply
    chat.allow_overflow()
    chat.send("first")
    chat.send("second")  # still gpt-4: not asked again
    chat.set_model("llama-v3-8b-instruct")
    with pytest.raises(ContextTooLong):
        chat.send("third")
    chat.set_model("gpt-4")  # back again: asked again
    with pytest.raises(ContextTooLong):
        chat.send("third")


def test_a_message_that_tips_it_over_is_refused_too(make_chat, fake):
    chat = make_chat(model="gpt-4")
    with pytest.raises(ContextTooLong):
        chat.send("x" * 4 * 8200)
    assert fake.chat_requests() == []


def test_a_roles_model_is_checked_as_a_switch(make_chat, fake):
    chat = make_chat()
    fake.script(LONG)
    chat.send("long")
    assert codes(chat.set_role(Role("old", "You are old.", {"model": "llama-v3-8b-instruct"}))) == \
        ["context_too_long"]
    assert codes(chat.set_role(Role("same", "Still.", {}))) == []  # no switch, nothing to tell


def test_the_meter_warning_and_file_check_use_the_new_window(make_chat, fake):
    chat = make_chat()
    fake.script({"usage": {"prompt_tokens": 7500, "completion_tokens": 100, "total_tokens": 7600}})
    assert "context_full" not in codes(chat.send("hello").notices)  # 7,600 of 128K
    chat.set_model("gpt-4")
    with pytest.raises(UsageError, match="more than the 8,192-token context"):
        chat.check_fits([Attachment("big.txt", "x" * 4000)])
    fake.script({"usage": {"prompt_tokens": 7600, "completion_tokens": 100, "total_tokens": 7700}})
    full = [n for n in chat.send("hi").notices if n.code == "context_full"]
    assert full and full[0].values["window"] == 8192


def test_a_slug_the_catalogue_does_not_know_is_sent_and_noted_once(make_chat, fake):
    chat = make_chat()
    assert chat.model_notices() == []
    notices = chat.set_model("brand-new-model")
    assert codes(notices) == ["model_not_in_catalogue"] and notices[0].values == {"model": "brand-new-model"}
    assert chat.context_window is None and chat.provider.family is None
    chat.send("hello")
    assert fake.chat_requests()[-1].path.endswith("/brand-new-model")
    assert chat.model_notices() == [] and chat.set_model("brand-new-model") == []  # said once
    assert codes(chat.set_model("another-new-one")) == ["model_not_in_catalogue"]


def test_no_note_where_a_window_is_known(make_chat, make_local_chat):
    assert make_chat(models=(("brand-new", ModelSettings(context_window=8000)),)).set_model("brand-new") == []
    assert make_chat(context_window=8000).set_model("brand-new") == []  # the profile's window applies
    assert make_local_chat().set_model("not-listed") == []  # the server says its own models' windows
