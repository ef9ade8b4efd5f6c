"""Settings: Config's defaults, then the user's config.toml (and its profile), then environment, a role, flags."""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from segchat.config.key_sources import (
    KEYRING_SOURCE,
    command_source,
    read_keyring,
    run_key_command,
    split_command,
)
from segchat.config.validate import (
    Invalid,
    check_api_key,
    check_base_url,
    check_code_theme,
    check_model,
    is_any_model,
)
from segchat.errors import ConfigError
from segchat.private_files import key_file_warnings, present, read_text

if TYPE_CHECKING:
    from collections.abc import Mapping

    from segchat.private_files import Where

KEY_ENV = "SEGMIND_API_KEY"  # where a Segmind key is read from, unless api_key_env names another variable
ENV_KEYS = {"SEGCHAT_BASE_URL": "base_url", "SEGCHAT_MODEL": "model"}
PROVIDERS = ("segmind", "openai")
# The families of segchat's model catalogue: who made a model. Segmind's gateway passes each maker's own request and
# reply shapes through: "anthropic" and "gemini" have theirs, every other family speaks OpenAI's.
FAMILIES = ("openai", "anthropic", "gemini", "llama", "deepseek", "qwen", "mistral", "other")
DEFAULT_KEY_ENV = {"segmind": KEY_ENV, "openai": None}
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


@dataclass(frozen=True, slots=True)
class ModelSettings:
    """What a [models."SLUG"] table of the config file says of one model: it adds the model to segchat's catalogue,
    or corrects the catalogue's entry. None: not said (the catalogue's word stands)."""

    family: str | None = None  # one of FAMILIES
    context_window: int | None = None
    max_output: int | None = None  # the most tokens a reply may have
    description: str | None = None  # one line


MODEL_KEYS = tuple(f.name for f in dataclasses.fields(ModelSettings))  # what a [models."SLUG"] table may set


@dataclass(frozen=True, slots=True)
class Config:
    """Every setting segchat runs with, validated. A field's default is the setting's default (what
    config.example.toml shows); load() sets the ones whose default depends on the provider."""

    base_url: str = "https://api.segmind.com/v1"
    model: str = "llama-v3p1-8b-instruct"
    provider: str = "segmind"
    profile: str | None = None  # the [profiles.NAME] in use; None: the top-level settings
    api_key: str | None = field(default=None, repr=False)
    api_key_env: str | None = None  # load(): DEFAULT_KEY_ENV of the provider unless set
    api_key_cmd: str | None = None  # a command that prints the key (config/key_sources.py)
    api_key_source: str = "nowhere"
    stream: bool = False  # load(): true for openai unless set
    queue: bool = False  # Segmind turns through the v2 queue, whose replies can be recovered
    system: str | None = None
    temperature: float | None = None  # None: the server's default, as for max_tokens and top_p
    max_tokens: int | None = None
    top_p: float | None = None
    timeout: float = 120.0
    retries: int = 2
    rpm: int | None = None  # at most this many requests a minute: sends are paced to it; None: not paced
    code_theme: str = "monokai"
    low_credit_warning: Decimal = Decimal("1.0")
    max_credits: Decimal | None = None
    context_window: int | None = None  # the profile's word; the server's, when it says, comes first
    context_warning: float = 0.9
    path: str | None = None  # the config file's
    warnings: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    key_shared: bool = True  # the top-level api_key applies (no profile, or one for the same server)
    models: tuple[tuple[str, ModelSettings], ...] = ()  # the [models."SLUG"] tables, by slug, as the file has them

    @property
    def has_credits(self) -> bool:
        return self.provider == "segmind"

    def replace(self, **changes: Any) -> Config:
        """A copy with changes (dataclasses.replace)."""
        return dataclasses.replace(self, **changes)

    def key_hint(self) -> str:
        """Where a key for this configuration goes, in words."""
        table = f"[profiles.{self.profile}]" if self.profile else "the top level"
        env = f", or set {self.api_key_env}" if self.api_key_env else ", or name a variable with api_key_env"
        return f"add api_key to {table} of {self.path or 'your config file'}{env}"

    def model_settings(self, model: str) -> ModelSettings | None:
        """What the config file's [models."SLUG"] table says of model; None when it has none."""
        return next((settings for slug, settings in self.models if slug == model), None)

    def sampling(self) -> dict[str, Any]:
        """The optional request fields that are set."""
        names = ("temperature", "max_tokens", "top_p")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}


