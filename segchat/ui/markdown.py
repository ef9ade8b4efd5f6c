"""Markdown as rich shows it, for a whole reply and a streamed one: the renderable, the nesting rich can show,
and rich's modules loaded ahead of the first reply."""

from __future__ import annotations

import functools
import re
from typing import Any

MAX_NESTING = 12  # quotes and lists nested deeper are shown as plain text (rich drops what no longer fits)

_LIST_ITEM = re.compile(r"(?:[-*+]|\d{1,9}[.)])(?:\s|$)")


def nesting(text: str) -> int:
    """How deeply quotes and lists nest in Markdown text, by the leading marks of its lines (outside code)."""
    deepest, fence = 0, ""
    for line in text.split("\n"):
        stripped = line.lstrip()
        if stripped[:3] in ("```", "~~~") and (not fence or stripped.startswith(fence)):
            fence = "" if fence else stripped[:3]
            continue
        if fence:
            continue
        body = line.lstrip(" \t>")
        lead = line[: len(line) - len(body)]
        indent = len(lead.replace(">", "").expandtabs(4)) // 2 if _LIST_ITEM.match(body) else 0
        deepest = max(deepest, lead.count(">") + indent)
    return deepest


def renderable(clean: str, code_theme: str) -> Any:
    """Sanitised text as a rich renderable: Markdown, or plain text when nested deeper than MAX_NESTING,
    where rich would silently drop what no longer fits the width (40 nested quotes show nothing)."""
    if nesting(clean) > MAX_NESTING:
        from rich.text import Text

        return Text(clean)
    return markdown_class()(clean, code_theme=code_theme, hyperlinks=False)


@functools.cache
def markdown_class() -> Any:
    """rich's Markdown, with images shown with their address: "🌆 alt" alone would hide where it points."""
    from rich.markdown import ImageItem, Markdown
    from rich.text import Text

    class Image(ImageItem):
        def __rich_console__(self, console: Any, options: Any) -> Any:
            title = self.text or Text(self.destination.strip("/").rsplit("/", 1)[-1])
            yield Text.assemble("🌆 ", title, " (", self.destination, ") ", end="")

    return type("Markdown", (Markdown,), {"elements": {**Markdown.elements, "image": Image}})


def preload() -> None:
    """Import rich's Markdown machinery ahead of the first reply (called off the main thread)."""
    import rich.console  # noqa: F401
    import rich.markdown  # noqa: F401
    import rich.status  # noqa: F401
