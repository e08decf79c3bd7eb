"""`@record`: netdx's frozen, slotted, keyword-only dataclass, its methods compiled ahead of time.

`record` is `dataclass(frozen=True, slots=True, kw_only=True)`, run by `dataclasses` itself:
the class is a real dataclass to everything that inspects it (`fields`, `replace`, `asdict`,
the codec, mypy). One step differs. For each class `dataclasses` writes the source of six
methods (`__init__`, `__repr__`, `__eq__`, `__hash__`, `__setattr__`, `__delattr__`) and
compiles each with exec(): about half a millisecond a class, 60-90 ms for the ~110 classes a
refused loopback check defines, half of its CPU after Python's own start. Here a method
whose exact source text is in `netdx.model._methods_*` is made from that module's code object
instead (one module per netdx package: `_methods_plan`, `_methods_firewall`...), which
Python loads from the package's bytecode like any module.

Those modules are generated, never edited: `python tools/precompile_records.py` imports every
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
import importlib
import sys
from collections.abc import Callable
from types import CodeType, FunctionType
from typing import TYPE_CHECKING, Any, TypeVar

T = TypeVar("T")

# (package, text) of each method `dataclasses` asked for while `capture` is a set (the
# generator's run).
capture: set[tuple[str, str]] | None = None

_DATACLASS = dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
# `dataclasses._create_fn(name, args, body, *, globals, locals, return_type)` is where
# Python 3.10-3.12 compile a method from its text; 3.13 builds methods another way, and
# there `record` is the plain dataclass.
_EXEC = getattr(dataclasses, "_create_fn", None)
# The precompiled texts, one table per netdx package (`model`, `plan`, `firewall`...: the
# second part of the defining module's name), each loaded when that package first defines a
# class: a refused check loads about half of them.
_tables: dict[str, dict[str, CodeType]] = {}


def package_of(module: str) -> str:
    """The table a class of `module` takes its methods from (`netdx.plan.requests` → plan);
    "" for a module outside netdx (no table)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "netdx" else ""


def _methods(package: str) -> dict[str, CodeType]:
    """The precompiled texts of `package` for this Python (empty when there are none, or
    they were made for another Python)."""
    table = _tables.get(package)
    if table is None:
        table = {}
        if package:
            try:
                module = importlib.import_module(f"netdx.model._methods_{package}")
            except ModuleNotFoundError:
                module = None
            if module is not None and sys.version_info[:2] == module.PYTHON:
                table = module.CODE
        _tables[package] = table
    return table


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
    package = package_of(globals.get("__name__", "") if globals is not None else "")
    if capture is not None:
        capture.add((package, text))
    code = _methods(package).get(text)
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
