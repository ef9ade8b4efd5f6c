"""Config precedence, validation and key storage."""

from __future__ import annotations

import dataclasses
import os
import re
import stat
import subprocess
import sys
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest
from support.cli import segchat
from support.config_files import refusal, write

from segchat.config import settings as cfg
from segchat.config.key_file import save_api_key
from segchat.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_without_a_file(tmp_path):
    conf = cfg.load(tmp_path / "none.toml", env={})
    assert conf.base_url == "https://api.segmind.com/v1"
    assert conf.model == "llama-v3p1-8b-instruct"
    assert conf.api_key is None and conf.timeout == 120.0 and conf.sampling() == {}


def test_precedence_flags_over_env_over_file(tmp_path):
    path = write(tmp_path / "c.toml", 'model = "from-file"\ntemperature = 0.5\napi_key = "file-key-123"\n')
    env = {"SEGCHAT_MODEL": "from-env", "SEGMIND_API_KEY": "env-key-456"}
    conf = cfg.load(path, {"model": "from-flag", "temperature": None}, env)
    assert conf.model == "from-flag"
    assert conf.temperature == 0.5
    assert conf.api_key == "env-key-456"
    assert conf.api_key_source == "environment variable SEGMIND_API_KEY"
    conf = cfg.load(path, {}, {})
    assert conf.model == "from-file" and conf.api_key_source == f"config file {path}"


def test_a_config_file_that_cannot_be_looked_at_is_an_error_not_absent(tmp_path):
    """As pathlib told it: a file not there is no config file; one that cannot be looked for is an error."""
    assert cfg.load(tmp_path / "none.toml").path == str(tmp_path / "none.toml")
    (tmp_path / "a-file").write_text("")
    assert cfg.load(tmp_path / "a-file" / "config.toml", env={}).model == cfg.Config().model
    with pytest.raises(ConfigError, match="cannot read: File name too long"):
        cfg.load(tmp_path / ("x" * 300))


def test_a_config_file_that_is_a_fifo_is_said_to_be_one_at_once(cli_env, fake, isolated_home):
    path = isolated_home / ".config" / "segchat" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    for given in ((), ("--config", str(path))):  # where segchat looks, and where it is told to
        result = segchat(*given, "q", env=cli_env, timeout=20)  # a wait for a writer is a TimeoutExpired
        assert result.returncode == 2
        assert result.stderr.decode() == f"segchat: error: {path}: it is a FIFO, not a file\n"
    assert fake.requests == []


def test_a_config_path_that_is_a_directory_is_said_to_be_one(tmp_path):
    (tmp_path / "config.toml").mkdir()
    with pytest.raises(ConfigError, match="config.toml: it is a directory, not a file"):
        cfg.load(tmp_path / "config.toml", env={})


@pytest.mark.parametrize("text, needle", [
    ('model = "x"\ntemperature = = 1\n', "line 2"),
    ('model = "unterminated\n', "line 1"),
    ('temprature = 0.3\n', "did you mean 'temperature'"),
    ('\n\ntemperature = "hot"\n', "line 3: temperature: expected a number"),
    ('temperature = 7\n', "out of range"),
    ('max_tokens = 1.5\n', "whole number"),
    ('top_p = 0\n', "top_p"),
    ('timeout = -1\n', "timeout"),
    ('base_url = "ftp://x"\n', "not an http(s) URL"),
    ('base_url = "http://example.com/v1"\n', "unencrypted"),
    ('model = "../../etc"\n', "not a model slug"),
    ('max_credits = "lots"\n', "max_credits"),
])
def test_malformed_config_names_path_line_and_problem(tmp_path, text, needle):
    path = write(tmp_path / "c.toml", text)
    with pytest.raises(ConfigError) as info:
        cfg.load(path, env={})
    message = str(info.value)
    assert str(path) in message and needle in message
    assert "Traceback" not in message


def test_bad_key_is_never_echoed(tmp_path):
    secret = "my secret key with spaces"
    path = write(tmp_path / "c.toml", f'api_key = "{secret}"\n')
    with pytest.raises(ConfigError) as info:
        cfg.load(path, env={})
    assert secret not in str(info.value) and "api_key" in str(info.value)
    with pytest.raises(ConfigError) as info:
        cfg.load(tmp_path / "none.toml", env={"SEGMIND_API_KEY": "abc\ndef-ghi-jkl"})
    assert "abc" not in str(info.value) and "SEGMIND_API_KEY" in str(info.value)


def test_key_is_stripped(tmp_path):
    conf = cfg.load(tmp_path / "none.toml", env={"SEGMIND_API_KEY": "  sg-key-1234\n"})
    assert conf.api_key == "sg-key-1234"
    assert "sg-key-1234" not in repr(conf)


