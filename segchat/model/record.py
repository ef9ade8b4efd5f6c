"""Immutable records whose fields are their class's annotations: for what --list and --show load."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing; checkers read it as True
if TYPE_CHECKING:
    from typing import Any


class Record:
    """Fields from the class's annotations (in order), defaults from its attributes; built by position or
    keyword, compared and hashed by value, changed copies from replace(). What a frozen dataclass gives,
    without importing dataclasses (and inspect with it): that import alone is a tenth of a `segchat --list`.
    """

    FIELDS: tuple[str, ...] = ()
    HIDDEN: tuple[str, ...] = ()  # left out of repr(): secrets

    def __init_subclass__(cls, **options: Any) -> None:
        super().__init_subclass__(**options)
        cls.FIELDS = tuple(name for name in cls.__dict__.get("__annotations__", {}) if not name.isupper())

    def __init__(self, *values: Any, **named: Any) -> None:
        if len(values) > len(self.FIELDS):
            raise TypeError(f"{type(self).__name__} takes at most {len(self.FIELDS)} values, got {len(values)}")
        given = dict(zip(self.FIELDS, values, strict=False))  # fewer values than fields: the rest by name
        for name, value in named.items():
            if name not in self.FIELDS:
                raise TypeError(f"{type(self).__name__} has no field {name!r}")
            if name in given:
                raise TypeError(f"{type(self).__name__} got {name!r} twice")
            given[name] = value
        for name in self.FIELDS:
            if name in given:
                object.__setattr__(self, name, given[name])
            elif not hasattr(type(self), name):
                raise TypeError(f"{type(self).__name__} needs a value for {name!r}")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.FIELDS)

    def replace(self, **changes: Any) -> Any:
        return type(self)(**{**dict(zip(self.FIELDS, self._values(), strict=True)), **changes})

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} cannot be changed; replace() makes a changed copy")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} cannot be changed; replace() makes a changed copy")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.FIELDS if name not in self.HIDDEN)
        return f"{type(self).__name__}({shown})"
