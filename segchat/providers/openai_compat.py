"""OpenAI-compatible servers (llama.cpp, Ollama, vLLM, LiteLLM): POST {base_url}/chat/completions."""

from __future__ import annotations

from typing import Any, Callable

from segchat.errors import AuthError, BadResponseError, MethodError, NotFoundError, RetryableError, UsageError
from segchat.model.call import Call
from segchat.model.reply import Balance, Reply
from segchat.net import decoding
from segchat.net.http import Answer, Http
from segchat.providers.base import other_status, reply_of
from segchat.text.excerpt import excerpt


class OpenAI:
    name = "openai"
    has_credits = False
    lists_models = True
    recovers_jobs = False

    def __init__(self, base_url: str, model: str, api_key: str | None, *, timeout: float = 120.0, retries: int = 2,
                 key_source: str = "your configuration", key_hint: str = "set api_key in your config",
                 stream: bool = True, transport: Any = None, sleep: Callable[[float], None] | None = None) -> None:
        self.base_url, self.model, self.stream = base_url, model, stream
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
        return self._sent(lambda: self.http.request("GET", f"{self.base_url}/models", self._models, call=call))

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

    def close(self) -> None:
        self.http.close()

    def _reply(self, answer: Answer, call: Call) -> Reply:
        self._check(answer)
        return reply_of(answer, call)

    def _models(self, answer: Answer) -> list[str]:
        self._check(answer)
        obj = decoding.parse_json(answer.body, answer.status)
        data = obj.get("data") if isinstance(obj, dict) else None
        if not isinstance(data, list):
            raise BadResponseError(f"the model list has no 'data' list: {excerpt(answer.body)}", answer.status)
        return [m["id"] for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)][:500]

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
        raise other_status(answer)