DEFAULT = Config()  # a run's settings when no file, environment variable, role or flag sets any
DERIVED = ("api_key_source", "path", "warnings", "profiles", "key_shared")  # told by load(), never set
# What config.toml may set; models is tables of their own, at the top level only: [models."SLUG"].
KEYS = [f.name for f in dataclasses.fields(Config) if f.name not in (*DERIVED, "models")]
PROFILE_KEYS = [k for k in KEYS if k != "profile"]
# The numeric settings: (type, lowest, highest, lowest excluded).
LIMITS: dict[str, tuple[type, float, float, bool]] = {
    "temperature": (float, 0.0, 2.0, False), "top_p": (float, 0.0, 1.0, True), "max_tokens": (int, 1, 10**8, False),
    "timeout": (float, 0.0, 86400.0, True), "retries": (int, 0, 10, False), "rpm": (int, 1, 10**6, False),
    "low_credit_warning": (Decimal, 0, 10**12, False), "max_credits": (Decimal, 0, 10**12, False),
    "context_window": (int, 1, 10**8, False), "context_warning": (float, 0.0, 1.0, True)}
SAMPLING = ("temperature", "top_p", "max_tokens")  # the settings a request may carry (/set, a role)


def load(path: Where, flags: dict[str, Any] | None = None, env: Mapping[str, str] | None = None,
         profile: str | None = None, role: tuple[str, dict[str, Any]] | None = None,
         find_key: bool = True) -> Config:
    """Merge the file at path (if any), its profile, env, a role's settings and flags over the defaults; validate.

    The profile is profile, else flags["profile"], else $SEGCHAT_PROFILE, else the role's, else the file's own.
    The key is the first of: the environment variable api_key_env names (SEGMIND_API_KEY for Segmind); api_key
    (the profile's, else the top level's); what api_key_cmd prints (the profile's, else the top level's); the OS
    keyring's for base_url (Segmind only). The last two only with find_key; without it a key still to be found is
    left to with_key() (api_key None, api_key_source naming the command, if any).
    """
    role_name, role_settings = role or ("", {})
    role_settings = dict(role_settings)
    if env is None:
        env = os.environ
    flags = dict(flags or {})
    values: dict[str, Any] = {}  # the settings given, by key; the others keep Config's defaults
    sources: dict[str, str] = {}
    text, warnings, tables, models = "", [], {}, ()
    if present(path):
        text = read_text(path)
        user = _parse(path, text)
        tables = user.pop("profiles", {})
        models = _check_models(path, text, user.pop("models", {}))
        _check_keys(path, text, user, KEYS)
        if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
            raise ConfigError(f"{path}: line {_line_of(text, 'profiles')}: profiles must be tables: [profiles.NAME]")
        values.update(user)
        sources.update({k: f"config file {path}" for k in user})
        if "api_key" in user or any("api_key" in t for t in tables.values()):
            warnings += key_file_warnings(path)
    _register_keys([values, *tables.values()], env)
    top = (values.get("provider", DEFAULT.provider), values.get("base_url", DEFAULT.base_url))
    if profile is None:
        profile = (flags.get("profile") or env.get("SEGCHAT_PROFILE") or role_settings.get("profile")
                   or values.get("profile"))
    role_settings.pop("profile", None)
    flags.pop("profile", None)
    name = profile or None  # "" asks for the top-level settings
    shared = True
    if name is not None:
        if not isinstance(name, str) or name not in tables:
            known = ", ".join(sorted(tables)) or "none are defined"
            raise ConfigError(f"unknown profile {str(name)[:40]!r} (profiles in {path}: {known})")
        table = tables[name]
        _check_keys(path, text, table, PROFILE_KEYS, f"[profiles.{name}]")
        if (table.get("provider", top[0]), table.get("base_url", top[1])) != top:
            # A key set for one server is never sent to another: this profile brings its own or none.
            shared = False
            for key in ("api_key", "api_key_env", "api_key_cmd"):  # nor where the top level reads its key from
                if key not in table:
                    values.pop(key, None)
                    sources.pop(key, None)
        if "api_key" in table or "api_key_cmd" in table:
            # The profile says where its key is: the top level's api_key or api_key_cmd does not outrank it.
            for key in ("api_key", "api_key_cmd"):
                if key not in table:
                    values.pop(key, None)
                    sources.pop(key, None)
        values.update(table)
        sources.update({k: f"config file {path}, profile {name}" for k in table})
    values["profile"] = name
    for var, key in ENV_KEYS.items():
        # A profile names its server: SEGCHAT_BASE_URL does not send that profile's key elsewhere.
        if env.get(var) and not (key == "base_url" and name is not None and "base_url" in tables[name]):
            values[key] = env[var]
            sources[key] = f"environment variable {var}"
    provider = values.get("provider", DEFAULT.provider)
    key_env = values["api_key_env"] if "api_key_env" in values else DEFAULT_KEY_ENV.get(provider)
    values["api_key_env"] = key_env or None
    if isinstance(key_env, str) and key_env and env.get(key_env):
        values["api_key"] = env[key_env]
        sources["api_key"] = f"environment variable {key_env}"
    for key, value in role_settings.items():
        values[key] = value
        sources[key] = f"role {role_name}"
    for key, value in flags.items():
        if value is not None:
            values[key] = value
            sources[key] = f"--{key.replace('_', '-')}"
    # What a config file or a role's front matter set is as TOML holds it; flags and the environment give text.
    in_toml = {key for key, source in sources.items() if source.startswith(("config file", "role "))}
    try:
        config = _validate(values, in_toml)
    except Invalid as bad:
        source = sources.get(bad.key, "")
        where = f"{path}: line {_line_of(text, bad.key)}" if source.startswith("config file") else source
        raise ConfigError(f"{where}: {bad.key}: {bad.reason}") from None
    source = sources["api_key"] if config.api_key else DEFAULT.api_key_source
    if not config.api_key and config.api_key_cmd:
        source = command_source(config.api_key_cmd, sources["api_key_cmd"])
    config = config.replace(api_key_source=source, path=os.fspath(path), warnings=tuple(warnings),
                            profiles=tuple(sorted(tables)), key_shared=shared, models=models)
    return with_key(config) if find_key else config