def test_bom_and_non_utf8(tmp_path):
    path = tmp_path / "c.toml"
    path.write_bytes(b"\xef\xbb\xbfmodel = \"bom-ok\"\n")
    assert cfg.load(path, env={}).model == "bom-ok"
    path.write_bytes(b"model = \"\xff\"\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        cfg.load(path, env={})


def test_loopback_http_is_allowed(tmp_path):
    for url in ("http://127.0.0.1:8000/v1", "http://localhost/v1", "http://[::1]:9/v1"):
        assert cfg.load(tmp_path / "n.toml", {"base_url": url}, {}).base_url == url


def test_readable_key_file_warns(tmp_path):
    path = write(tmp_path / "c.toml", 'api_key = "file-key-123"\n', mode=0o644)
    conf = cfg.load(path, env={})
    assert any("chmod 600" in w for w in conf.warnings)


def test_save_api_key_creates_private_file_and_keeps_other_lines(tmp_path):
    path = tmp_path / "cfg" / "config.toml"
    os.umask(0o022)
    save_api_key(path, "first-key-123")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    path.write_text('# my settings\nmodel = "m1"\napi_key = "first-key-123"\n')
    save_api_key(path, 'second"key\\x')
    data = tomllib.loads(path.read_text())
    assert data == {"model": "m1", "api_key": 'second"key\\x'}
    assert path.read_text().startswith("# my settings")


def test_the_example_documents_every_key_with_its_default():
    """Uncommented, config.example.toml is a valid config that sets every key; where a setting has a default,
    the value shown is that default (Config's field default; the provider's key variable for api_key_env)."""
    example = (ROOT / "config.example.toml").read_text()
    uncommented = re.sub(r"^# (\w+ = )", r"\1", example, flags=re.M)
    shown = tomllib.loads(uncommented)
    assert set(shown) == set(cfg.KEYS)
    defaults = {f.name: f.default for f in dataclasses.fields(cfg.Config)}
    differing = {k: v for k, v in shown.items() if defaults[k] is not None and v != defaults[k]}
    assert not differing, f"config.example.toml shows other defaults than Config's: {differing}"
    assert shown["api_key_env"] == cfg.DEFAULT_KEY_ENV[defaults["provider"]]
    assert cfg.load(ROOT / "config.example.toml", env={}) == cfg.load(ROOT / "no-such.toml", env={}).replace(
        path=str(ROOT / "config.example.toml"))


def test_the_defaults_without_a_file_are_configs():
    loaded = cfg.load("/nonexistent/config.toml", env={})
    assert loaded == cfg.Config(api_key_env=cfg.KEY_ENV, path="/nonexistent/config.toml")


def test_the_key_stays_out_of_repr_and_replace_keeps_it():
    config = cfg.Config(base_url="https://x.test/v1", model="m", api_key="sk-secret-123456")
    assert "sk-secret" not in repr(config) and "base_url='https://x.test/v1'" in repr(config)
    assert config.replace(model="n").api_key == "sk-secret-123456" and config.model == "m"
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.model = "n"


def test_decimal_settings(tmp_path):
    path = write(tmp_path / "c.toml", "max_credits = 0.5\nlow_credit_warning = 2\n")
    conf = cfg.load(path, env={})
    assert conf.max_credits == Decimal("0.5") and conf.low_credit_warning == Decimal("2")


def test_decimal_from_float_is_exact(tmp_path):
    path = write(tmp_path / "c.toml", "max_credits = 0.1\n")
    assert cfg.load(path, env={}).max_credits == Decimal("0.1")


# -- settings are checked like flags -----------------------------------------------------------------


@pytest.mark.parametrize("text, said", [
    ('\nmax_tokens = "10"\n', "line 2: max_tokens: expected a whole number, got the text '10' "
                             "(a number is written without quotes: max_tokens = 10)"),
    ('timeout = "30.5"\n', "line 1: timeout: expected a number, got the text '30.5' "
                          "(a number is written without quotes: timeout = 30.5)"),
    ('max_credits = "5"\n', "line 1: max_credits: expected a number, got the text '5'"),
    ('retries = "lots"\n', "line 1: retries: expected a whole number, got the text 'lots'"),
    ('profile = "lab"\n[profiles.lab]\ntemperature = "0.5"\n', "line 3: temperature: expected a number, got the "
                                                              "text '0.5'"),
])
def test_a_number_in_quotes_in_the_config_is_a_type_error_naming_key_and_file(tmp_path, text, said):
    path = tmp_path / "c.toml"
    assert refusal(path, text).startswith(f"{path}: {said}")


def test_flags_still_give_numbers_as_text(tmp_path):
    """--max-credits (and /set) hand over text: that is how they are given, not a mistake."""
    path = write(tmp_path / "c.toml", "max_tokens = 10\n")
    conf = cfg.load(path, {"max_credits": "5", "max_tokens": "20"}, env={})
    assert conf.max_credits == Decimal("5") and conf.max_tokens == 20
    assert cfg.check_sampling("max_tokens", "30") == 30
    with pytest.raises(ConfigError, match="--max-credits: max_credits: expected a number, got 'lots'"):
        cfg.load(path, {"max_credits": "lots"}, env={})


def test_a_role_s_number_in_quotes_is_a_type_error_naming_the_role(tmp_path):
    with pytest.raises(ConfigError, match="^role terse: max_tokens: expected a whole number, got the text '10'"):
        cfg.load(tmp_path / "none.toml", env={}, role=("terse", {"max_tokens": "10"}))


@pytest.mark.parametrize("theme", ["monokai", "dracula", "github-dark", "ansi_dark", "ansi_light"])
def test_a_code_theme_rich_can_draw_is_taken(tmp_path, theme):
    path = write(tmp_path / "c.toml", f'code_theme = "{theme}"\n')
    assert cfg.load(path, env={}).code_theme == theme


@pytest.mark.parametrize("text, said", [
    ('model = "x"\ncode_theme = "monokia"\n', "line 2: code_theme: 'monokia' is not a Pygments style (did you mean "
                                             "'monokai'? others: dracula, github-dark, nord, "),
    ('code_theme = "no such thing"\n', "line 1: code_theme: 'no such thing' is not a Pygments style (some there are: "
                                       "monokai, dracula, github-dark, nord, "),
    ('[profiles.lab]\ncode_theme = "nrod"\n', "line 2: code_theme: 'nrod' is not a Pygments style (did you mean "
                                             "'nord'?"),
    ('code_theme = 7\n', "line 1: code_theme: expected the name of a Pygments style"),
])
def test_an_unknown_code_theme_is_a_configuration_error_naming_valid_ones(tmp_path, text, said):
    path = tmp_path / "c.toml"
    assert refusal(path, text, "lab" if "profiles" in text else None).startswith(f"{path}: {said}")


def test_a_plugin_s_style_is_a_code_theme_too(tmp_path, monkeypatch):
    import pygments.styles

    everything = pygments.styles.get_all_styles
    monkeypatch.setattr(pygments.styles, "get_all_styles", lambda: iter([*everything(), "from-a-plugin"]))
    path = write(tmp_path / "c.toml", 'code_theme = "from-a-plugin"\n')
    assert cfg.load(path, env={}).code_theme == "from-a-plugin"


def test_rich_s_own_themes_are_the_ones_rich_has():
    from rich.syntax import RICH_SYNTAX_THEMES

    from segchat.config.validate import RICH_THEMES

    assert set(RICH_THEMES) == set(RICH_SYNTAX_THEMES)


def test_the_default_theme_costs_no_pygments_import(tmp_path):
    """Pygments' table of styles is imported only for a theme other than the default (a few ms a run)."""
    default, other = write(tmp_path / "a.toml", 'model = "x"\n'), write(tmp_path / "b.toml", 'code_theme = "nord"\n')
    code = ("import sys; from segchat.config.settings import load; load(sys.argv[1], env={}); "
            "print('pygments' in sys.modules)")
    loaded = [subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                             check=True).stdout.strip() for path in (default, other)]
    assert loaded == ["False", "True"]


