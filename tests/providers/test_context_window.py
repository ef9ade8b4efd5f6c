"""The context window of the model actually served: the server's word where it says (its model list, llama.cpp's
/props), else the profile's, else what the provider knows; a server's "context exceeded" is explained as such."""

from __future__ import annotations

import json

import pytest
from support.cli import KEY

from segchat.errors import ContextError
from segchat.model.call import Call
from segchat.providers.openai_compat import OpenAI
from segchat.providers.segmind import Segmind

LLAMA_CPP = {"id": "smollm2", "object": "model", "owned_by": "llamacpp",
             "meta": {"n_vocab": 49152, "n_ctx": 8192, "n_ctx_train": 8192, "n_params": 134515008}}
# llama.cpp builds before meta.n_ctx list only the trained window; /props has the served one.
OLDER_LLAMA_CPP = {"id": "smollm2", "object": "model", "owned_by": "llamacpp", "meta": {"n_ctx_train": 32768}}
EXCEEDED = {"error": {"code": 400, "message": "request (931 tokens) exceeds the available context size (512 tokens), "
                                              "try increasing it", "type": "exceed_context_size_error",
                      "n_prompt_tokens": 931, "n_ctx": 512}}


@pytest.fixture
def local(fake):
    made = []

    def make(model="smollm2"):
        provider = OpenAI(fake.base_url, model, None, timeout=5, sleep=lambda s: None)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        provider.close()


def test_the_window_is_read_from_the_list_just_fetched(local, fake):
    """Start-up lists the models, then asks the window: one request to the server, not two."""
    fake.models = [LLAMA_CPP]
    provider = local()
    assert provider.models(Call()) == ["smollm2"]
    assert provider.context_window(Call()) == 8192
    assert [r.path for r in fake.requests] == ["/v1/models"]


@pytest.mark.parametrize("entry, window", [
    (LLAMA_CPP, 8192),
    ({"id": "smollm2", "object": "model", "owned_by": "vllm", "max_model_len": 32768}, 32768),
    ({"id": "smollm2", "context_length": 4096}, 4096),
    ({"id": "smollm2", "context_window": 200000}, 200000),
    ({"id": "smollm2", "owned_by": "ollama"}, None),
    ({"id": "smollm2", "max_model_len": "32768"}, None),  # not a number of tokens
    ({"id": "smollm2", "max_model_len": 10**12}, None),  # nonsense
])
def test_the_window_from_the_model_list(fake, local, entry, window):
    fake.models = [entry]
    assert local().context_window(Call()) == window


def test_the_entry_of_the_model_in_use(fake, local):
    fake.models = [{"id": "small", "max_model_len": 2048}, {"id": "smollm2", "max_model_len": 16384}]
    assert local().context_window() == 16384
    assert local("neither").context_window() is None  # several models, none of them ours: unknown
    fake.models = [{"id": "served-under-another-name", "max_model_len": 4096}]
    assert local("neither").context_window() == 4096  # one model served (llama.cpp answers any name with it)


def test_an_older_llama_cpp_is_asked_its_props(fake, local):
    fake.models = [OLDER_LLAMA_CPP]
    fake.props = {"default_generation_settings": {"n_ctx": 2048}, "total_slots": 1}
    assert local().context_window() == 2048
    fake.props = None  # no /props: the trained window is the best word there is
    assert local().context_window() == 32768


def test_segmind_knows_its_usual_models_without_asking(fake):
    provider = Segmind(fake.base_url, "llama-v3p1-8b-instruct", KEY)
    assert not provider.asks_window and provider.context_window() == 131072 and fake.requests == []
    provider.model = "some-new-slug"
    assert provider.context_window() is None


def test_a_server_refusing_a_long_conversation_says_so(fake, local):
    fake.script({"status": 400, "body": json.dumps(EXCEEDED)})
    with pytest.raises(ContextError) as info:
        local().complete([{"role": "user", "content": "hello " * 900}])
    assert "longer than the model's context window of 512 tokens" in str(info.value)
    assert info.value.window == 512 and info.value.status == 400


@pytest.mark.parametrize("body", [
    {"error": {"message": "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens",
               "type": "BadRequestError", "code": 400}},  # vLLM
    {"error": {"message": "too long", "type": "invalid_request_error", "code": "context_length_exceeded"}},  # OpenAI
])
def test_other_servers_words_for_it(fake, local, body):
    fake.script({"status": 400, "body": json.dumps(body)})
    with pytest.raises(ContextError, match="longer than the model's context window"):
        local().complete([{"role": "user", "content": "hi"}])


def test_an_ordinary_bad_request_is_not_taken_for_it(fake, local):
    fake.script({"status": 400, "body": json.dumps({"error": {"message": "temperature must be at most 2"}})})
    with pytest.raises(Exception) as info:
        local().complete([{"role": "user", "content": "hi"}])
    assert not isinstance(info.value, ContextError)