def with_key(config: Config) -> Config:
    """config with the key its api_key_cmd prints, or else (Segmind) the one the OS keyring holds for its server;
    config itself when it has a key, or when neither gives one. Every key found is hidden from all output.
    ConfigError when the command fails or either gives something that is no key."""
    if config.api_key:
        return config
    if config.api_key_cmd:
        printed = run_key_command(config.api_key_cmd, config.api_key_source)
        try:
            return config.replace(api_key=check_api_key(printed))
        except Invalid as bad:
            raise ConfigError(f"{config.api_key_source} printed something that {bad.reason}") \
                from None
    if config.provider != "segmind":
        return config
    kept = read_keyring(config.base_url)
    if kept is None:
        return config
    try:
        return config.replace(api_key=check_api_key(kept), api_key_source=KEYRING_SOURCE)
    except Invalid:
        raise ConfigError(f"{KEYRING_SOURCE} holds something for {config.base_url} that is not a key; "
                          "replace it with segchat --set-key") from None


def _register_keys(tables: list[dict[str, Any]], env: Mapping[str, str]) -> None:
    """Hide every key this configuration holds from all output, not only the one this run uses: each table's
    api_key (the top level's, where --set-key writes it, and every profile's) and the value of each variable
    an api_key_env names, and of SEGMIND_API_KEY. A server may echo any of them, or a session of another
    profile hold one. What is not a valid key is not hidden: a profile's api_key = "x" would hide every x."""
    names = {KEY_ENV, *(t["api_key_env"] for t in tables if isinstance(t.get("api_key_env"), str))}
    for value in [*(t.get("api_key") for t in tables), *(env.get(name) for name in names)]:
        if isinstance(value, str):
            try:
                check_api_key(value)  # registers a valid key with text.redact
            except Invalid:
                pass  # refused when a run uses it


