"""Where segchat keeps its files: the config file, the session store and the input history.

The directories are the platform's user directories, as platformdirs gives them (on Linux it honours the
XDG_CONFIG_HOME, XDG_DATA_HOME and XDG_STATE_HOME variables that hold an absolute path).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "segchat"


def config_path(explicit: str | None = None) -> str:
    """The user's config file: explicit (--config), then $SEGCHAT_CONFIG, then config.toml in the config dir.

    A path given is kept as it was written (~ expanded): messages show it so.
    """
    given = explicit or os.environ.get("SEGCHAT_CONFIG")
    if given:
        return os.path.expanduser(given)
    return os.path.join(platformdirs.user_config_dir(APP), "config.toml")


def store_path() -> Path:
    """The session store: sessions.db in the user's data directory."""
    return platformdirs.user_data_path(APP) / "sessions.db"


def history_path() -> Path:
    """What was typed at the prompt, for recalling it in later runs: history in the user's state directory."""
    return platformdirs.user_state_path(APP) / "history"
