"""`@record`: netdx's frozen, slotted, keyword-only dataclass, its methods compiled ahead of time.

`record` is `dataclass(frozen=True, slots=True, kw_only=True)`, run by `dataclasses` itself:
the class is a real dataclass to everything that inspects it (`fields`, `replace`, `asdict`,
the codec, mypy). One step differs. For each class `dataclasses` writes the source of six
methods (`__init__`, `__repr__`, `__eq__`, `__hash__`, `__setattr__`, `__delattr__`) and
compiles each with exec(): about half a millisecond a class, 60-90 ms for the ~110 classes a
refused loopback check defines, half of its CPU after Python's own start. Here a method
whose exact source text is in `netdx.model._methods` is made from that module's code object
instead, which Python loads from the package's bytecode like any module.

That module is generated, never edited: `python tools/precompile_records.py` imports every
module that uses `@record` and writes each text that `dataclasses` asked to compile there.
The function made is the one exec() would make: compiled from the same text, called with the
same closure values, under the same globals (the class's module). A text that is not in the
table (a class changed since it was generated, another Python) is compiled by `dataclasses`
as before, only slower; tests/unit/test_record.py fails when the table is stale and compares
every netdx dataclass built both ways. `install()` extends the table to the plain
dataclasses of the process (the `netdx` script calls it).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from types import CodeType, FunctionType
from typing import TYPE_CHECKING, Any, TypeVar

T = TypeVar("T")

# The texts `dataclasses` asked for while `capture` is a set (the generator's run).
capture: set[str] | None = None

_DATACLASS = dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
# `dataclasses._create_fn(name, args, body, *, globals, locals, return_type)` is where
# Python 3.10-3.12 compile a method from its text; 3.13 builds methods another way, and
# there `record` is the plain dataclass.
_EXEC = getattr(dataclasses, "_create_fn", None)
_table: dict[str, CodeType] | None = None


def _methods() -> dict[str, CodeType]:
    """The precompiled texts for this Python (empty when they were made for another)."""
    global _table
    if _table is None:
        from netdx.model import _methods

        _table = _methods.CODE if sys.version_info[:2] == _methods.PYTHON else {}
    return _table


def _create_fn(name: str, args: Any, body: Any, *, globals: Any = None,
               locals: Any = None, return_type: Any = dataclasses.MISSING) -> Any:
    """`dataclasses._create_fn`, with the code object of a known text taken from the table.

    The text is built exactly as `_create_fn` builds it (3.10-3.12): a factory
    `__create_fn__` whose parameters are the closure values, defining the method."""
    names = list(locals) if locals else []
    annotation = ""
    if return_type is not dataclasses.MISSING:
        names.append("_return_type")
        annotation = "->_return_type"
    inner = "\n".join(f"  {line}" for line in body)
    text = (f"def __create_fn__({', '.join(names)}):\n"
            f" def {name}({','.join(args)}){annotation}:\n{inner}\n return {name}")
    if capture is not None:
        capture.add(text)
    code = _methods().get(text)
    if code is None:
        assert _EXEC is not None  # only installed where dataclasses has it
        return _EXEC(name, args, body, globals=globals, locals=locals,
                     return_type=return_type)
    values = dict(locals) if locals else {}
    if return_type is not dataclasses.MISSING:
        values["_return_type"] = return_type
    # exec(text, globals) with no globals runs in dataclasses' own module; 3.10-3.12 always
    # pass the class's module.
    factory = FunctionType(code, globals if globals is not None else vars(dataclasses))
    return factory(**values)


def _record(cls: type[T]) -> type[T]:
    if _EXEC is None:
        return _DATACLASS(cls)
    # The swap is process-wide while it lasts, and needs no lock: a plain @dataclass defined
    # meanwhile in another thread gets the functions exec() would have made it, and a record
    # class whose swap another thread ended early has its remaining methods exec()'d.
    previous = dataclasses._create_fn  # type: ignore[attr-defined]
    dataclasses._create_fn = _create_fn  # type: ignore[attr-defined]
    try:
        return _DATACLASS(cls)
    finally:
        dataclasses._create_fn = previous  # type: ignore[attr-defined]


def install() -> None:
    """Take every dataclass's methods from the table for the rest of the process, not only
    a record's: the collector core and netlink define theirs with plain `dataclass` (they
    are shipped to servers alone, without netdx.model), and so do a few mutable helpers.
    Called once by the `netdx` entry (netdx.start) before a command's modules load. A class
    of another library is not in the table: dataclasses compiles its methods as always."""
    if _EXEC is not None:
        dataclasses._create_fn = _create_fn  # type: ignore[attr-defined]


if TYPE_CHECKING:
    from typing_extensions import dataclass_transform

    @dataclass_transform(frozen_default=True, kw_only_default=True,
                         field_specifiers=(dataclasses.field, dataclasses.Field))
    def record(cls: type[T]) -> type[T]:
        """A frozen, slotted, keyword-only dataclass."""
        ...

else:
    record: Callable[[type[T]], type[T]] = _record