def _check_keys(path: Where, text: str, table: dict[str, Any], allowed: list[str], where: str = "") -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            inside = f" in {where}" if where else ""
            raise ConfigError(f"{path}: line {_line_of(text, key)}: unknown key '{key}'{inside}{hint}")


def _check_models(path: Where, text: str, tables: Any) -> tuple[tuple[str, ModelSettings], ...]:
    """The [models."SLUG"] tables, checked: each error names the file, the line, the table and the key."""
    if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
        raise ConfigError(f"{path}: line {_line_of(text, 'models')}: models must be tables: [models.\"SLUG\"]")
    checked = []
    for slug, table in tables.items():
        where = f'[models."{slug[:60]}"]'
        if not is_any_model(slug):  # an OpenAI-compatible server's id (llama3.1:8b) may be told its window too
            raise ConfigError(f"{path}: line {_model_line(text, slug)}: {where}: {slug[:60]!r} is not a model "
                              "id (letters, digits and . _ : / @ + -)")
        for key in table:
            if key not in MODEL_KEYS:
                close = difflib.get_close_matches(key, MODEL_KEYS, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise ConfigError(f"{path}: line {_model_line(text, slug, key)}: unknown key '{key}' in {where}"
                                  f"{hint}; a model's table may set {', '.join(MODEL_KEYS)}")
        try:
            checked.append((slug, _model_settings(table)))
        except Invalid as bad:
            raise ConfigError(f"{path}: line {_model_line(text, slug, bad.key)}: {where} {bad.key}: {bad.reason}") \
                from None
    return tuple(checked)


def _model_settings(table: dict[str, Any]) -> ModelSettings:
    family, description = table.get("family"), table.get("description")
    if family is not None and family not in FAMILIES:
        raise Invalid("family", f"{str(family)[:40]!r} is not one of {', '.join(FAMILIES)}")
    if description is not None and (not isinstance(description, str) or "\n" in description
                                    or len(description) > 200):
        raise Invalid("description", "expected one line of text (at most 200 characters)")
    window, output = (_number(key, table.get(key), *LIMITS["context_window"], in_toml=True)
                      for key in ("context_window", "max_output"))
    return ModelSettings(family=family, context_window=window, max_output=output, description=description)


def _model_line(text: str, slug: str, key: str | None = None) -> int | str:
    """The line of key in the table [models."slug"] (else of the table's header, else of models), for an error."""
    header = re.compile(r"""\s*\[\s*models\s*\.\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*\]""")
    found: int | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("["):  # a table's header: this one's, or the end of it
            if found is not None:
                break
            match = header.match(line)
            found = number if match and slug in match.groups() else None
        elif found is not None and key and re.match(rf"\s*{re.escape(key)}\s*=", line):
            return number
    if found is not None:
        return found
    return next((number for number, line in enumerate(text.splitlines(), 1) if re.match(r"\s*\[\s*models\b", line)),
                None) or _line_of(text, "models")


def _parse(path: Where, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib says "... (at line 3, column 7)"; lead with the line, keep the reason.
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        reason = msg[: m.start()].strip() if m else msg
        where = f"line {m.group(1)}, column {m.group(2)}" if m else "invalid TOML"
        raise ConfigError(f"{path}: {where}: {reason}") from None


def _line_of(text: str, key: str) -> int | str:
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(rf"\s*{re.escape(key)}\s*=", line):
            return number
    return "?"


def _number(key: str, value: Any, kind: type, low: float, high: float, open_low: bool, in_toml: bool = False) -> Any:
    """value as kind within [low, high] (or (low, high] with open_low); None stays None.

    in_toml: value is as a TOML file holds it, where a number is written bare and one in quotes is text,
    refused as such. Flags, /set and the environment give text, which is read as a number.
    """
    if value is None:
        return None
    wanted = "a whole number" if kind is int else "a number"
    if isinstance(value, bool):
        raise Invalid(key, f"expected a number, got {value!r}")
    if in_toml and isinstance(value, str):
        raise Invalid(key, f"expected {wanted}, got the text {value[:40]!r}{_unquoted(key, value)}")
    try:
        number = kind(str(value)) if kind is Decimal else kind(value)  # str: 0.1 stays 0.1
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError
    except (TypeError, ValueError, OverflowError, InvalidOperation):
        raise Invalid(key, f"expected {wanted}, got {str(value)[:40]!r}") from None
    if (kind is Decimal and not number.is_finite()) or (kind is float and not math.isfinite(number)):
        raise Invalid(key, "expected a finite number")
    if number < low or (open_low and number == low) or number > high:
        raise Invalid(key, f"{str(number)[:40]} is out of range ({'>' if open_low else '>='} {low}, <= {high})")
    return number


def _unquoted(key: str, text: str) -> str:
    """For text in quotes that would be a number without them: how to write it."""
    try:
        if not Decimal(text.strip()).is_finite():
            return ""
    except InvalidOperation:
        return ""
    return f" (a number is written without quotes: {key} = {text.strip()[:40]})"


def check_sampling(key: str, value: Any, in_toml: bool = False) -> Any:
    """One sampling setting from outside a config file (/set, a role): its value, or a ConfigError saying why.
    in_toml: as a TOML file (a role's front matter) holds it, where a number in quotes is text."""
    return _number(key, value, *LIMITS[key], in_toml=in_toml)


def _validate(values: dict[str, Any], in_toml: set[str]) -> Config:
    """The Config of values, each checked; a setting values does not hold keeps its default. in_toml: the
    keys whose values are as a TOML file holds them (see _number)."""
    provider = values.get("provider", DEFAULT.provider)
    if provider not in PROVIDERS:
        raise Invalid("provider", f"{str(provider)[:40]!r} is not one of {', '.join(PROVIDERS)}")
    base_url = check_base_url(values.get("base_url", DEFAULT.base_url))
    model = check_model(values.get("model", DEFAULT.model), provider)
    stream = values.get("stream", provider == "openai")
    if not isinstance(stream, bool):
        raise Invalid("stream", "expected true or false")
    queue = values.get("queue", DEFAULT.queue)
    if not isinstance(queue, bool):
        raise Invalid("queue", "expected true or false")
    if queue and provider != "segmind":
        raise Invalid("queue", f"the queue is Segmind's; the {provider} provider has none")
    if queue and not base_url.endswith("/v1"):
        raise Invalid("queue", "needs a base_url ending in /v1 (the queue is beside it, at .../v2)")
    key_env = values.get("api_key_env")
    if key_env is not None and (not isinstance(key_env, str) or not _ENV_NAME.fullmatch(key_env)):
        raise Invalid("api_key_env", f"{str(key_env)[:40]!r} is not an environment variable name")
    api_key = values.get("api_key")
    if api_key is not None:
        api_key = check_api_key(api_key)
    key_cmd = values.get("api_key_cmd")
    if key_cmd is not None:
        try:
            split_command(key_cmd)
        except ValueError as exc:
            raise Invalid("api_key_cmd", str(exc)) from None
    system = values.get("system")
    if system is not None and not isinstance(system, str):
        raise Invalid("system", "expected text")
    theme = values.get("code_theme", DEFAULT.code_theme)
    if theme != DEFAULT.code_theme:  # the default is a Pygments style: Pygments need not be asked
        theme = check_code_theme(theme)
    numbers = {key: _number(key, values[key], *limits, in_toml=key in in_toml)
               for key, limits in LIMITS.items() if key in values}
    return Config(base_url=base_url, model=model, provider=provider, profile=values.get("profile"), api_key=api_key,
                  api_key_env=key_env, api_key_cmd=key_cmd, stream=stream, queue=queue, system=system or None,
                  code_theme=theme, **numbers)
