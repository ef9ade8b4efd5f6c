"""The one sanitiser: untrusted text made inert for a terminal (controls, invisibles shown), or storable."""

from __future__ import annotations

import re
from typing import Any, AnyStr

from segchat.text.redact import needs_redacting, redact

_ASCII: dict[int, str] = {c: "^" + chr(c + 0x40) for c in range(0x20) if chr(c) not in "\n\t"}
_ASCII[0x7F] = "^?"
# Every printable ASCII byte, tab and LF: what sanitize() never changes. Deleting these from a text's UTF-8 leaves
# its ASCII controls and its non-ASCII characters, whole (no UTF-8 sequence holds an ASCII byte).
_PLAIN_ASCII = bytes(range(0x20, 0x7F)) + b"\t\n"
# Shown as <U+hex>: bidi overrides/isolates/marks reorder text (Trojan Source); the rest draw nothing and so
# can hide text or smuggle data (tag characters spell out hidden ASCII; so do runs of variation selectors).
# Nearly all of Unicode's Default_Ignorable_Code_Point set, plus the line/paragraph separators (no terminal
# breaks a line there, but str.splitlines and some widgets do). Kept: VS15/VS16 (U+FE0E/U+FE0F, emoji and text
# presentation) and, depending on what follows, ZWNJ/ZWJ (see _LONE_ZWJ).
_INVISIBLE: list[int | range] = [
    0x00AD,  # soft hyphen
    0x034F,  # combining grapheme joiner
    0x061C,  # Arabic letter mark
    0x115F, 0x1160, 0x3164, 0xFFA0,  # Hangul fillers
    0x17B4, 0x17B5,  # Khmer inherent vowels
    range(0x180B, 0x1810),  # Mongolian free variation selectors and vowel separator
    0x200B, 0x200E, 0x200F,  # zero-width space, LRM, RLM
    0x2028, 0x2029,  # line and paragraph separators
    range(0x202A, 0x202F),  # bidi embeddings and overrides
    range(0x2060, 0x2070),  # word joiner, invisible operators, bidi isolates, deprecated format controls
    range(0xFE00, 0xFE0E),  # variation selectors 1-14
    0xFEFF,  # zero-width no-break space (BOM)
    range(0xFFF0, 0xFFFC),  # unassigned specials, interlinear annotation
    range(0x1BCA0, 0x1BCA4),  # shorthand format controls
    range(0x1D173, 0x1D17B),  # musical beam/tie/slur/phrase format controls
    range(0xE0000, 0xE1000),  # tag characters, variation selectors 17-256, the rest of plane 14's ignorables
]
# ZWNJ and ZWJ shape Arabic-script and Indic text (Persian "می‌خواهم", Sinhala "ශ්‍රී") and ZWJ joins emoji
# (👨‍👩‍👧): kept when the next character is one they act on, shown (<U+200C>, <U+200D>) anywhere else, where
# they would only be invisible. Only the next character counts, so see HOLD_BACK for text arriving in pieces.
_JOINING_SCRIPTS = ("\u0600-\u08ff\u0900-\u0dff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff\u1800-\u18af"
                    "\ua8e0-\ua8ff\ufb50-\ufdff\ufe70-\ufefe")
_EMOJI = ("\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u2199\u21a9\u21aa\u231a\u231b\u2328\u2388\u23cf"
          "\u23e9-\u23f3\u23f8-\u23fa\u24c2\u25aa\u25ab\u25b6\u25c0\u25fb-\u25fe\u2600-\u27bf\u2934\u2935"
          "\u2b05-\u2b07\u2b1b\u2b1c\u2b50\u2b55\u3030\u303d\u3297\u3299\U0001f000-\U0001faff\U0001fc00-\U0001fffd")


def _merged(items: list[int | range]) -> tuple[tuple[int, int], ...]:
    """Code points and ranges of them as sorted, merged (first, last) spans."""
    spans: list[list[int]] = []
    for a, b in sorted((i.start, i.stop - 1) if isinstance(i, range) else (i, i) for i in items):
        if spans and a <= spans[-1][1] + 1:
            spans[-1][1] = max(b, spans[-1][1])
        else:
            spans.append([a, b])
    return tuple((a, b) for a, b in spans)


# What is shown otherwise (controls, C1, invisibles, lone surrogates): (first, last) code points, and as a regex.
_SHOWN_SPANS = _merged([range(0x09), range(0x0B, 0x20), range(0x7F, 0xA0), *_INVISIBLE, range(0xD800, 0xE000)])
_SHOWN = re.compile("[" + "".join(f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}" for a, b in _SHOWN_SPANS)
                    + "]")
_LONE_ZWJ = re.compile(f"\u200d(?![{_EMOJI}{_JOINING_SCRIPTS}])")
_LONE_ZWNJ = re.compile(f"\u200c(?![{_JOINING_SCRIPTS}])")

