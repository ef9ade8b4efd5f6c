"""segchat's catalogue of Segmind's models: every entry well formed and sourced, the makers' windows, the user's
[models."SLUG"] tables put over it, and the Segmind provider reading its family and window from it."""

from __future__ import annotations

import tomllib

import pytest
from support.cli import KEY

from segchat.config.settings import FAMILIES, Config, ModelSettings
from segchat.config.validate import check_model
from segchat.providers import configured
from segchat.providers.openai_compat import OpenAI
from segchat.providers.segmind import Segmind
from segchat.providers.segmind_catalogue import FILE, YOURS, entries, entry, shipped, successor

# The "Text Generation (LLM)" table of Segmind's model directory (api-evangelist/segmind llms/segmind-llms.txt,
# 2026-08-19), and the models with pages of their own that it no longer lists.
SEGMIND_TABLE = """
claude-4-sonnet claude-4.5-sonnet claude-opus-4.7 deepseek-chat deepseek-reasoner gemini-2.5-flash
gemini-2.5-flash-lite gemini-2.5-pro gemini-3-flash gemini-3-pro gemini-3.1-flash-lite gemini-3.1-pro glm-5.2 gpt-4
gpt-4-turbo gpt-4o gpt-5 gpt-5-mini gpt-5-nano gpt-5.1 gpt-5.2 gpt-5.4 gpt-5.4-mini gpt-5.4-nano gpt-5.5
kimi-k2-instruct-0905 llama-v3-8b-instruct llama-v3p1-70b-instruct llama-v3p1-8b-instruct
llama4-maverick-instruct-basic llama4-scout-instruct-basic minimax-m3 mixtral-8x22b-instruct nemotron-3-ultra o4-mini
o3 o3-mini qvq-max qwen3-coder-flash qwen3-coder-plus qwen3-max qwen3-vl-flash qwen3-vl-plus qwen3.5-flash
qwen3.5-plus qwen-flash qwen-plus qwen2-vl-72b-instruct qwen-3.8-max qwq-plus
""".split()
PAGES_ONLY = ["claude-3-haiku", "gemini-1.5-pro", "llama-v3p1-405b-instruct", "llama-v3-70b-instruct",
              "mixtral-8x7b-instruct"]


def test_the_catalogue_covers_segminds_chat_models():
    assert len(SEGMIND_TABLE) == 50
    assert sorted(shipped()) == sorted([*SEGMIND_TABLE, *PAGES_ONLY])


def test_every_entry_is_well_formed():
    with open(FILE, "rb") as handle:
        tables = tomllib.load(handle)["models"]
    allowed = {"family", "context_window", "max_output", "description", "source", "successor"}
    for slug, table in tables.items():
        assert set(table) <= allowed, slug
        assert check_model(slug, "segmind") == slug  # /model and -m accept every slug offered
        known = shipped()[slug]
        assert known.family in FAMILIES, slug
        assert type(known.context_window) is int and 1024 <= known.context_window <= 10**8, slug
        if known.max_output is not None:
            assert type(known.max_output) is int and 0 < known.max_output <= known.context_window, slug
        assert known.description.strip() and "\n" not in known.description and len(known.description) <= 100, slug
        assert len(known.source) > 20 and "\n" not in known.source, slug  # says where the window comes from
        if known.successor is not None:  # a model Segmind no longer lists points at one it does
            assert known.successor in SEGMIND_TABLE, slug
    assert {slug for slug, known in shipped().items() if known.successor} == set(PAGES_ONLY)


@pytest.mark.parametrize("slug, window", [
    ("gpt-4", 8192), ("gpt-4-turbo", 128000), ("gpt-4o", 128000), ("gpt-5", 400000), ("gpt-5-nano", 400000),
    ("o3", 200000), ("o4-mini", 200000), ("claude-4.5-sonnet", 200000), ("claude-3-haiku", 200000),
    ("gemini-2.5-pro", 1048576), ("gemini-3-pro", 1048576), ("llama-v3-8b-instruct", 8192),
    ("llama-v3p1-8b-instruct", 131072), ("llama4-scout-instruct-basic", 10485760),
    ("llama4-maverick-instruct-basic", 1048576), ("deepseek-chat", 131072), ("mixtral-8x22b-instruct", 65536),
    ("qwen3-max", 262144),
])
def test_the_makers_windows(slug, window):
    assert entry(slug).context_window == window


