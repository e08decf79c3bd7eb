"""`to_data`: model values (evidence, reports) as plain JSON data, the codec's encoding half.

Apart from `netdx.model.codec` (which re-exports it) because encoding needs neither `typing`
nor `dataclasses`: a record's fields are read from its recipe (netdx.model.record) and a
plain dataclass's from dataclasses, which made it and so is loaded. `check --json` then
imports neither (with inspect, ~15 ms of CPU); decoding (`from_data`) reads type hints and
stays in the codec.
"""

from __future__ import annotations

import sys

from netdx.netlink import _compat

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def to_data(value: Any, *, omit_none: bool = False) -> Any:
    """A dataclass tree as dicts, lists and scalars (a NamedTuple record, like a dataclass,
    as a dict of its fields).

    Every field is kept, None included, so `from_data` rebuilds the value exactly. With
    `omit_none` a None field is left out instead: the documents netdx prints read "not
    measured" as an absent key, never as a null a consumer might take for a value (such
    data is for reading, not for `from_data`: a required field may be missing).
    """
    names = field_names(value)
    if names is None:
        if isinstance(value, dict):  # a Mapping field (OwnerScan's inode → holder)
            return {_key(k): to_data(v, omit_none=omit_none) for k, v in value.items()}
        if isinstance(value, frozenset | set):  # sorted, so the same set writes the same JSON
            return _sorted([to_data(v, omit_none=omit_none) for v in value])
        if isinstance(value, tuple | list):
            names = getattr(value, "_fields", None) or ()  # a NamedTuple record: by its fields
            if not names:
                return [to_data(v, omit_none=omit_none) for v in value]
        else:
            return value
    out = {}
    for name in names:
        item = getattr(value, name)
        if item is not None or not omit_none:
            out[name] = to_data(item, omit_none=omit_none)
    return out


def _key(key: object) -> object:
    """A mapping key as JSON writes it: an int key as its decimal text (JSON keys are text;
    `from_data` reads it back by the annotation), any other key as it is."""
    return str(key) if isinstance(key, int) and not isinstance(key, bool) else key


def _sorted(items: list[Any]) -> list[Any]:
    """A set's members in a stable order (by value, or by their JSON-ish text when the
    members do not compare)."""
    try:
        return sorted(items)
    except TypeError:
        return sorted(items, key=repr)


def field_names(value: object) -> tuple[str, ...] | None:
    """The field names of a dataclass instance, in order (`dataclasses.fields`); None for
    anything else (a class included)."""
    specs = _compat.FIELDS(type(value)) if _compat.FIELDS is not None else None
    if specs is not None:  # built from its recipe: no dataclasses needed
        return tuple([spec.name for spec in specs])
    dataclasses = sys.modules.get("dataclasses")  # not loaded: no other dataclass exists
    if (dataclasses is None or isinstance(value, type)
            or not dataclasses.is_dataclass(value)):
        return None
    return tuple([f.name for f in dataclasses.fields(value)])
