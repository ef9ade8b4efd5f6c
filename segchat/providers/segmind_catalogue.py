"""Segmind's chat models as segchat knows them: the catalogue shipped beside this module (segmind_models.toml),
corrected and added to by the user's [models."SLUG"] tables.

Segmind's gateway serves each model at its own slug and has no model list to ask, nor does it state a context
window: the catalogue holds each model's family (whose request and reply shapes it speaks), the window and the
longest reply its maker publishes, and one line about it. A slug it does not know is still sent as it is.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import tomllib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from segchat.config.settings import ModelSettings

# Read from beside this module (package data, installed with it): no importlib.resources, which costs more to
# import than reading the file does.
FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "segmind_models.toml")
YOURS = "your config file"  # the source of what a [models."SLUG"] table says


@dataclass(frozen=True, slots=True)
class Entry:
    """One model of the catalogue. None: not known (only a user's own entry lacks a family or a window)."""

    slug: str
    family: str | None  # one of config.settings.FAMILIES
    context_window: int | None  # tokens the model reads, conversation and reply together
    max_output: int | None  # the most tokens one reply may have, where its maker states a separate limit
    description: str  # one line
    source: str  # where context_window comes from
    successor: str | None = None  # for a model Segmind no longer lists: the one to use instead


@functools.cache
def shipped() -> dict[str, Entry]:
    """The catalogue segchat ships, by slug, in the file's order (read once)."""
    with open(FILE, "rb") as handle:
        tables = tomllib.load(handle)["models"]
    return {slug: Entry(slug, table["family"], table["context_window"], table.get("max_output"),
                        table["description"], table["source"], table.get("successor"))
            for slug, table in tables.items()}


def entry(slug: str, overrides: Mapping[str, ModelSettings] | None = None) -> Entry | None:
    """What segchat knows of slug: the catalogue's entry with what the user's table for it says put over it, or
    the user's table alone; None when neither has the slug."""
    known, own = shipped().get(slug), (overrides or {}).get(slug)
    if own is None:
        return known
    if known is None:
        return Entry(slug, own.family, own.context_window, own.max_output, own.description or "", YOURS)
    said = {field.name: value for field in dataclasses.fields(own) if (value := getattr(own, field.name)) is not None}
    if own.context_window is not None:
        said["source"] = YOURS
    return dataclasses.replace(known, **said)


def entries(overrides: Mapping[str, ModelSettings] | None = None) -> list[Entry]:
    """Every model segchat knows: the catalogue's in its order, then the user's own, by slug; each with what the
    user's table for it says."""
    own = sorted(slug for slug in overrides or {} if slug not in shipped())
    return [found for slug in [*shipped(), *own] if (found := entry(slug, overrides)) is not None]


def successor(slug: str) -> str | None:
    """For a model Segmind no longer lists (it answers 410 Gone): the catalogue's model to use instead, if any."""
    known = shipped().get(slug)
    return known.successor if known is not None else None
