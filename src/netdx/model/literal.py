"""`Literal` at run time without importing `typing` (5-10 ms a check needs for nothing else).

A module whose Literal aliases or dataclass fields must be readable at run time (the codec
reads the fields' types with `typing.get_type_hints`) imports `from netdx.model.literal
import Literal`: mypy reads typing's (re-exported below), and so does ruff (pyproject's
`typing-modules`). Here `Literal["a", "b"]` is `types.GenericAlias(Literal, ("a", "b"))`:
`typing.get_args` gives its values as for typing's and `Alias | None` is a union, but
`typing.get_type_hints` would take the values for names: the codec reads a module's
annotations with its names made typing's own (`real`). A module that needs Literal for
annotations of functions alone imports typing's under TYPE_CHECKING and nothing at run time.
"""

import functools
import operator
import sys
from types import GenericAlias, UnionType

TYPE_CHECKING = False


class _Literal:
    """`typing.Literal` as data: subscribed, the values in a `types.GenericAlias`."""

    def __class_getitem__(cls, values: object) -> GenericAlias:
        return GenericAlias(cls, values)


if TYPE_CHECKING:
    from typing import Literal as Literal
else:
    Literal = _Literal


def real(value: object) -> object:
    """`value` with this Literal made typing's, in it or in the aliases it is made of
    (`Literal` itself, `Literal[...]`, `tuple[Kind, int]`, `Kind | None`); else itself."""
    import typing  # by the codec, which has imported it

    if value is _Literal:
        return typing.Literal
    if isinstance(value, GenericAlias):
        if value.__origin__ is _Literal:
            return typing.Literal[value.__args__]
        args = tuple([real(arg) for arg in value.__args__])
        if any(new is not old for new, old in zip(args, value.__args__, strict=True)):
            return GenericAlias(value.__origin__, args)  # type: ignore[arg-type]
    elif isinstance(value, UnionType):
        args = tuple([real(arg) for arg in value.__args__])
        if any(new is not old for new, old in zip(args, value.__args__, strict=True)):
            return functools.reduce(operator.or_, args)
    return value


def is_literal(origin: object) -> bool:
    """Whether `typing.get_origin(hint)` says `hint` is a Literal (typing's or this one)."""
    typing = sys.modules.get("typing")
    return origin is _Literal or (typing is not None and origin is typing.Literal)
