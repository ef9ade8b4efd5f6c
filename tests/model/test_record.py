"""Records: fields from annotations, built by position or name, immutable, compared by value."""

from __future__ import annotations

from decimal import Decimal

import pytest

from segchat.model.record import Record
from segchat.store.session_row import SessionInfo


class Point(Record):
    x: int
    y: int = 0
    label: str | None = None


def test_built_by_position_and_by_name_with_defaults():
    assert (Point(1).x, Point(1).y, Point(1).label) == (1, 0, None)
    assert Point(1, 2, label="a") == Point(x=1, y=2, label="a")
    assert Point.FIELDS == ("x", "y", "label")


@pytest.mark.parametrize("make", [lambda: Point(), lambda: Point(1, 2, "a", "b"), lambda: Point(1, z=2),
                                  lambda: Point(1, x=2)])
def test_wrong_construction_is_a_type_error(make):
    with pytest.raises(TypeError):
        make()


def test_immutable_and_replaced():
    point = Point(1, 2)
    with pytest.raises(AttributeError):
        point.x = 5
    with pytest.raises(AttributeError):
        del point.y
    moved = point.replace(y=7)
    assert (point.y, moved.y, moved.x) == (2, 7, 1)


def test_equality_and_hash_by_value_and_type():
    assert Point(1, 2) == Point(1, 2) and hash(Point(1, 2)) == hash(Point(1, 2))
    assert Point(1, 2) != Point(1, 3)
    assert Point(1, 2) != (1, 2, None)


def test_session_info_from_a_row():
    info = SessionInfo(1, "n", "t", "m", None, 1.0, 2.0, None, Decimal("3"), 0, 4)
    assert (info.count, info.profile, info.unsent, info.balance) == (4, None, 0, Decimal("3"))
