"""The config file's [models."SLUG"] tables: what they may say of a model, checked like every other setting, each
error naming the file, the line, the table and the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.config_files import refusal, write

from segchat.config import settings as cfg
from segchat.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_tables_add_and_correct_models(tmp_path):
    path = write(tmp_path / "c.toml", 'model = "gpt-4"\n\n[models."gpt-4"]\ncontext_window = 8000\n\n'
                                      '[models.my-model]\nfamily = "qwen"\nmax_output = 4096\n'
                                      'description = "one line"\n\n[models."llama3.1:8b"]\ncontext_window = 2048\n')
    config = cfg.load(path, env={})
    assert config.model_settings("gpt-4") == cfg.ModelSettings(context_window=8000)
    assert config.model_settings("my-model") == cfg.ModelSettings(family="qwen", max_output=4096,
                                                                  description="one line")
    assert config.model_settings("llama3.1:8b").context_window == 2048  # an OpenAI-compatible server's id
    assert config.model_settings("gpt-4o") is None
    assert [slug for slug, _ in config.models] == ["gpt-4", "my-model", "llama3.1:8b"]


def test_no_tables_no_models(tmp_path):
    assert cfg.load(write(tmp_path / "c.toml", 'model = "gpt-4"\n'), env={}).models == ()


@pytest.mark.parametrize("text, said", [
    ('[models."gpt-4"]\nfamily = "openai"\n\n[models."x"]\nfamily = "microsoft"\n',
     "line 5: [models.\"x\"] family: 'microsoft' is not one of openai, anthropic, gemini, llama, deepseek, qwen, "
     "mistral, other"),
    ('[models."x"]\ncontext_window = "32768"\n',
     "line 2: [models.\"x\"] context_window: expected a whole number, got the text '32768' (a number is written "
     "without quotes: context_window = 32768)"),
    ('[models."x"]\ncontext_window = 0\n', "line 2: [models.\"x\"] context_window: 0 is out of range"),
    ('[models."x"]\nmax_output = 1.5\n', "line 2: [models.\"x\"] max_output: expected a whole number"),
    ('[models."x"]\ndescription = """two\nlines"""\n', "line 2: [models.\"x\"] description: expected one line"),
    ('[models.x]\ncontxt_window = 5\n',
     "line 2: unknown key 'contxt_window' in [models.\"x\"] (did you mean 'context_window'?); a model's table may "
     "set family, context_window, max_output, description"),
    ('models = 3\n', "line 1: models must be tables: [models.\"SLUG\"]"),
    ('[models]\n"a b" = {context_window = 5}\n', "line 1: [models.\"a b\"]: 'a b' is not a model id"),
])
def test_a_wrong_table_is_an_error_naming_file_line_table_and_key(tmp_path, text, said):
    path = tmp_path / "c.toml"
    said_of_it = refusal(path, text)
    assert said_of_it.startswith(f"{path}: ") and said in said_of_it


def test_the_line_is_the_one_in_that_table(tmp_path):
    text = ('context_window = 1000\n[models."a"]\ncontext_window = 5\n[models."b"]\nfamily = "qwen"\n'
            'context_window = -1\n')
    with pytest.raises(ConfigError, match=r"line 6: \[models.\"b\"\] context_window"):
        cfg.load(write(tmp_path / "c.toml", text), env={})


def test_models_are_the_top_levels_only(tmp_path):
    path = write(tmp_path / "c.toml", '[profiles.local]\nprovider = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
                                      '[profiles.local.models."x"]\ncontext_window = 5\n')
    with pytest.raises(ConfigError, match=r"unknown key 'models' in \[profiles.local\]"):
        cfg.load(path, env={}, profile="local")
    top = write(tmp_path / "d.toml", '[models."x"]\ncontext_window = 5\n[profiles.local]\nprovider = "openai"\n'
                                     'base_url = "http://127.0.0.1:9/v1"\n')
    assert cfg.load(top, env={}, profile="local").model_settings("x").context_window == 5  # for any profile


def test_the_examples_tables_are_valid(tmp_path):
    """Uncommented, config.example.toml's [models] examples load as tables."""
    example = (ROOT / "config.example.toml").read_text()
    block = re.findall(r"^# (\[models\.[^\n]*\n(?:#   [^\n]*\n)*)", example, flags=re.M)
    assert len(block) >= 2
    text = "\n".join(re.sub(r"^#   ", "", b, flags=re.M) for b in block)
    config = cfg.load(write(tmp_path / "c.toml", text), env={})
    assert len(config.models) == len(block) and all(settings != cfg.ModelSettings() for _, settings in config.models)