# -- rpm: sends paced to a rate ------------------------------------------------------------------------


def test_rpm_is_unset_by_default_and_set_at_the_top_or_in_a_profile(tmp_path):
    assert cfg.load(tmp_path / "none.toml", env={}).rpm is None
    path = write(tmp_path / "c.toml", "rpm = 5\n[profiles.pro]\nrpm = 50\n[profiles.same]\nmodel = \"m\"\n")
    assert cfg.load(path, env={}).rpm == 5
    assert cfg.load(path, env={}, profile="pro").rpm == 50
    assert cfg.load(path, env={}, profile="same").rpm == 5  # a profile without its own keeps the top level's


@pytest.mark.parametrize("text, said", [
    ("rpm = 0\n", "line 1: rpm: 0 is out of range (>= 1, <= 1000000)"),
    ("rpm = -5\n", "line 1: rpm: -5 is out of range (>= 1, <= 1000000)"),
    ("rpm = 2.5\n", "line 1: rpm: expected a whole number, got '2.5'"),
    ('rpm = "5"\n', "line 1: rpm: expected a whole number, got the text '5' (a number is written without quotes: "
                    "rpm = 5)"),
    ("rpm = true\n", "line 1: rpm: expected a number, got True"),
    ("[profiles.p]\nrpm = 0\n", "line 2: rpm: 0 is out of range"),
])
def test_rpm_must_be_a_positive_whole_number(tmp_path, text, said):
    path = tmp_path / "c.toml"
    assert refusal(path, text, "p" if "profiles" in text else None).startswith(f"{path}: {said}")
