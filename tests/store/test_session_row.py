"""A session's row as a record: built by position as the store's query reads it, immutable, compared by value."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from segchat.store.session_row import SessionInfo


def test_session_info_from_a_row():
    info = SessionInfo(1, "n", "t", "m", None, 1.0, 2.0, None, Decimal("3"), 0, 4)
    assert (info.count, info.profile, info.unsent, info.balance) == (4, None, 0, Decimal("3"))


def test_session_info_is_immutable_and_compared_by_value():
    info = SessionInfo(1, "n", "t", "m", None, 1.0, 2.0, None, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.name = "other"  # type: ignore[misc]
    assert info == SessionInfo(1, "n", "t", "m", None, 1.0, 2.0, None, None)
    assert dataclasses.replace(info, name="m2").name == "m2" and info.name == "n"
