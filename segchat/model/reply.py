"""What a server answered: a chat completion (Reply) and an account's credits (Balance)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

MAX_TOKENS = 10**9  # a usage count at or beyond this is nonsense


@dataclass
class Reply:
    """A chat completion as segchat needs it.

    reasoning: what the model thought before it answered, where the server sends that apart from the reply
    (reasoning_content or reasoning): shown set apart, kept with the reply, never sent back as history.
    """

    content: str
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    credits: Decimal | None = None  # the balance the server reported with the reply
    credits_raw: str | None = None
    cost: Decimal | None = None  # what the server says this request cost, where it says (Segmind's x-credits-consumed)
    elapsed: float = 0.0
    incomplete: str | None = None
    streamed: bool = False  # shown piece by piece as it arrived
    interrupted: bool = False  # the user stopped it (Ctrl-C): what arrived is all there is
    reasoning: str = ""

    @property
    def tokens(self) -> int | None:
        """The server's count of this turn's tokens (prompt and reply), when it gave a sane one."""
        total = (self.usage or {}).get("total_tokens")
        return total if isinstance(total, int) and 0 < total < MAX_TOKENS else None


@dataclass
class Balance:
    """An account's credits and its free credits, as the server counts them (None: absent or unreadable)."""

    credits: Decimal | None
    free: Decimal | None
