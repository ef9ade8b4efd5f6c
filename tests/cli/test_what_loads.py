"""What each path loads: the heavy trees (and what httpx alone needs) wait for the request or reply that needs
them, so the prompt, --list and --show never pay for them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Loaded with the first request or reply, never before: see the seams in tests/test_layers.py.
LATER = ("httpx", "httpcore", "rich", "markdown_it", "pygments", "argcomplete", "urllib.request", "email.utils")


def loaded_by(*modules: str) -> set[str]:
    """The modules a fresh interpreter holds after importing these."""
    code = "import json, sys\n" + "".join(f"import {m}\n" for m in modules) + "print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out))


@pytest.mark.parametrize("path", [
    ("segchat.cli.main", "segchat.cli.args", "segchat.cli.session_flags"),  # --list, --show, --search
    ("segchat.cli.main", "segchat.app.session_choice", "segchat.cli.oneshot", "segchat.cli.apikey",
     "segchat.tui.repl", "segchat.providers.configured"),  # the chat, up to its prompt
    ("segchat.cli.main", "segchat.cli.args", "segchat.config.settings", "segchat.providers.segmind_catalogue",
     "segchat.ui.render"),  # --models
])
def test_nothing_heavy_loads_before_it_is_needed(path):
    loaded = loaded_by(*path)
    assert set(path) <= loaded  # the imports ran
    assert [m for m in LATER if m in loaded] == []


def test_the_version_loads_nothing_of_segchat_but_its_entry_point():
    loaded = loaded_by("segchat.cli")
    assert {m for m in loaded if m.startswith("segchat")} == {"segchat", "segchat.cli"}


def test_the_config_path_loads_no_settings(cli_env):
    """`segchat --config-path` (as in `$EDITOR "$(segchat --config-path)"`) prints where the file is without
    reading it: the settings' module waits for a path that uses them."""
    code = ("import json, sys\nfrom segchat.cli import main\nstatus = main.main(['--config-path'])\n"
            "print(json.dumps([status, sorted(sys.modules)]), file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", code], env=cli_env, capture_output=True, text=True, timeout=60)
    status, loaded = json.loads(result.stderr.strip().splitlines()[-1])
    assert status == 0 and result.stdout.strip().endswith("config.toml")
    assert "segchat.config.settings" not in loaded and "segchat.config.paths" in loaded


def test_a_question_loads_no_session_management(cli_env):
    """The session flags' module (and the listing, showing and exporting it brings) waits for those flags."""
    code = ("import json, sys\nfrom segchat.cli import main\nstatus = main.main(['hello'])\n"
            "print(json.dumps([status, sorted(sys.modules)]), file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", code], env=cli_env, capture_output=True, text=True, timeout=60)
    status, loaded = json.loads(result.stderr.strip().splitlines()[-1])
    assert status == 0 and result.stdout.strip()  # the question was answered
    assert "segchat.cli.session_flags" not in loaded and "segchat.app.sessions" not in loaded
    assert "segchat.app.session_choice" in loaded  # the check can fail: the chat's own path is loaded
