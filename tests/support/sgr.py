"""Reading the SGR escape sequences (ESC [ ... m) in raw terminal output: which are there, which set a colour."""

from __future__ import annotations

import re

_SGR = re.compile(r"\x1b\[([0-9;:]*)m")
# Foreground and background colours: the 8 basic, 256 and RGB (38, 48) and the bright ones. 39 and 49 (back to
# the default colour) set none.
_COLOUR = {*range(30, 39), *range(40, 49), *range(90, 98), *range(100, 108)}


def sgr_sequences(raw: bytes | str) -> list[str]:
    """Every SGR sequence in raw, as its parameters ("1;31", "0", "")."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return _SGR.findall(text)


def colour_sequences(raw: bytes | str) -> list[str]:
    """The SGR sequences in raw that set a colour (38;5;n and 38;2;r;g;b included)."""
    return [params for params in sgr_sequences(raw)
            if any(int(p) in _COLOUR for p in re.split("[;:]", params) if p.isdigit())]
