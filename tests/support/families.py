"""Whole replies as the model families word them, which Segmind's gateway passes through unchanged: shaped after the
examples on Segmind's model pages (Claude: Anthropic's message; Gemini: candidates and usageMetadata).

A family's reply takes, from a scripted action or job spec: content (the text), reasoning (a thinking block, or a
part marked "thought", before the text), finish_reason (as the family words it: "end_turn", "max_tokens"; "STOP",
"MAX_TOKENS", "SAFETY"), usage (the family's own usage object, verbatim; False or None sends none).
"""

from __future__ import annotations

from typing import Any


def reply(family: str, spec: dict[str, Any], content: str, prompt: int, completion: int) -> dict[str, Any]:
    """A whole reply of family holding content; prompt and completion are the token counts to report."""
    if family == "anthropic":
        return anthropic(spec, content, prompt, completion)
    if family == "gemini":
        return gemini(spec, content, prompt, completion)
    raise ValueError(f"no such family: {family}")


def anthropic(spec: dict[str, Any], content: str, prompt: int, completion: int) -> dict[str, Any]:
    blocks = [{"type": "thinking", "thinking": spec["reasoning"], "signature": "EqQBCgIYAhIM"}] \
        if "reasoning" in spec else []
    blocks.append({"type": "text", "text": content})
    result: dict[str, Any] = {"id": "msg_abc123", "type": "message", "role": "assistant", "content": blocks,
                              "model": "claude-4.5-sonnet", "stop_reason": spec.get("finish_reason", "end_turn"),
                              "stop_sequence": None}
    usage = spec.get("usage", True)
    if usage:
        result["usage"] = usage if isinstance(usage, dict) else {"input_tokens": prompt, "output_tokens": completion}
    return result


def gemini(spec: dict[str, Any], content: str, prompt: int, completion: int) -> dict[str, Any]:
    parts = [{"text": spec["reasoning"], "thought": True}] if "reasoning" in spec else []
    parts.append({"text": content})
    result: dict[str, Any] = {
        "candidates": [{"content": {"parts": parts, "role": "model"},
                        "finishReason": spec.get("finish_reason", "STOP"), "index": 0}],
        "modelVersion": "gemini-2.5-flash"}
    usage = spec.get("usage", True)
    if usage:
        result["usageMetadata"] = usage if isinstance(usage, dict) else {
            "promptTokenCount": prompt, "candidatesTokenCount": completion, "totalTokenCount": prompt + completion}
    return result
