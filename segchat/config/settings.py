"""Settings: shipped defaults, then the user's config.toml, then environment, then flags."""

from __future__ import annotations

import math
import os
import re
from decimal import Decimal, InvalidOperation

from segchat.config.validate import Invalid as _Invalid
from segchat.config.validate import check_api_key, check_base_url, check_model
from segchat.errors import ConfigError
from segchat.model.record import Record
from segchat.private_files import key_file_warnings, present, read_text

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing; checkers read it as True
if TYPE_CHECKING:
    from typing import Any, Mapping

    from segchat.private_files import Where

KEY_ENV = "SEGMIND_API_KEY"
ENV_KEYS = {"SEGCHAT_BASE_URL": "base_url", "SEGCHAT_MODEL": "model"}
PROVIDERS = ("segmind", "openai")
DEFAULT_KEY_ENV = {"segmind": KEY_ENV, "openai": None}
_ENV_NAME = r"[A-Za-z_][A-Za-z0-9_]{0,127}"


class Config(Record):
    """Every setting segchat runs with, validated."""

    HIDDEN = ("api_key",)
    base_url: str
    model: str
    provider: str = "segmind"
    profile: str | None = None
    api_key: str | None = None
    api_key_env: str | None = None
    api_key_source: str = "nowhere"
    stream: bool = False
    queue: bool = False  # Segmind turns through the v2 queue, whose replies can be recovered
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    timeout: float = 120.0
    retries: int = 2
    code_theme: str = "monokai"
    low_credit_warning: Decimal = Decimal("1.0")
    max_credits: Decimal | None = None
    context_window: int = 131072
    context_warning: float = 0.9
    path: str | None = None  # the config file's
    warnings: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    key_shared: bool = True  # the top-level api_key applies (no profile, or one for the same server)

    @property
    def has_credits(self) -> bool:
        return self.provider == "segmind"

    def key_hint(self) -> str:
        """Where a key for this configuration goes, in words."""
        table = f"[profiles.{self.profile}]" if self.profile else "the top level"
        env = f", or set {self.api_key_env}" if self.api_key_env else ", or name a variable with api_key_env"
        return f"add api_key to {table} of {self.path or 'your config file'}{env}"

    def sampling(self) -> dict[str, Any]:
        """The optional request fields that are set."""
        names = ("temperature", "max_tokens", "top_p")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}


# default_config.toml as Python (a test keeps the two equal): parsing TOML costs more start-up time than the
# rest of loading the settings, and most runs have no config file to parse at all.
DEFAULTS = {"provider": "segmind", "base_url": "https://api.segmind.com/v1", "model": "llama-v3p1-8b-instruct",
            "queue": False, "timeout": 120.0, "retries": 2, "code_theme": "monokai", "low_credit_warning": 1.0,
            "context_window": 131072, "context_warning": 0.9}
KEYS = [name for name in Config.FIELDS
        if name not in ("api_key_source", "path", "warnings", "profiles", "key_shared")]
PROFILE_KEYS = [k for k in KEYS if k != "profile"]


def load(path: Where, flags: dict[str, Any] | None = None, env: Mapping[str, str] | None = None,
         profile: str | None = None, role: tuple[str, dict[str, Any]] | None = None) -> Config:
    """Merge defaults, the file at path (if any), its profile, env, a role's settings and flags; validate.

    The profile is profile, else flags["profile"], else $SEGCHAT_PROFILE, else the role's, else the file's own.
    """
    role_name, role_settings = role or ("", {})
    role_settings = dict(role_settings)
    if env is None:
        env = os.environ
    flags = dict(flags or {})
    values: dict[str, Any] = dict(DEFAULTS)
    sources = {k: "the shipped defaults" for k in values}
    text, warnings, user, tables = "", [], {}, {}
    if present(path):
        text = read_text(path)
        user = _parse(path, text)
        tables = user.pop("profiles", {})
        _check_keys(path, text, user, KEYS)
        if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
            raise ConfigError(f"{path}: line {_line_of(text, 'profiles')}: profiles must be tables: [profiles.NAME]")
        values.update(user)
        sources.update({k: f"config file {path}" for k in user})
        if "api_key" in user or any("api_key" in t for t in tables.values()):
            warnings += key_file_warnings(path)
    top = {"provider": values.get("provider"), "base_url": values.get("base_url")}
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
        if (table.get("provider", top["provider"]), table.get("base_url", top["base_url"])) != tuple(top.values()):
            # A key set for one server is never sent to another: this profile brings its own or none.
            shared = False
            for key in ("api_key", "api_key_env"):  # nor where the top level reads its key from
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
    provider = values.get("provider", "segmind")
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
    try:
        return _validate(values, sources, path, tuple(warnings), tuple(sorted(tables))).replace(key_shared=shared)
    except _Invalid as bad:
        source = sources.get(bad.key, "")
        where = f"{path}: line {_line_of(text, bad.key)}" if source.startswith("config file") else source
        raise ConfigError(f"{where}: {bad.key}: {bad.reason}") from None


