"""A message's meta as the store keeps it: JSON text, with json loaded only by what reads or writes one."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing; checkers read it as True
if TYPE_CHECKING:
    from typing import Any


def text(meta: dict[str, Any]) -> str:
    import json

    return json.dumps(meta, ensure_ascii=True)  # ensure_ascii: the stored text holds no raw control character


def parse(stored: str | bytes) -> Any:
    import json

    return json.loads(stored)
