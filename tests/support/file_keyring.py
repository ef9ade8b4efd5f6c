"""A keyring backend for tests: the passwords in the JSON file $SEGCHAT_TEST_KEYRING, never the user's keyring.

In-process: keyring.set_keyring(FileKeyring()); for the installed program:
PYTHON_KEYRING_BACKEND=file_keyring.FileKeyring with this folder on PYTHONPATH.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class FileKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def _path(self) -> Path:
        return Path(os.environ["SEGCHAT_TEST_KEYRING"])

    def _read(self) -> dict[str, str]:
        try:
            return json.loads(self._path().read_text())
        except FileNotFoundError:
            return {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._read().get(f"{service} {username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._read()
        data[f"{service} {username}"] = password
        self._path().write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        data = self._read()
        if data.pop(f"{service} {username}", None) is None:
            raise PasswordDeleteError(username)
        self._path().write_text(json.dumps(data))
