"""A home of its own for segchat run by the tests, the benchmarks and the screenshot: HOME and the XDG dirs under one
folder, so the real user's config, sessions, history and keyring are never read nor written."""

from __future__ import annotations

from pathlib import Path

XDG_DIRS = (("XDG_CONFIG_HOME", ".config"), ("XDG_DATA_HOME", ".local/share"), ("XDG_STATE_HOME", ".local/state"),
            ("XDG_CACHE_HOME", ".cache"))
NO_KEYRING = "keyring.backends.fail.Keyring"  # a keyring backend that holds nothing and stores nothing


def home_variables(home: Path) -> dict[str, str]:
    """HOME and the XDG_* variables pointing under home (the folders made), and the keyring backend that touches no
    real keyring."""
    variables = {"HOME": str(home), "PYTHON_KEYRING_BACKEND": NO_KEYRING}
    for name, sub in XDG_DIRS:
        (home / sub).mkdir(parents=True, exist_ok=True)
        variables[name] = str(home / sub)
    return variables


def data_dir(variables: dict[str, str]) -> Path:
    """segchat's data folder (where sessions.db lives) in a home made by home_variables."""
    return Path(variables["XDG_DATA_HOME"]) / "segchat"


def config_dir(variables: dict[str, str]) -> Path:
    """segchat's config folder (config.toml, roles/) in a home made by home_variables."""
    return Path(variables["XDG_CONFIG_HOME"]) / "segchat"
