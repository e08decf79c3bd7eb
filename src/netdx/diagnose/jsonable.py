"""One generic converter from the typed evidence payloads to JSON-ready values."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any


def jsonable(value: object) -> Any:
    """Turn frozen dataclasses (nested, in tuples) into dicts and lists, dropping None fields.

    Dropping None keeps the JSON short and means "not measured" is an absent key rather than
    a null that a consumer might read as a value.
    """
    if is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in fields(value):
            item = getattr(value, f.name)
            if item is not None:
                out[f.name] = jsonable(item)
        return out
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


def jsonable_dict(value: object) -> dict[str, Any]:
    """`jsonable` for a dataclass payload, typed as a mapping ({} for None)."""
    out = jsonable(value)
    return out if isinstance(out, dict) else {}
