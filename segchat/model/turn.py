"""What a turn produces, as data: the reply, its cost, notices as codes; and how a request is run."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, TypeVar

from segchat.model.call import Call
from segchat.model.reply import Reply

T = TypeVar("T")
# Runs a request function given its Call; the REPL's runner shows progress and takes Ctrl-C.
Runner = Callable[[Callable[[Call], T]], T]


def run_here(request: Callable[[Call], T]) -> T:
    """Run a request in this thread, nothing shown while it runs."""
    return request(Call())


@dataclass(frozen=True)
class Notice:
    """Something to tell the user, as a code plus its values; render words it for the REPL or one-shot."""

    code: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class Turn:
    """What one exchange produced, for the UI to show."""

    reply: Reply
    cost: Decimal | None
    notices: list[Notice] = field(default_factory=list)
    saved: bool = True
