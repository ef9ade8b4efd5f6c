"""What both providers share: their HTTP client, built on first use (not needed before the prompt is up)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from segchat.net.http import Http


class LazyHttp:
    """Holds the options for an Http and builds it when a request first needs it."""

    def __init__(self, **options: Any) -> None:
        self._http_options = options
        self._http: Http | None = None
        self._lock = threading.Lock()  # the first turn and the work started after the prompt may both build it

    @property
    def http(self) -> Http:
        with self._lock:
            if self._http is None:
                from segchat.net.http import Http

                self._http = Http(**self._http_options)
            return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
