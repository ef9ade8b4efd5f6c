"""Where segchat keeps its config, sessions and state: the platform's user directories."""

from __future__ import annotations

import os
import sys

APP = "segchat"
_XDG = {"config": ("XDG_CONFIG_HOME", ".config"), "data": ("XDG_DATA_HOME", ".local/share"),
        "state": ("XDG_STATE_HOME", ".local/state")}


def user_dir(kind: str) -> str:
    """The user's "config", "data" or "state" directory for segchat.

    On Linux with the XDG variable (or else HOME) an absolute path, that is the directory, exactly as
    platformdirs gives it (a test compares the two). Every other case goes to platformdirs, whose import
    costs more than the rest of a `segchat --list`.
    """
    variable, default = _XDG[kind]
    if sys.platform == "linux":
        base = os.environ.get(variable, "")
        if not base:
            home = os.environ.get("HOME", "")
            base = os.path.join(home, default) if home.startswith("/") else ""
        if base.startswith("/"):
            return os.path.join(base, APP)
    import platformdirs

    return getattr(platformdirs, f"user_{kind}_dir")(APP)
