"""Checks of single settings: the key, the model id, the base URL, the code theme; each error names the setting."""

from __future__ import annotations

import difflib
import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

from segchat.errors import ConfigError
from segchat.text.redact import register_secret

_KEY = re.compile(r"[\x21-\x7e]{8,256}")
_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# A name a user gives a session or a role: letters, digits, '.', '_' and '-', at most 64, the first a letter or digit.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# OpenAI-style ids go in the body, not the URL: llama3.1:8b, meta-llama/Llama-3.1-8B-Instruct.
_MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,255}")
# rich's own code themes besides Pygments' styles: the terminal's 16 colours (rich.syntax.RICH_SYNTAX_THEMES).
RICH_THEMES = ("ansi_dark", "ansi_light")


class Invalid(ConfigError):
    """One setting is wrong; config.load() adds where it came from."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key, self.reason = key, reason


def check_api_key(value: Any) -> str:
    """Strip and validate a key; the error never contains the key itself."""
    if not isinstance(value, str):
        raise Invalid("api_key", "expected text")
    key = value.strip()
    if not _KEY.fullmatch(key):
        raise Invalid("api_key", "is not a valid API key (8-256 printable ASCII characters, no spaces)")
    register_secret(key)
    return key


def check_model(value: Any, provider: str = "segmind") -> str:
    """A Segmind slug goes into the URL's path, so it is strict; other ids travel in the body."""
    if provider == "segmind":
        if not isinstance(value, str) or not _SLUG.fullmatch(value):
            raise Invalid("model", f"{str(value)[:60]!r} is not a model slug (letters, digits, '.', '_', '-')")
    elif not isinstance(value, str) or not _MODEL_ID.fullmatch(value) or ".." in value:
        raise Invalid("model", f"{str(value)[:60]!r} is not a model id (letters, digits and . _ : / @ + -)")
    return value


def is_model(value: Any, provider: str = "segmind") -> bool:
    """Whether check_model() accepts value for provider."""
    try:
        check_model(value, provider)
    except Invalid:
        return False
    return True


def is_any_model(value: Any) -> bool:
    """Whether value is a model id for some provider: a Segmind slug or an OpenAI-compatible server's id."""
    return is_model(value, "segmind") or is_model(value, "openai")


def check_base_url(value: Any) -> str:
    """The URL without surrounding spaces or a trailing slash. Only https, or http to this machine (localhost or
    a loopback address): the API key travels in a header. No query or fragment: requests append paths to it."""
    if not isinstance(value, str):
        raise Invalid("base_url", "expected a URL")
    text = value.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        raise Invalid("base_url", f"{value[:80]!r} has an invalid port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid("base_url", f"{value[:80]!r} is not an http(s) URL")
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise Invalid("base_url", f"{value[:80]!r} has a query or fragment; requests append paths to base_url, "
                                  "so it must end with a path")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in text):
        raise Invalid("base_url", "contains spaces or control characters")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise Invalid("base_url", f"refusing plain http:// to {parts.hostname}: the API key would travel "
                                   "unencrypted; use https://")
    return text.rstrip("/")


def check_code_theme(value: Any) -> str:
    """A theme rich can draw code in: one of Pygments' styles (an installed plugin's too) or rich's own.

    Pygments' table of its styles costs a few milliseconds to import, so a caller need not ask about a theme
    known to be one; only the way to an error looks for plugins (they are read from every installed package).
    """
    if not isinstance(value, str):
        raise Invalid("code_theme", "expected the name of a Pygments style")
    if value in RICH_THEMES:
        return value
    from pygments.styles import STYLE_MAP, get_all_styles

    if value in STYLE_MAP:
        return value
    themes = sorted({*get_all_styles(), *RICH_THEMES})
    if value in themes:
        return value
    close = difflib.get_close_matches(value, themes, n=3)
    few = [name for name in ("monokai", "dracula", "github-dark", "nord", "solarized-light", "default", "ansi_dark")
           if name in themes and name not in close]
    lead = f"did you mean {' or '.join(map(repr, close))}? others" if close else "some there are"
    raise Invalid("code_theme", f"{value[:40]!r} is not a Pygments style ({lead}: {', '.join(few)} "
                                f"and {len(themes) - len(few) - len(close)} more)")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
