"""The parts of a class built from its recipe (netdx.model.record) that hold dataclasses'
objects, set on first use.

Importing `dataclasses` costs a check 10-15 ms (it imports `inspect`: ast, dis, tokenize,
enum...) and a check needs none of what it makes beyond the methods the recipe gives:
`__init__`, `__eq__`, `__hash__`. So `_build` leaves each attribute below as a `Lazy`; the
first read of any (`dataclasses.fields`, `replace`, `asdict`, `is_dataclass`, the codec,
`repr`, an assignment that must raise FrozenInstanceError, pickling, `__doc__`) imports
dataclasses and sets them all as `_process_class` makes them (`complete`), in place, so
the class dict ends as dataclasses leaves it (tests/unit/test_record.py compares).
"""

from __future__ import annotations

import _thread
import marshal
import sys

from netdx.netlink._compat import MISSING, FieldSpec

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from netdx.model.record import Params

# What dataclasses sets lazily here: on first use of one, `complete` imports dataclasses and
# sets them all (`__repr__` and `__setattr__`/`__delattr__` too: they hold dataclasses' objects).
LAZY = frozenset({"__dataclass_fields__", "__dataclass_params__", "__repr__", "__setattr__",
                   "__delattr__", "__getstate__", "__setstate__", "__doc__"})
# A class built from its recipe whose lazy attributes are not set yet → its params, recipe,
# own fields (with the dataclasses Field its body gave, if one) and whether its doc is to be
# made.
pending: dict[type, tuple[Params, tuple[Any, ...], list[tuple[FieldSpec, Any]], bool]] = {}
# One class completed at a time (a base's completion nests in its subclass's): a thread that
# reads a lazy attribute while another completes the class waits for the real one.
_completing = _thread.RLock()


class Lazy:
    """An attribute `dataclasses` sets that needs dataclasses' objects (Fields, params, the
    recursive repr, FrozenInstanceError, pickling's state): the first read completes the
    class (`complete`), then reads the real one."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        owner = type(instance) if owner is None else owner
        cls = next(c for c in owner.__mro__ if c.__dict__.get(self.name) is self)
        complete(cls)
        value = cls.__dict__[self.name]
        getter = getattr(type(value), "__get__", None)
        return value if getter is None else getter(value, instance, owner)


# One Lazy per attribute name, shared by every class: `Lazy.__get__` finds the class to
# complete as the first of the owner's MRO that still holds it, which is the class the
# attribute lookup found it in, one object or many (one less object per attribute and class).
LAZIES = {name: Lazy(name) for name in LAZY}


def complete(cls: type) -> None:
    """Sets what `_build` left lazy, as dataclasses makes it: the Field objects (a base's
    shared, a field()'s made from its FieldSpec), the params, the recursive `__repr__`, the
    frozen `__setattr__`/`__delattr__` (they raise dataclasses' FrozenInstanceError), the
    pickling state functions, the doc (the signature, by inspect)."""
    with _completing:
        waiting = pending.pop(cls, None)
        if waiting is not None:
            _set_lazy(cls, *waiting)


def _set_lazy(cls: type, params: Params, recipe: tuple[Any, ...],
              own: list[tuple[FieldSpec, Any]], make_doc: bool) -> None:
    """`complete`'s work, once per class."""
    from netdx.model import record  # loaded: it built the class

    dataclasses = record._dataclasses()
    original = cls.__dict__
    fields: dict[str, Any] = {}
    for base in cls.__mro__[-1:0:-1]:
        fields.update(getattr(base, "__dataclass_fields__", {}))
    kinds = (dataclasses._FIELD, dataclasses._FIELD_CLASSVAR,
             dataclasses._FIELD_INITVAR)

    def theirs(item: object) -> object:
        return dataclasses.MISSING if item is MISSING else item

    for spec, real in own:
        made = real if real is not None else dataclasses.Field(
            theirs(spec.default), theirs(spec.default_factory), spec.init, spec.repr,
            spec.hash, spec.compare, spec.meta, MISSING)
        made.name, made.type, made.kw_only = spec.name, spec.type, theirs(spec.kw_only)
        made._field_type = kinds[spec.kind]
        fields[spec.name] = made
    init, repr_, eq, order, unsafe_hash, frozen = params[:6]
    values: dict[str, Any] = {
        "__dataclass_params__": dataclasses._DataclassParams(
            init, repr_, eq, order, unsafe_hash, frozen),
        "__dataclass_fields__": fields,
        "__getstate__": dataclasses._dataclass_getstate,
        "__setstate__": dataclasses._dataclass_setstate}
    constants = {**record._CONSTANTS, "FrozenInstanceError": dataclasses.FrozenInstanceError}
    globals_ = sys.modules[cls.__module__].__dict__
    specs = record._specs[cls]
    for name, code, *spec_ in recipe[3]:
        if name in LAZY and isinstance(original.get(name), Lazy):
            if isinstance(code, bytes):  # a lazy method's code is kept marshalled (the generator)
                code = marshal.loads(code)
            method = record._method(code, globals_, spec_, specs, cls, constants)
            if name == "__repr__":
                method = dataclasses._recursive_repr(method)
            method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"
            values[name] = method
    if make_doc:
        values["__doc__"] = _doc(cls)
    for name, value in values.items():
        if isinstance(original.get(name), Lazy):
            setattr(cls, name, value)


def _doc(cls: type) -> str:
    """The doc `dataclasses` gives a class without one: its signature."""
    import inspect  # dataclasses has imported it already

    return cls.__name__ + str(inspect.signature(cls)).replace(" -> None", "")
