"""A short, safe excerpt of what a server sent: HTML reduced to text, secrets redacted, linear time."""

from __future__ import annotations

import codecs
import re

from segchat.text.redact import redact

EXCERPT_WINDOW = 64 * 1024  # bytes of a body excerpt() looks at: its 200 characters come from the start


def excerpt(data: bytes, limit: int = 200) -> str:
    """A short one-line excerpt; HTML is reduced to its text; secrets are redacted. Sanitised later, at output.

    Only the first EXCERPT_WINDOW bytes are read, and in linear time, whatever they hold. Redaction comes
    before any cut, and a word the window cut off is dropped: a key cut short is no longer recognised.
    """
    cut = len(data) > EXCERPT_WINDOW
    # Not final: a character cut off at the end of the window is left out, not turned into U+FFFD.
    text = codecs.getincrementaldecoder("utf-8")("replace").decode(data[:EXCERPT_WINDOW], final=not cut)
    if cut and text and not text[-1].isspace():  # drop the last word, or its last 256 characters (a key's most)
        tail = text[-256:]
        spaces = [i for i, c in enumerate(tail) if c.isspace()]
        text = text[:len(text) - len(tail) + (spaces[-1] + 1 if spaces else 0)]
    if text.lstrip().startswith("<"):
        text = _html_text(text)
    text = redact(" ".join(text.split()))
    if not text:
        return f"(no text in the first {EXCERPT_WINDOW >> 10} KiB)" if cut else "(empty body)"
    return text if len(text) <= limit and not cut else text[:limit] + "…"


_RAW_TEXT = re.compile(r"<(script|style)(?=[\s/>]|$)", re.IGNORECASE)
_RAW_END = {"script": re.compile("</script", re.IGNORECASE), "style": re.compile("</style", re.IGNORECASE)}


def _html_text(html: str) -> str:
    """The text of HTML: tags, comments, scripts and styles become spaces. One forward scan (no backtracking);
    an unclosed tag, comment or script hides the rest, as a browser would."""
    out, i = [], 0
    while (j := html.find("<", i)) >= 0:
        out.append(html[i:j])
        out.append(" ")
        if html.startswith("<!--", j):
            end, close = html.find("-->", j + 4), 3
        elif raw := _RAW_TEXT.match(html, j):
            closing = _RAW_END[raw[1].lower()].search(html, raw.end())
            end, close = (html.find(">", closing.end()), 1) if closing else (-1, 1)
        else:
            end, close = html.find(">", j + 1), 1
        if end < 0:
            return "".join(out)
        i = end + close
    out.append(html[i:])
    return "".join(out)
