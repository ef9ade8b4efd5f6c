"""Profiles and providers in config.toml: which settings win, and which key goes where."""

from __future__ import annotations

import pytest
from support.config_files import write

from segchat.config import settings as cfg
from segchat.errors import ConfigError
from segchat.text.redact import redact

FILE = '''
api_key = "segmind-key-123"
temperature = 0.3
profile = "fast"

[profiles.fast]
model = "llama-v3p1-70b-instruct"

[profiles.local]
provider = "openai"
base_url = "http://127.0.0.1:11434/v1"
model = "llama3.1:8b"

[profiles.vllm]
provider = "openai"
base_url = "http://localhost:8000/v1"
model = "meta-llama/Llama-3.1-8B-Instruct"
api_key_env = "VLLM_KEY"
stream = false
'''


@pytest.fixture
def path(tmp_path):
    return write(tmp_path / "config.toml", FILE)


def test_the_files_own_profile_is_the_default_and_inherits_the_top_level(path):
    conf = cfg.load(path, env={})
    assert (conf.profile, conf.model, conf.temperature) == ("fast", "llama-v3p1-70b-instruct", 0.3)
    assert conf.provider == "segmind" and conf.api_key == "segmind-key-123" and not conf.stream
    assert conf.profiles == ("fast", "local", "vllm")


def test_flag_beats_env_beats_file(path):
    assert cfg.load(path, {"profile": "local"}, env={"SEGCHAT_PROFILE": "vllm"}).profile == "local"
    assert cfg.load(path, {"profile": None}, env={"SEGCHAT_PROFILE": "vllm"}).profile == "vllm"
    assert cfg.load(path, env={}, profile="").profile is None  # the top level itself


def test_a_profile_for_another_server_never_gets_the_segmind_key(path):
    conf = cfg.load(path, {"profile": "local"}, env={"SEGMIND_API_KEY": "env-segmind-key-1"})
    assert conf.provider == "openai" and conf.api_key is None and conf.api_key_env is None
    assert conf.stream and conf.model == "llama3.1:8b" and conf.temperature == 0.3
    assert not conf.key_shared


def test_api_key_env_names_where_the_key_comes_from(path):
    conf = cfg.load(path, {"profile": "vllm"}, env={"VLLM_KEY": "vllm-secret-9", "SEGMIND_API_KEY": "x" * 12})
    assert conf.api_key == "vllm-secret-9" and conf.api_key_source == "environment variable VLLM_KEY"
    assert conf.stream is False and conf.model == "meta-llama/Llama-3.1-8B-Instruct"


@pytest.mark.parametrize("profile", ["", "fast", "local", "vllm"])
def test_every_key_the_configuration_holds_is_hidden_whichever_profile_runs(tmp_path, profile):
    path = write(tmp_path / "c.toml", FILE + 'api_key = "vllm-file-key-0000"\n\n[profiles.other]\n'
                                           'provider = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
                                           'api_key = "other-profile-key-1111"\napi_key_env = "OTHER_KEY"\n'
                                           '[profiles.short]\napi_key = "x"\n')
    env = {"VLLM_KEY": "vllm-env-key-2222", "OTHER_KEY": "other-env-key-3333", "SEGMIND_API_KEY": "seg-env-key-4444",
           "UNNAMED_KEY": "unnamed-key-5555"}
    cfg.load(path, env=env, profile=profile)
    shown = redact(" ".join(["segmind-key-123", "vllm-file-key-0000", "other-profile-key-1111", *env.values()]))
    assert shown == "*** *** *** *** *** *** unnamed-key-5555"  # a variable no api_key_env names is not a key
    assert redact("x marks the spot") == "x marks the spot"  # not a valid key: not hidden


def test_unknown_profile_names_the_ones_there_are(path):
    with pytest.raises(ConfigError, match="unknown profile 'nope'.*fast, local, vllm"):
        cfg.load(path, {"profile": "nope"}, env={})


def test_unknown_key_in_a_profile_points_at_it(tmp_path):
    path = write(tmp_path / "c.toml", '[profiles.x]\nmodle = "m"\n')
    with pytest.raises(ConfigError, match=r"line 2: unknown key 'modle' in \[profiles.x\].*'model'"):
        cfg.load(path, {"profile": "x"}, env={})


@pytest.mark.parametrize("text, needle", [
    ('provider = "anthropic"\n', "provider"),
    ('profiles = "x"\n', "profiles must be tables"),
    ('stream = "yes"\n', "stream"),
    ('api_key_env = "NOT A NAME"\n', "api_key_env"),
])
def test_bad_provider_settings_are_reported(tmp_path, text, needle):
    with pytest.raises(ConfigError, match=needle):
        cfg.load(write(tmp_path / "c.toml", text), env={})


@pytest.mark.parametrize("provider, model, ok", [
    ("segmind", "llama-v3p1-8b-instruct", True),
    ("segmind", "llama3.1:8b", False),  # a Segmind slug is part of the URL path
    ("segmind", "../get-user-credits", False),
    ("openai", "llama3.1:8b", True),
    ("openai", "meta-llama/Llama-3.1-8B-Instruct", True),
    ("openai", "a/../b", False),
    ("openai", "bad id", False),
])
def test_model_ids_follow_the_provider(tmp_path, provider, model, ok):
    path = write(tmp_path / "c.toml", f'provider = "{provider}"\nmodel = "{model}"\n')
    if ok:
        assert cfg.load(path, env={}).model == model
    else:
        with pytest.raises(ConfigError, match="model"):
            cfg.load(path, env={})


def test_a_profile_for_another_server_does_not_read_the_top_level_key_variable(tmp_path):
    path = write(tmp_path / "c.toml", 'api_key_env = "MY_SEG_KEY"\n\n[profiles.local]\nprovider = "openai"\n'
                                      'base_url = "http://127.0.0.1:8080/v1"\nmodel = "m"\n')
    conf = cfg.load(path, {"profile": "local"}, env={"MY_SEG_KEY": "segmind-secret-AAAA"})
    assert conf.api_key is None and conf.api_key_env is None


def test_segchat_base_url_does_not_redirect_a_profiles_server(tmp_path):
    conf = cfg.load(write(tmp_path / "c.toml", FILE), {"profile": "vllm"},
                    env={"SEGCHAT_BASE_URL": "https://proxy.example/v1", "VLLM_KEY": "vllm-secret-999"})
    assert conf.base_url == "http://localhost:8000/v1" and conf.api_key == "vllm-secret-999"


def test_saving_the_segmind_key_never_touches_a_profiles_key(tmp_path):
    from segchat.config.key_file import save_api_key
    path = write(tmp_path / "c.toml", '# mine\n\n[profiles.vllm]\nprovider = "openai"\napi_key = "vllm-secret-CCCC"\n')
    save_api_key(path, "segmind-typed-DDDD")
    text = path.read_text()
    assert text.startswith('api_key = "segmind-typed-DDDD"\n# mine') and 'api_key = "vllm-secret-CCCC"' in text
    save_api_key(path, "segmind-again-EEEE")
    assert text.count("api_key") == 2 and 'api_key = "segmind-again-EEEE"' in path.read_text()
