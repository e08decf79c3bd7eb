"""Everything `dataclasses` decides about a class, as comparable text (for test_record.py).

Run as a script (`python record_shape.py table|exec`) it imports every netdx module that
defines dataclasses, with the recipes installed (`table`) or with none (`exec`: what
dataclasses itself makes), and prints one JSON object: each dataclass's shape by qualified
name, and whether it was built from its recipe.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
import sys
from pathlib import Path
from types import CodeType, FunctionType
from typing import Any

TOOLS = Path(__file__).resolve().parents[2] / "tools"

METHODS = ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__",
           "__getstate__", "__setstate__")


def _text(value: Any) -> str:
    """repr without the addresses of objects (they differ from process to process)."""
    return re.sub(r" at 0x[0-9a-f]+", "", repr(value))


def _code(code: CodeType) -> list[Any]:
    """A code object whole: bytecode, constants (nested code too), names, arguments, and
    where its text came from (file name, line numbers)."""
    return [code.co_name, code.co_qualname, code.co_code.hex(), code.co_argcount,
            code.co_kwonlyargcount, code.co_posonlyargcount, code.co_flags,
            list(code.co_names), list(code.co_varnames), list(code.co_freevars),
            list(code.co_cellvars), code.co_exceptiontable.hex(), code.co_filename,
            code.co_firstlineno, code.co_linetable.hex(), code.co_stacksize,
            [_code(c) if isinstance(c, CodeType) else _text(c) for c in code.co_consts]]


def _function(fn: Any) -> Any:
    if not isinstance(fn, FunctionType):
        return _text(fn)
    inner = getattr(fn, "__wrapped__", None)  # __repr__ is wrapped by _recursive_repr
    return {"wrapped": _function(inner) if inner is not None else None,
            "name": fn.__name__, "qualname": fn.__qualname__, "module": fn.__module__,
            "doc": fn.__doc__, "dict": sorted(vars(fn)),
            "globals": fn.__globals__.get("__name__"), "code": _code(fn.__code__),
            "defaults": _text(fn.__defaults__), "kwdefaults": _text(fn.__kwdefaults__),
            "annotations": _text(fn.__annotations__),
            "closure": [_text(cell.cell_contents) for cell in fn.__closure__ or ()]}


def _field(cls: type, field: Any) -> list[Any]:
    # Which class's Field object it is: a base's fields are shared with the subclass.
    owner = next((base.__qualname__ for base in reversed(cls.__mro__)
                  if base.__dict__.get("__dataclass_fields__", {}).get(field.name) is field),
                 None)
    return [field.name, _text(field.type), _text(field.default),
            _text(field.default_factory), field.init, field.repr, _text(field.hash),
            field.compare, _text(dict(field.metadata)), type(field.metadata).__name__,
            field.kw_only, _text(field._field_type), type(field).__name__, owner]


def _value(value: Any) -> Any:
    if isinstance(value, FunctionType):
        return _function(value)
    if isinstance(value, dataclasses._DataclassParams):  # type: ignore[attr-defined]
        return [_text(value)] + [getattr(value, name) for name in value.__slots__]
    return [type(value).__qualname__, _text(value)]


def shape(cls: type) -> dict[str, Any]:
    """What `dataclasses` made of `cls`: fields, parameters, slots, doc, methods, and every
    entry of the class's dict in its order."""
    fields = [_field(cls, f) for f in cls.__dataclass_fields__.values()]  # type: ignore[attr-defined]
    own = cls.__dict__
    return {"fields": fields, "params": _value(own["__dataclass_params__"]),
            "match_args": _text(getattr(cls, "__match_args__", None)),
            "slots": _text(own.get("__slots__")), "doc": cls.__doc__,
            "name": [cls.__name__, cls.__qualname__, cls.__module__, type(cls).__name__],
            "mro": [c.__qualname__ for c in cls.__mro__],
            "dict": [[name, _value(value)] for name, value in own.items()],
            "getstate": [own.get("__getstate__") is dataclasses._dataclass_getstate,  # type: ignore[attr-defined]
                         own.get("__setstate__") is dataclasses._dataclass_setstate],  # type: ignore[attr-defined]
            "abstract": _text(getattr(cls, "__abstractmethods__", None)),
            "methods": {name: _function(own.get(name)) for name in METHODS}}


def origin(cls: type) -> str:
    """How `cls` was built: `recipe` (netdx.model.record, from the table) or `dataclasses`."""
    from netdx.model import record

    return "recipe" if cls in record.built else "dataclasses"


def classes(module: Any) -> dict[str, type]:
    """The dataclasses a module defines (nested ones too), by qualified name."""
    found: dict[str, type] = {}
    pending = list(vars(module).values())
    while pending:
        value = pending.pop()
        if (isinstance(value, type) and dataclasses.is_dataclass(value)
                and value.__module__ == module.__name__ and value.__qualname__ not in found):
            found[value.__qualname__] = value
            pending.extend(vars(value).values())
    return found


def main(mode: str) -> None:
    from netdx.model import record

    sys.path.insert(0, str(TOOLS))
    import precompile_records

    if mode == "exec":
        record.use_tables = False
    record.install()  # every dataclass, as the netdx script runs
    names = list(precompile_records.dataclass_modules())
    for name in names:
        importlib.import_module(name)
    out = {}
    for name in names:
        for qualname, cls in classes(sys.modules[name]).items():
            out[f"{name}.{qualname}"] = {"shape": shape(cls), "origin": origin(cls)}
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
