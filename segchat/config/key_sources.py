"""The API key from where people keep secrets: a command that prints it (api_key_cmd), and the OS keyring.

A command is split as a shell would split it (shlex) but run without a shell, once per process, with no input, for
at most COMMAND_TIMEOUT seconds. What it prints is the key, so neither its output nor its error output is ever
shown: a failure names the command and its exit status. The keyring is the `keyring` package's (the optional extra
segchat[keyring]); without it, or without a usable backend, the config file holds the key --set-key saves.
"""

from __future__ import annotations

import shlex
import subprocess
from typing import Any

from segchat.errors import ConfigError

COMMAND_TIMEOUT = 30.0  # seconds: long enough to unlock a password manager, short enough not to hang a run
KEYRING_SERVICE = "segchat"  # the keyring's service name; the user name is the server's base URL
KEYRING_SOURCE = "the OS keyring"  # Config.api_key_source of a key read from it

_printed: dict[str, str] = {}  # a command's output by command: each runs once per process


def split_command(command: Any) -> list[str]:
    """command's words (shlex), or ValueError saying why it is no command."""
    if not isinstance(command, str):
        raise ValueError("expected the command as text, e.g. \"pass show segmind\"")
    try:
        words = shlex.split(command)
    except ValueError as exc:  # an unclosed quote
        raise ValueError(f"cannot be split into words ({exc})") from None
    if not words:
        raise ValueError("is empty")
    return words


def command_source(command: str, where: str) -> str:
    """How a key from command, set where (a config file, a profile), is named: in errors and as the key's source."""
    return f"api_key_cmd `{command}` ({where})"


def run_key_command(command: str, said: str, timeout: float = COMMAND_TIMEOUT) -> str:
    """What command prints on stdout, without its trailing newline; run once per process (a second call answers
    from the first). ConfigError starting with said (command_source's words: the command and where it is set),
    never showing its output, when it cannot be run, fails, runs out of time or prints nothing."""
    if command in _printed:
        return _printed[command]
    words = split_command(command)
    try:
        done = subprocess.run(words, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise ConfigError(f"{said}: no such program: {words[0]}") from None
    except PermissionError:
        raise ConfigError(f"{said}: {words[0]} cannot be run (permission denied)") from None
    except subprocess.TimeoutExpired:
        raise ConfigError(f"{said} gave no key within {timeout:g} s") from None
    except OSError as exc:
        raise ConfigError(f"{said} could not be run: {exc.strerror}") from None
    if done.returncode != 0:
        how = f"exit status {done.returncode}" if done.returncode > 0 else f"signal {-done.returncode}"
        raise ConfigError(f"{said} failed ({how}); its output is not shown, as it may hold the key")
    text = done.stdout.decode("utf-8", errors="replace")
    text = text[:-1] if text.endswith("\n") else text
    text = text[:-1] if text.endswith("\r") else text
    if not text.strip():
        raise ConfigError(f"{said} printed nothing")
    _printed[command] = text
    return text


def forget_commands() -> None:
    """Forget what the commands printed (for tests: the next call runs the command again)."""
    _printed.clear()


def keyring_module() -> tuple[Any | None, str]:
    """(the keyring module, its backend's name) when a usable OS keyring is there; else (None, why not)."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None, "the keyring extra is not installed (pip install 'segchat[keyring]')"
    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # a broken backend or configuration: the file is the fallback
        return None, f"the OS keyring cannot be used ({type(exc).__name__})"
    name = type(backend).__module__ + "." + type(backend).__name__
    if isinstance(backend, fail.Keyring) or name.startswith("keyring.backends.null"):
        return None, "no usable OS keyring was found"
    return keyring, name


def read_keyring(base_url: str) -> str | None:
    """The key the keyring holds for the server at base_url; None when it holds none or cannot be used."""
    keyring, _ = keyring_module()
    if keyring is None:
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, base_url)
    except Exception:  # locked, refused, gone: as if it held none (--check says which keyring is used)
        return None


def store_in_keyring(base_url: str, key: str) -> str | None:
    """Keep key in the keyring for the server at base_url: None when it did; else why it could not."""
    keyring, why = keyring_module()
    if keyring is None:
        return why
    try:
        keyring.set_password(KEYRING_SERVICE, base_url, key)
    except Exception as exc:
        return f"the OS keyring refused it ({type(exc).__name__})"
    return None
