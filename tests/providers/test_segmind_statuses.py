"""Segmind's refusals read by their status and their text: 406 (credits, content type, a team's spend limit),
410 (a retired model and its successor), 422 (the validation message)."""

from __future__ import annotations

import pytest
from support.cli import KEY

from segchat.errors import APIError, ContextError, CreditsError, ModelRetired
from segchat.providers import segmind, segmind_catalogue
from segchat.providers.segmind import Segmind
from segchat.ui import wording as words

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def provider(fake):
    made = Segmind(fake.base_url, "llama-v3-8b-instruct", KEY, timeout=5.0, sleep=lambda s: None)
    yield made
    made.close()


def refusal(provider, fake, **action) -> APIError:
    fake.script(action)
    with pytest.raises(APIError) as info:
        provider.complete(MESSAGES)
    assert len(fake.chat_requests()) == 1  # none of these is tried again
    return info.value


@pytest.mark.parametrize("text", ["Insufficient credits. Available: 0.001, required: 0.0125",
                                  "Not enough credits", "insufficient balance"])
def test_a_406_about_credits_is_a_credits_error(provider, fake, text):
    error = refusal(provider, fake, status=406, error=text)
    assert type(error) is CreditsError and error.status == 406
    assert str(error) == f"not enough credits (406: {text})"


def test_a_406_about_the_content_type_is_not_about_credits(provider, fake):
    error = refusal(provider, fake, status=406, error="Invalid content type")
    assert type(error) is APIError and error.status == 406
    assert "content type" in str(error) and "application/json" in str(error) and "credits" not in str(error)


@pytest.mark.parametrize("text", ["Team spend limit reached: 50.00 of 50.00 for this month",
                                  "Your team has reached its monthly spending limit ($50)"])
def test_a_406_about_a_team_s_spend_limit_says_so(provider, fake, text):
    error = refusal(provider, fake, status=406, error=text)
    assert type(error) is APIError and "team's spend limit is reached" in str(error) and text in str(error)
    assert "not enough credits" not in str(error)


def test_a_406_whose_text_says_nothing_known_is_told_as_it_is(provider, fake):
    error = refusal(provider, fake, status=406, error="temperature must be at most 1")
    assert type(error) is APIError and str(error) == "Segmind did not accept the request (406: temperature must " \
                                                     "be at most 1)"


def test_a_410_says_the_model_was_retired_and_names_its_successor(provider, fake, monkeypatch):
    monkeypatch.setattr(segmind, "successor",
                        lambda slug: "llama-v3p1-8b-instruct" if slug == "llama-v3-8b-instruct" else None)
    error = refusal(provider, fake, status=410, error="This model has been retired")
    assert isinstance(error, ModelRetired) and error.status == 410 and error.successor == "llama-v3p1-8b-instruct"
    assert str(error) == ("model 'llama-v3-8b-instruct' was retired by Segmind (410: This model has been retired); "
                          "try llama-v3p1-8b-instruct")
    assert words.error(error).endswith("; /model llama-v3p1-8b-instruct switches to it")
    assert words.error(error, words.ONE_SHOT).endswith("; -m llama-v3p1-8b-instruct asks it")


def test_a_410_without_a_known_successor_says_how_to_choose_another(fake):
    provider = Segmind(fake.base_url, "a-model-no-catalogue-knows", KEY, timeout=5.0)
    error = refusal(provider, fake, status=410)
    provider.close()
    assert isinstance(error, ModelRetired) and error.successor is None
    assert "was retired by Segmind (410: This model has been retired)" in str(error) and "try" not in str(error)
    assert words.error(error).endswith("; /model NAME switches to another")
    assert words.error(error, words.ONE_SHOT).endswith("; -m NAME asks another")


def test_a_422_shows_the_validation_message(provider, fake):
    error = refusal(provider, fake, status=422, error="Prompt is Mandatory and must be string")
    assert type(error) is APIError and error.status == 422
    assert str(error) == "Segmind could not take the request as it is (422: Prompt is Mandatory and must be string)"


def test_a_422_that_says_the_context_is_exceeded_is_told_as_that(provider, fake):
    error = refusal(provider, fake, status=422, error="This model's maximum context length is 8192 tokens")
    assert isinstance(error, ContextError)


def test_a_queued_request_to_a_retired_model_is_refused_as_retired(fake):
    provider = Segmind(fake.base_url, "llama-v3-8b-instruct", KEY, timeout=5.0, queue=True)
    fake.script_jobs({"status": 410, "error": "This model has been retired"})
    with pytest.raises(ModelRetired):
        provider.complete(MESSAGES)
    provider.close()


def test_a_410_names_the_successor_segchat_s_catalogue_gives(fake):
    provider = Segmind(fake.base_url, "claude-3-haiku", KEY, timeout=5.0)
    error = refusal(provider, fake, status=410)
    provider.close()
    assert isinstance(error, ModelRetired) and error.successor == segmind_catalogue.successor("claude-3-haiku")
    assert error.successor and f"try {error.successor}" in str(error)