HOLD_BACK = ("\r", "\u200c", "\u200d")
"""Endings that depend on the character after them ("\\r\\n" folds to "\\n"; a joiner stays or is shown).

The contract for text that arrives in pieces: never sanitize a piece ending in one of these on its own;
hold that last character back and put it in front of the next piece (or sanitize it alone at the end).
Then sanitize(a) + sanitize(b) == sanitize(a + b) for every cut.
"""

_PIECE = 65536  # characters sanitize() takes at a time from a long text


def sanitize(text: str) -> str:
    """Make untrusted text inert for a terminal: controls and invisible characters become visible
    (ESC as ^[, U+200B as <U+200B>), never raw.

    Per character, except that "\\r\\n" becomes "\\n" and a ZWNJ/ZWJ depends on the next character:
    chunked and whole text come out the same when no piece ends in one of HOLD_BACK.
    Linear in the length of text, whatever it holds; text that needs no change is returned as it is.
    """
    if len(text) > _PIECE:
        # In pieces that end at line breaks (no piece then ends in HOLD_BACK: the same result), so that one
        # line that needs changing does not send all of a long text the slow way.
        return "".join(map(_sanitize_piece, line_pieces(text, _PIECE)))
    return _sanitize_piece(text)


def one_line(text: str) -> str:
    """sanitize() for a name shown within a line (an attached file's, one offered to a shell): line breaks and
    tabs are shown too (^J, ^I), so the name stays on its line and nothing in it acts on the terminal."""
    if "\n" in text or "\t" in text:
        text = text.replace("\n", "^J").replace("\t", "^I")
    return sanitize(text)


def safe(text: Any) -> str:
    """Sanitised and with secrets redacted: for anything that may hold server or user data."""
    return sanitize(redact(str(text)))


def line_pieces(text: AnyStr, size: int) -> list[AnyStr]:
    """text (str or bytes) cut into pieces of at least size, each but the last ending at a line break."""
    newline = "\n" if isinstance(text, str) else b"\n"
    pieces, start = [], 0
    while start < len(text):
        end = text.find(newline, start + size)  # type: ignore[arg-type]
        end = len(text) if end < 0 else end + 1
        pieces.append(text[start:end])
        start = end
    return pieces


def unplain(data: bytes) -> bytes:
    """UTF-8 text without its plain ASCII (printable, tab, LF), which sanitize() never changes: its ASCII
    controls and its non-ASCII characters, whole (no UTF-8 sequence holds an ASCII byte)."""
    return data.translate(None, _PLAIN_ASCII)


def leaves(rest: bytes) -> bool:
    """Whether sanitize() leaves a text as it is, told by unplain() of the text's UTF-8 (valid UTF-8); False
    for a joiner, which it may leave (that is for sanitize() to tell)."""
    if rest.isascii():  # nothing, or controls
        return not rest
    rest_text = rest.decode("utf-8", "surrogatepass")
    return not ("\u200c" in rest_text or "\u200d" in rest_text or _SHOWN.search(rest_text))


def as_it_is(data: bytes) -> bool:
    """Whether text, as UTF-8 (surrogates passed), is left as it is by sanitize() and redact(). False for a
    joiner, which sanitize() may leave: that is for it to tell."""
    return leaves(unplain(data)) and not needs_redacting(data.decode("utf-8", "surrogatepass"))


def _sanitize_piece(text: str) -> str:
    # Most text needs no change: one C pass over its bytes tells, and leaves little or nothing to look at.
    rest = unplain(text.encode("utf-8", "surrogatepass"))
    return text if leaves(rest) else _sanitize_all(text)


def _sanitize_all(text: str) -> str:
    """sanitize() of text that may need changing; linear: a replace, a regex pass per joiner present, a
    translate by a table of the characters found (a table of every one there is would hold thousands)."""
    text = text.replace("\r\n", "\n")
    if "\u200d" in text:
        text = _LONE_ZWJ.sub("<U+200D>", text)
    if "\u200c" in text:
        text = _LONE_ZWNJ.sub("<U+200C>", text)
    return text.translate({ord(c): _shown(c) for c in set(_SHOWN.findall(text))})


def _shown(char: str) -> str:
    """What sanitize() shows instead of a character _SHOWN matches."""
    code = ord(char)
    if code < 0x20 or code == 0x7F:
        return _ASCII[code]
    return "\ufffd" if 0xD800 <= code < 0xE000 else f"<U+{code:04X}>"


def whole_text(text: str) -> str:
    """Text that can be stored and sent as UTF-8: surrogate pairs joined, a lone surrogate (from a server's
    JSON, or a pair split across two stream events) replaced by U+FFFD."""
    if text.isascii():
        return text
    try:  # one C pass: only a surrogate fails to encode
        text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text