def test_families_follow_the_makers():
    families = {slug: known.family for slug, known in shipped().items()}
    assert {families[s] for s in ("gpt-4", "gpt-5.5", "o3")} == {"openai"}
    assert {families[s] for s in ("claude-4-sonnet", "claude-opus-4.7")} == {"anthropic"}
    assert {families[s] for s in ("gemini-2.5-flash", "gemini-3.1-pro")} == {"gemini"}
    assert {families[s] for s in ("qwq-plus", "qvq-max", "qwen-flash")} == {"qwen"}
    assert families["mixtral-8x22b-instruct"] == "mistral" and families["deepseek-reasoner"] == "deepseek"
    assert families["glm-5.2"] == "other" and families["llama4-scout-instruct-basic"] == "llama"


def test_a_retired_models_successor():
    assert successor("gemini-1.5-pro") == "gemini-2.5-pro"
    assert successor("gpt-4o") is None and successor("no-such-model") is None


def test_the_users_tables_correct_and_add():
    overrides = {"llama-v3p1-8b-instruct": ModelSettings(context_window=65536),
                 "gpt-4o": ModelSettings(description="mine"),
                 "brand-new": ModelSettings(family="qwen", context_window=32768)}
    corrected = entry("llama-v3p1-8b-instruct", overrides)
    assert corrected.context_window == 65536 and corrected.source == YOURS and corrected.family == "llama"
    described = entry("gpt-4o", overrides)
    assert described.description == "mine" and described.context_window == 128000 and described.source != YOURS
    added = entry("brand-new", overrides)
    assert (added.family, added.context_window, added.max_output, added.source) == ("qwen", 32768, None, YOURS)
    assert entry("brand-new") is None and entry("never-heard-of", overrides) is None
    listed = [known.slug for known in entries(overrides)]
    assert listed[:len(shipped())] == list(shipped()) and listed[len(shipped()):] == ["brand-new"]
    assert entry("llama-v3p1-8b-instruct").context_window == 131072  # the shipped catalogue is untouched


def test_the_segmind_provider_reads_the_catalogue_and_follows_its_model(fake):
    provider = Segmind(fake.base_url, "claude-4.5-sonnet", KEY,
                       overrides={"my-model": ModelSettings(family="gemini", description="added")})
    try:
        assert (provider.family, provider.context_window()) == ("anthropic", 200000)
        provider.model = "gemini-2.5-pro"  # as the engine switches models
        assert (provider.family, provider.context_window()) == ("gemini", 1048576)
        provider.model = "my-model"
        assert (provider.family, provider.context_window()) == ("gemini", None)
        provider.model = "not-in-any-catalogue"
        assert (provider.family, provider.context_window()) == (None, None)
        assert provider.suggestions()[:len(shipped())] == list(shipped()) and provider.suggestions()[-1] == "my-model"
        assert provider.describe("gpt-4").startswith("OpenAI's GPT-4") and provider.describe("my-model") == "added"
        assert provider.describe("not-in-any-catalogue") == "" and fake.requests == []  # nothing asked
    finally:
        provider.close()


def test_the_configs_tables_reach_the_provider(fake):
    config = Config(base_url=fake.base_url, model="gpt-4", api_key=KEY,
                    models=(("gpt-4", ModelSettings(context_window=4096)),))
    provider = configured.build(config)
    local = configured.build(config.replace(provider="openai", model="llama3.1:8b",
                                            models=(("llama3.1:8b", ModelSettings(description="ollama's")),)))
    try:
        assert isinstance(provider, Segmind) and provider.context_window() == 4096
        assert isinstance(local, OpenAI) and local.family is None and local.describe("llama3.1:8b") == "ollama's"
    finally:
        provider.close()
        local.close()
