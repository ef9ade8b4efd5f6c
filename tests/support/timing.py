"""How long one call takes: for tests that untrusted input cannot make a function take quadratic time."""

from __future__ import annotations

import time
from typing import Any, Callable


def timed(f: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """f(*args) and the seconds it took."""
    started = time.perf_counter()
    result = f(*args)
    return result, time.perf_counter() - started
