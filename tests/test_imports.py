"""What the store's commands import: not pathlib, nor the urllib and ipaddress it brings (more than a listing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import segchat
from segchat.model.conversation import Message
from segchat.store import Store

CODE = """
import sys
sys.path.insert(0, sys.argv[1])
from segchat.cli.main import main
status = main(sys.argv[2:])
print(status, sorted({"pathlib", "urllib.parse", "ipaddress", "platformdirs"} & set(sys.modules)), file=sys.stderr)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="elsewhere the user's directories come from platformdirs")
@pytest.mark.parametrize("argv", [["--list"], ["--show", "kept"], ["--search", "hello"], ["--version"]])
def test_the_store_commands_import_no_pathlib(tmp_path, argv):
    """Run without site (an editable install's finder imports pathlib); segchat put on the path instead."""
    env = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "d"), "XDG_CONFIG_HOME": str(tmp_path / "c"),
           "SEGMIND_API_KEY": "test-key-12345", "SEGCHAT_BASE_URL": "http://127.0.0.1:9", "PATH": "/usr/bin:/bin"}
    store = Store(tmp_path / "d" / "segchat" / "sessions.db")
    info = store.create("kept", model="m")
    store.add_exchange(info.id, [Message("user", "hello", 0.0, {"attachments": [{"name": "a.txt", "text": "x"}]}),
                                 Message("assistant", "hi", 0.0, {})])
    store.close()
    where = str(Path(segchat.__file__).parent.parent)
    done = subprocess.run([sys.executable, "-S", "-c", CODE, where, *argv], capture_output=True, text=True, env=env)
    assert done.stderr.strip() == "0 []", done.stderr
    assert done.stdout
