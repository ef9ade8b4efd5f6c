"""A message's meta as the store keeps it: JSON text, with json loaded only by what reads or writes one."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing; checkers read it as True
if TYPE_CHECKING:
    from typing import Any, Callable

_scan: Callable[[str, int], tuple[Any, int]] | None = None


def text(meta: dict[str, Any]) -> str:
    import json

    return json.dumps(meta, ensure_ascii=True)  # ensure_ascii: the stored text holds no raw control character


def parse(stored: str | bytes) -> Any:
    import json

    return json.loads(stored)


def scanner() -> Callable[[str, int], tuple[Any, int]]:
    """json.loads's parser without its checks around it (see Store.load)."""
    global _scan
    if _scan is None:
        import json

        _scan = json.JSONDecoder().scan_once
    return _scan
