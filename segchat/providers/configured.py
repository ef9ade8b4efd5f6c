"""The provider a configuration names."""

from __future__ import annotations

from typing import Any

from segchat.providers.base import Provider
from segchat.providers.openai_compat import OpenAI
from segchat.providers.segmind import Segmind


def build(config: Any, model: str | None = None, **test_hooks: Any) -> Provider:
    """The provider for config (a Config), speaking for model (default: the configured one), knowing what the
    config's [models."SLUG"] tables say of models."""
    common = dict(timeout=config.timeout, retries=config.retries, key_source=config.api_key_source,
                  stream=config.stream, overrides=dict(config.models), **test_hooks)
    if config.provider == "openai":
        return OpenAI(config.base_url, model or config.model, config.api_key, key_hint=config.key_hint(), **common)
    return Segmind(config.base_url, model or config.model, config.api_key or "", queue=config.queue,
                   key_env=config.api_key_env, **common)
