"""Segmind's model families through its gateway: each family's own reply read on v1 and through the queue, and
the request each family is sent (Anthropic's system prompt as "instruction")."""

from __future__ import annotations

import pytest
from support.cli import KEY

from segchat.config.settings import ModelSettings
from segchat.model.call import Call
from segchat.providers.segmind import Segmind

CONVERSATION = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"}, {"role": "user", "content": "sunset?"}]
# A family's stop reasons as it words them, and as segchat's rules read them.
STOPS = {"anthropic": [("end_turn", "stop"), ("max_tokens", "length")],
         "gemini": [("STOP", "stop"), ("MAX_TOKENS", "length")]}
CASES = [(family, sent, read) for family, stops in STOPS.items() for sent, read in stops]


@pytest.fixture
def segmind(fake):
    providers = []

    def make(model: str, family: str | None, **options) -> Segmind:
        # The family as the config's [models] table says it, over what the catalogue says of the model.
        overrides = {model: ModelSettings(family=family)} if family else {}
        provider = Segmind(fake.base_url, model, KEY, timeout=10.0, sleep=lambda s: None, overrides=overrides,
                           **options)
        assert family is None or provider.family == family
        providers.append(provider)
        return provider

    yield make
    for provider in providers:
        provider.close()


def submitted(fake) -> list:
    return [r.body for r in fake.requests if r.method == "POST"]


@pytest.mark.parametrize("family, sent, read", CASES)
def test_a_family_s_reply_on_v1(segmind, fake, family, sent, read):
    fake.script({"family": family, "content": "A red sky.", "reasoning": "Evening.", "finish_reason": sent,
                 "usage": {"input_tokens": 56, "output_tokens": 31} if family == "anthropic" else
                 {"promptTokenCount": 56, "candidatesTokenCount": 31, "totalTokenCount": 87}})
    reply = segmind("some-model", family).complete(CONVERSATION, {})
    assert (reply.content, reply.reasoning, reply.finish_reason) == ("A red sky.", "Evening.", read)
    assert reply.usage == {"prompt_tokens": 56, "completion_tokens": 31, "total_tokens": 87}
    assert reply.credits is not None  # the balance header is read as for any reply


@pytest.mark.parametrize("output", ["string", "object"])
@pytest.mark.parametrize("family, sent, read", CASES)
def test_a_family_s_reply_through_the_queue(segmind, fake, family, sent, read, output):
    fake.script_jobs({"states": ["QUEUED", "COMPLETED"], "family": family, "output": output, "content": "Queued sky.",
                      "finish_reason": sent})
    reply = segmind("some-model", family, queue=True).complete(CONVERSATION, {}, Call())
    assert (reply.content, reply.finish_reason) == ("Queued sky.", read)
    assert reply.usage == {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}


@pytest.mark.parametrize("queue", [False, True])
def test_anthropic_s_models_get_the_system_prompt_as_instruction(segmind, fake, queue):
    fake.script({"family": "anthropic"})
    fake.script_jobs({"states": ["COMPLETED"], "family": "anthropic"})
    segmind("claude-4.5-sonnet", "anthropic", queue=queue).complete(CONVERSATION, {"max_tokens": 50}, Call())
    (body,) = submitted(fake)
    assert body == {"instruction": "Be terse.", "messages": CONVERSATION[1:], "max_tokens": 50}


def test_without_a_system_prompt_there_is_no_instruction(segmind, fake):
    fake.script({"family": "anthropic"})
    segmind("claude-4.5-sonnet", "anthropic").complete(CONVERSATION[1:], {})
    assert submitted(fake) == [{"messages": CONVERSATION[1:]}]


@pytest.mark.parametrize("family", ["gemini", "openai", None])
def test_other_families_get_openai_s_messages(segmind, fake, family):
    """Gemini's too, as Segmind's SDK sends them for every slug."""
    fake.script({"family": family} if family == "gemini" else {})
    assert segmind("gemini-2.5-flash", family).complete(CONVERSATION, {"temperature": 0.5}).content
    assert submitted(fake) == [{"messages": CONVERSATION, "temperature": 0.5}]


@pytest.mark.parametrize("text", ["42", "true", "null", "[1, 2]", "3.5e2"])
def test_plain_text_output_that_looks_like_json_is_the_reply(segmind, fake, text):
    """Plain text is the reply, even when it would decode as a JSON number, list or literal."""
    fake.script_jobs({"states": ["COMPLETED"], "output": "text", "content": text})
    assert segmind("some-model", None, queue=True).complete(CONVERSATION, {}, Call()).content == text


def test_a_queued_job_remembers_its_model(segmind, fake):
    """A reply fetched later is said to be that model's, whatever the chat has switched to since."""
    fake.script_jobs({"states": ["COMPLETED"]})
    jobs: list[dict] = []
    provider = segmind("claude-4.5-sonnet", "anthropic", queue=True)
    provider.complete(CONVERSATION, {}, Call(on_job=jobs.append))
    assert jobs[0]["model"] == "claude-4.5-sonnet"
