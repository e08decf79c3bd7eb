"""Model values (evidence, reports) to and from plain JSON data: the one converter.

Used to keep evidence captured from real runs as test fixtures, to carry evidence between
processes (a probe run elsewhere hands back data, not Python objects), and by the JSON
renderer for the payloads of a report. Driven by the dataclasses' own type hints, so a new
field or a new evidence type needs no codec change (a property test holds every record type
of netdx to `from_data(T, to_data(x)) == x`, or names it as not encoded and why). Mapping
fields (the owner scan's inode → holder) are JSON objects whose int keys are written as text
and read back by the annotation; a frozenset is a sorted list.
"""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar, Union, get_args, get_origin

from netdx.model.data import to_data as to_data  # the encoding half, without typing
from netdx.model.literal import real

T = TypeVar("T")
# A module's names as its annotations read them, with netdx.model.literal's Literal made
# typing's (see there): by module name.
_names: dict[str, dict[str, Any]] = {}


class CodecError(ValueError):
    """Data that does not fit the dataclass it should become."""


def from_data(cls: type[T], data: Any) -> T:
    """Rebuild a `cls` dataclass from `to_data` output; raise CodecError when it does not fit."""
    return typing.cast(T, _convert(cls, data, cls.__name__))


def _convert(hint: Any, data: Any, where: str) -> Any:
    origin = get_origin(hint)
    if origin is typing.Literal:
        if data not in get_args(hint):
            raise CodecError(f"{where}: {data!r} is not one of {get_args(hint)}")
        return data
    if origin in (Union, types.UnionType):
        return _union(hint, data, where)
    if origin is tuple:
        return _tuple(hint, data, where)
    if origin in (dict, Mapping):
        return _mapping(hint, data, where)
    if origin is frozenset:  # written as a sorted list
        if not isinstance(data, list | tuple):
            raise CodecError(f"{where}: expected a list, got {data!r}")
        (member,) = get_args(hint)
        return frozenset(_convert(member, v, f"{where}[{i}]") for i, v in enumerate(data))
    if isinstance(hint, type) and _field_names(hint) is not None:
        return _record(hint, data, where)
    if hint is float and isinstance(data, int | float) and not isinstance(data, bool):
        return float(data)
    if hint in (int, str, bool) and type(data) is hint:
        return data
    if hint is Any:
        return data
    raise CodecError(f"{where}: expected {getattr(hint, '__name__', hint)}, got {data!r}")


def _union(hint: Any, data: Any, where: str) -> Any:
    options = get_args(hint)
    if data is None and type(None) in options:
        return None
    errors = []
    for option in options:
        if option is type(None):
            continue
        try:
            return _convert(option, data, where)
        except CodecError as exc:
            errors.append(str(exc))
    raise CodecError("; ".join(errors) or f"{where}: no option fits {data!r}")


def _tuple(hint: Any, data: Any, where: str) -> tuple[Any, ...]:
    if not isinstance(data, list | tuple):
        raise CodecError(f"{where}: expected a list, got {data!r}")
    args = get_args(hint)
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(_convert(args[0], v, f"{where}[{i}]") for i, v in enumerate(data))
    if len(args) != len(data):
        raise CodecError(f"{where}: expected {len(args)} items, got {len(data)}")
    return tuple(
        _convert(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, data, strict=True))
    )


def _mapping(hint: Any, data: Any, where: str) -> dict[Any, Any]:
    """A dict or Mapping field: JSON keys are text, so an int key is read back from its
    decimal text (`to_data` writes it so); the values by the annotation."""
    if not isinstance(data, dict):
        raise CodecError(f"{where}: expected an object, got {data!r}")
    key_hint, value_hint = get_args(hint) or (Any, Any)
    out = {}
    for key, value in data.items():
        if key_hint is int and isinstance(key, str):
            try:
                number = int(key)
            except ValueError:
                raise CodecError(f"{where}: key {key!r} is not an int") from None
            if str(number) != key:  # " 7" or "07" would not write back as the same key
                raise CodecError(f"{where}: key {key!r} is not an int as to_data writes one")
            key = number
        else:
            key = _convert(key_hint, key, f"{where}[{key!r}]")
        out[key] = _convert(value_hint, value, f"{where}[{key!r}]")
    return out


def _field_names(cls: type[Any]) -> tuple[str, ...] | None:
    """The fields of a record type, a dataclass or a NamedTuple (netlink's socket record);
    None for any other type."""
    if dataclasses.is_dataclass(cls):
        return tuple(f.name for f in dataclasses.fields(cls))
    fields = getattr(cls, "_fields", None)
    return fields if issubclass(cls, tuple) and isinstance(fields, tuple) else None


def _record(cls: type[Any], data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise CodecError(f"{where}: expected an object, got {data!r}")
    hints = type_hints(cls)
    known = set(_field_names(cls) or ())
    extra = set(data) - known
    if extra:
        raise CodecError(f"{where}: unknown field(s) {sorted(extra)}")
    kwargs = {name: _convert(hints[name], value, f"{where}.{name}") for name, value in data.items()}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise CodecError(f"{where}: {exc}") from None


def type_hints(cls: type) -> dict[str, Any]:
    """`typing.get_type_hints(cls)` for a dataclass whose module writes Literal with
    netdx.model.literal's stand-in (typing's would read the stand-in's values as names):
    each annotation read in its class's module with the stand-ins made typing's."""
    hints: dict[str, Any] = {}
    for base in reversed(cls.__mro__):
        annotations = base.__dict__.get("__annotations__", {})  # noqa: RUF063
        if not annotations:
            continue
        names = _names.get(base.__module__)
        if names is None:
            space = vars(sys.modules[base.__module__])
            names = _names[base.__module__] = {key: real(value) for key, value in space.items()}
        for name, value in annotations.items():
            hints[name] = _hint(value, names, base.__module__) if isinstance(value, str) else value
    return hints


def _hint(text: str, names: dict[str, Any], module: str) -> Any:
    """An annotation read in `module`'s names; a name the module imports only for type
    checkers (--ssh's RemoteEvidence) is read through its `__getattr__` (PEP 562), once."""
    while True:
        try:
            return eval(text, names)
        except NameError as exc:
            missing = exc.name
            try:
                found = getattr(sys.modules[module], missing or "")
            except AttributeError:
                raise exc from None
            names[missing or ""] = real(found)
