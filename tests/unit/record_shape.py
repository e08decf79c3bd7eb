"""Everything `dataclasses` decides about a class, as comparable text (for test_record.py).

Run as a script (`python record_shape.py table|exec`) it imports every netdx module that
defines dataclasses, with the precompiled methods installed (`table`) or with none (`exec`:
what dataclasses itself makes), and prints one JSON object: each dataclass's shape by
qualified name, and where its methods' code came from.
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
    """A code object's behaviour: bytecode, constants (nested code too), names, arguments;
    not where its text came from (file name, line numbers)."""
    return [code.co_name, code.co_qualname, code.co_code.hex(), code.co_argcount,
            code.co_kwonlyargcount, code.co_posonlyargcount, code.co_flags,
            list(code.co_names), list(code.co_varnames), list(code.co_freevars),
            list(code.co_cellvars), code.co_exceptiontable.hex(),
            [_code(c) if isinstance(c, CodeType) else _text(c) for c in code.co_consts]]


def _function(fn: Any) -> Any:
    if not isinstance(fn, FunctionType):
        return _text(fn)
    inner = getattr(fn, "__wrapped__", None)  # __repr__ is wrapped by _recursive_repr
    return {"wrapped": _function(inner) if inner is not None else None,
            "qualname": fn.__qualname__, "module": fn.__module__,
            "globals": fn.__globals__.get("__name__"), "code": _code(fn.__code__),
            "defaults": _text(fn.__defaults__), "kwdefaults": _text(fn.__kwdefaults__),
            "annotations": _text(fn.__annotations__),
            "closure": [_text(cell.cell_contents) for cell in fn.__closure__ or ()]}


def shape(cls: type) -> dict[str, Any]:
    """What `dataclasses` made of `cls`: fields, parameters, slots, doc and methods."""
    fields = [[f.name, _text(f.type), _text(f.default), _text(f.default_factory), f.init,
               f.repr, _text(f.hash), f.compare, _text(dict(f.metadata)), f.kw_only,
               _text(f._field_type)]  # type: ignore[attr-defined]
              for f in cls.__dataclass_fields__.values()]  # type: ignore[attr-defined]
    return {"fields": fields, "params": _text(cls.__dataclass_params__),  # type: ignore[attr-defined]
            "match_args": _text(getattr(cls, "__match_args__", None)),
            "slots": _text(cls.__dict__.get("__slots__")), "doc": cls.__doc__,
            "mro": [c.__qualname__ for c in cls.__mro__],
            "methods": {name: _function(cls.__dict__.get(name)) for name in METHODS}}


def origin(cls: type) -> str:
    """Where `__init__`'s code came from: `<string>` (exec) or the precompiled module
    (`_methods_PACKAGE.py`)."""
    return cls.__init__.__code__.co_filename.rsplit("/", 1)[-1]  # type: ignore[misc]


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
        record._methods = lambda package: {}  # type: ignore[assignment]
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
