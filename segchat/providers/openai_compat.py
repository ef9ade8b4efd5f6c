"""OpenAI-compatible servers (llama.cpp, Ollama, vLLM, LiteLLM): POST {base_url}/chat/completions."""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Any, Callable

from segchat.errors import APIError, AuthError, BadResponseError, MethodError, NotFoundError, RetryableError, UsageError
from segchat.model.call import Call
from segchat.model.reply import Balance, Reply
from segchat.net import decoding
from segchat.net.http import Answer, Http
from segchat.providers.base import context_error, other_status, reply_of, window_of
from segchat.text.excerpt import excerpt

if TYPE_CHECKING:
    from collections.abc import Mapping

    from segchat.config.settings import ModelSettings


class OpenAI:
    name = "openai"
    has_credits = False
    lists_models = True
    recovers_jobs = False
    asks_window = True
    family = None  # one request and reply shape, OpenAI's, whatever the model
    warms_up = False  # a server of one's own answers when its model is loaded; nothing warms up per request

    def __init__(self, base_url: str, model: str, api_key: str | None, *, timeout: float = 120.0, retries: int = 2,
                 key_source: str = "your configuration", key_hint: str = "set api_key in your config",
                 stream: bool = True, overrides: Mapping[str, ModelSettings] | None = None,
                 transport: Any = None, sleep: Callable[[float], None] | None = None) -> None:
        """overrides: the config's [models."SLUG"] tables (only their descriptions matter here: the server says
        the rest)."""
        self.base_url, self.model, self.stream = base_url, model, stream
        self.overrides = dict(overrides or {})
        self._listed: list[dict[str, Any]] | None = None  # the model list as last fetched
        self.key_source, self.key_hint, self._has_key = key_source, key_hint, bool(api_key)
        # Local servers often need no key; none is sent unless one is configured for this provider.
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = Http(timeout=timeout, retries=retries, headers=headers, transport=transport, sleep=sleep,
                         tls=not base_url.startswith("http:"), billed=False)

    def complete(self, messages: list[dict[str, str]], params: dict[str, Any] | None = None,
                 call: Call | None = None) -> Reply:
        call = call or Call()
        body: dict[str, Any] = {"model": self.model, "messages": messages, **(params or {})}
        if self.stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}  # the context meter needs the token count
        return self._sent(lambda: self.http.request("POST", f"{self.base_url}/chat/completions",
                                                    lambda a: self._reply(a, call), json=body, call=call))

    def balance(self, call: Call | None = None) -> Balance:
        raise UsageError("OpenAI-compatible servers have no credits to ask for")

    def resume(self, job: dict[str, str], call: Call | None = None) -> Reply:
        raise UsageError("OpenAI-compatible servers have no queue to fetch a reply from")

    def models(self, call: Call | None = None) -> list[str]:
        """The ids GET {base_url}/models lists."""
        return [entry["id"] for entry in self._listing(call)]

    def context_window(self, call: Call | None = None) -> int | None:
        """The window the server states for the model: its model list's entry (llama.cpp's meta.n_ctx, vLLM's
        max_model_len, a context_length or context_window field, llama.cpp's meta.n_ctx_train), else llama.cpp's
        /props (an older llama.cpp lists no n_ctx); None when the server says nothing. The model list models()
        fetched is read again, not fetched again (start-up asks for both, one after the other)."""
        listing = self._listed if self._listed is not None else self._listing(call)
        entry = next((e for e in listing if e["id"] == self.model), listing[0] if len(listing) == 1 else None)
        if entry is None:
            return None
        meta = entry.get("meta") if isinstance(entry.get("meta"), dict) else {}
        for value in (meta.get("n_ctx"), entry.get("max_model_len"), entry.get("context_length"),
                      entry.get("context_window")):
            if (window := window_of(value)) is not None:
                return window
        trained = window_of(meta.get("n_ctx_train"))
        if entry.get("owned_by") == "llamacpp":  # the served window, where the list has only the trained one
            with contextlib.suppress(APIError):
                return self.http.request("GET", f"{self.base_url.removesuffix('/v1')}/props", self._props,
                                         call=call) or trained
        return trained

    def _listing(self, call: Call | None) -> list[dict[str, Any]]:
        """The model list's entries that have an id (at most 500), from GET {base_url}/models; kept as _listed."""
        self._listed = self._sent(lambda: self.http.request("GET", f"{self.base_url}/models", self._models,
                                                            call=call))
        return self._listed

    def _sent(self, request: Callable[[], Any]) -> Any:
        """A local server that is not running is the usual reason nothing answers: say which one."""
        try:
            return request()
        except RetryableError as exc:
            if exc.status is not None:
                raise
            raise RetryableError(f"{exc}; is the server at {self.base_url} running?") from None

    def suggestions(self) -> list[str]:
        return [self.model]

    def describe(self, model: str) -> str:
        """The description the user's [models."SLUG"] table gives, if any."""
        own = self.overrides.get(model)
        return (own.description or "") if own is not None else ""

    def close(self) -> None:
        self.http.close()

    def _reply(self, answer: Answer, call: Call) -> Reply:
        self._check(answer)
        return reply_of(answer, call)

    def _models(self, answer: Answer) -> list[dict[str, Any]]:
        self._check(answer)
        obj = decoding.parse_json(answer.body, answer.status)
        data = obj.get("data") if isinstance(obj, dict) else None
        if not isinstance(data, list):
            raise BadResponseError(f"the model list has no 'data' list: {excerpt(answer.body)}", answer.status)
        return [m for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)][:500]

    def _props(self, answer: Answer) -> int | None:
        """llama.cpp's /props: the window each slot serves."""
        if answer.status != 200:
            return None
        try:
            settings = json.loads(answer.body).get("default_generation_settings")
        except (ValueError, RecursionError, AttributeError):
            return None
        return window_of(settings.get("n_ctx")) if isinstance(settings, dict) else None

    def _check(self, answer: Answer) -> None:
        status = answer.status
        if 200 <= status < 300:
            return
        detail = decoding.error_detail(answer.body)
        if status in (401, 403):
            if self._has_key:
                raise AuthError(f"{self.base_url} rejected the API key ({status}: {detail}); it came from "
                                f"{self.key_source}", status)
            raise AuthError(f"{self.base_url} asks for an API key ({status}: {detail}); {self.key_hint}", status)
        if status == 404:
            raise NotFoundError(f"{answer.url} not found, or no model '{self.model}' there (404: {detail}); "
                                "check base_url and the model id", status)
        if status == 405:
            raise MethodError(f"{answer.method} is not allowed at {answer.url} (405: {detail}); check base_url",
                              status)
        raise context_error(answer) or other_status(answer)