def _check_keys(path: Where, text: str, table: dict[str, Any], allowed: list[str], where: str = "") -> None:
    for key in table:
        if key not in allowed:
            import difflib

            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            inside = f" in {where}" if where else ""
            raise ConfigError(f"{path}: line {_line_of(text, key)}: unknown key '{key}'{inside}{hint}")


def _parse(path: Where, text: str) -> dict[str, Any]:
    import tomllib

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


def _number(values: dict, key: str, kind: type, low: float | None, high: float | None, *,
            open_low: bool = False) -> Any:
    """values[key] as kind within [low, high] (or (low, high] with open_low); None when unset."""
    value = values.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        raise _Invalid(key, f"expected a number, got {value!r}")
    try:
        number = kind(str(value)) if kind is Decimal else kind(value)  # str: 0.1 stays 0.1
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError
    except (TypeError, ValueError, OverflowError, InvalidOperation):
        wanted = "a whole number" if kind is int else "a number"
        raise _Invalid(key, f"expected {wanted}, got {str(value)[:40]!r}") from None
    if (kind is Decimal and not number.is_finite()) or (kind is float and not math.isfinite(number)):
        raise _Invalid(key, "expected a finite number")
    if (low is not None and (number < low or (open_low and number == low))) or (high is not None and number > high):
        bounds = f"{'>' if open_low else '>='} {low}" + (f", <= {high}" if high is not None else "")
        raise _Invalid(key, f"{str(number)[:40]} is out of range ({bounds})")
    return number


# The sampling settings a request may carry: (type, lowest, highest, lowest excluded).
SAMPLING: dict[str, tuple[type, float, float, bool]] = {
    "temperature": (float, 0.0, 2.0, False), "top_p": (float, 0.0, 1.0, True), "max_tokens": (int, 1, 10**8, False)}


def check_sampling(key: str, value: Any) -> Any:
    """One sampling setting from outside a config file (/set, a role): its value, or a ConfigError saying why."""
    kind, low, high, open_low = SAMPLING[key]
    return _number({key: value}, key, kind, low, high, open_low=open_low)


def _validate(values: dict[str, Any], sources: dict[str, str], path: Where, warnings: tuple[str, ...],
              profiles: tuple[str, ...]) -> Config:
    provider = values.get("provider", "segmind")
    if provider not in PROVIDERS:
        raise _Invalid("provider", f"{str(provider)[:40]!r} is not one of {', '.join(PROVIDERS)}")
    base_url = check_base_url(values.get("base_url"))
    model = check_model(values.get("model"), provider)
    stream = values.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise _Invalid("stream", "expected true or false")
    queue = values.get("queue", False)
    if not isinstance(queue, bool):
        raise _Invalid("queue", "expected true or false")
    if queue and provider != "segmind":
        raise _Invalid("queue", f"the queue is Segmind's; the {provider} provider has none")
    if queue and not str(values.get("base_url", "")).rstrip("/").endswith("/v1"):
        raise _Invalid("queue", "needs a base_url ending in /v1 (the queue is beside it, at .../v2)")
    key_env = values.get("api_key_env")
    if key_env is not None and (not isinstance(key_env, str) or not re.fullmatch(_ENV_NAME, key_env)):
        raise _Invalid("api_key_env", f"{str(key_env)[:40]!r} is not an environment variable name")
    api_key = values.get("api_key")
    if api_key is not None:
        api_key = check_api_key(api_key)
    system = values.get("system")
    if system is not None and not isinstance(system, str):
        raise _Invalid("system", "expected text")
    theme = values.get("code_theme", "monokai")
    if not isinstance(theme, str):
        raise _Invalid("code_theme", "expected the name of a Pygments style")
    return Config(
        base_url=base_url,
        model=model,
        provider=provider,
        profile=values.get("profile"),
        api_key=api_key,
        api_key_env=key_env,
        api_key_source=sources.get("api_key", "nowhere") if api_key else "nowhere",
        stream=provider == "openai" if stream is None else stream,
        queue=queue,
        system=system or None,
        **{key: _number(values, key, *SAMPLING[key][:3], open_low=SAMPLING[key][3]) for key in SAMPLING},
        timeout=_number(values, "timeout", float, 0.0, 86400.0, open_low=True),
        retries=_number(values, "retries", int, 0, 10),
        code_theme=theme,
        low_credit_warning=_number(values, "low_credit_warning", Decimal, 0, 10**12),
        max_credits=_number(values, "max_credits", Decimal, 0, 10**12),
        context_window=_number(values, "context_window", int, 1, 10**8),
        context_warning=_number(values, "context_warning", float, 0.0, 1.0, open_low=True),
        path=os.fspath(path),
        warnings=warnings,
        profiles=profiles,
    )
