"""The Segmind key asked on the terminal: checked with one balance call before it is saved, in the OS keyring
when there is a usable one (segchat[keyring]), else in the config file (0600)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from segchat.cli.terminal import ask_api_key
from segchat.config.key_file import remove_api_key, save_api_key
from segchat.config.key_sources import KEYRING_SOURCE, store_in_keyring
from segchat.config.settings import DEFAULT
from segchat.config.validate import check_api_key
from segchat.errors import APIError, AuthError, ConfigError, UsageError
from segchat.providers.segmind import Segmind

if TYPE_CHECKING:
    from pathlib import Path

    from segchat.cli.terminal import Tty
    from segchat.config.settings import Config

TRIES = 3


def verify(config: Config, key: str, **test_hooks: Any) -> str | None:
    """None when the key works; the reason when it could not be checked. A rejected key raises AuthError."""
    provider = Segmind(config.base_url, config.model, key, timeout=min(config.timeout, 15.0), retries=0,
                       key_source="the key you typed", **test_hooks)
    try:
        provider.balance()
    except AuthError:
        raise
    except APIError as exc:
        return str(exc)
    finally:
        provider.close()
    return None


def obtain(config: Config, path: str | Path, tty: Tty | None, *, replacing: bool = False) -> Config:
    """Ask for the key until the server accepts it (or cannot be asked), then save it beside the config."""
    if config.provider != "segmind":
        raise ConfigError(f"--set-key stores a Segmind key; for the {config.provider} provider, "
                          f"{config.key_hint()}")
    if tty is None:
        raise ConfigError(f"no API key: {config.key_hint()}" if not replacing else
                          "--set-key needs a terminal to type the key on")
    if not config.key_shared:
        raise ConfigError(f"no API key: {config.key_hint()}")
    for attempt in range(TRIES):
        key = check_api_key(ask_api_key(tty, replacing=replacing or attempt > 0))
        try:
            trouble = verify(config, key)
        except AuthError:
            tty.write("Segmind rejected that key (401). Check it at segmind.com → API Keys and try again.\n")
            tty.flush()
            continue
        if trouble:
            tty.write(f"Could not check the key ({trouble}); saved it anyway.\n")
        source = save(config, path, key, tty)
        if config.api_key_source not in (DEFAULT.api_key_source, KEYRING_SOURCE, f"config file {path}"):
            tty.write(f"Note: {config.api_key_source} still takes precedence over the saved key.\n")
        tty.flush()
        return config.replace(api_key=key, api_key_source=source)
    raise UsageError(f"the key was rejected {TRIES} times; nothing was saved")


def save(config: Config, path: str | Path, key: str, tty: Tty) -> str:
    """Keep key in the OS keyring for config's server, or else in the config file, saying where (and, for the
    file, in the same line, why not the keyring); where it is now, as Config.api_key_source says it."""
    why_not = store_in_keyring(config.base_url, key)
    if why_not is None:
        # The file's old key would outrank the keyring's (see settings.load): the key lives in one place.
        removed = remove_api_key(path)
        tty.write(f"Saved in {KEYRING_SOURCE}" + (f"; the old api_key line of {path} was removed.\n" if removed
                                                  else ".\n"))
        return KEYRING_SOURCE
    save_api_key(path, key)
    tty.write(f"Saved to {path} (readable only by you; {why_not}).\n")
    return f"config file {path}"
