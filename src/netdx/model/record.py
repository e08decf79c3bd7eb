"""`@record`: netdx's frozen, slotted, keyword-only dataclass, built from a precomputed recipe.

`record` is `dataclass(frozen=True, slots=True, kw_only=True)`: the class is a real
dataclass to everything that inspects it (`fields`, `replace`, `asdict`, the codec, mypy).
Defining one the usual way costs `dataclasses` about 0.3 ms even with its methods compiled
ahead of time: it finds the fields (reading each string annotation for ClassVar, InitVar and
KW_ONLY with a regex and module lookups), writes six methods, sets them one by one on the
class, then makes the class a second time for its slots. A refused loopback check defines
~130 classes, so that work was a fifth of its CPU after Python's own start.

Here, a class whose recipe is in `netdx.model._methods_PACKAGE` (one generated module per
netdx package, holding each class's recipe as marshal bytes, read only for the classes
defined) is built in one step: the recipe holds everything `dataclasses._process_class`
decided for the class (which annotations are fields, ClassVars or KW_ONLY markers, the
methods' code objects, the slots, `__match_args__`, the hash rule), together with a
fingerprint of everything that decision read from the class: the decorator's parameters,
the classes it inherits from (and their slots), the names in the class body, the
annotations, each default (a plain value, or a `field()` and its flags), what the module's
globals bind the annotations' first names to, `__post_init__`, an explicit `__hash__`.
The fingerprint is taken again from the class being defined; when anything differs (the
class changed since the table was made, another Python, a base that was itself not built
from a recipe) `dataclasses` builds the class as always, only slower. The tables of one
process all come from one run of the generator (a table of another run is not read: a
subclass's recipe knows its base's recipe by name). The build then does what
`_process_class` does, in the same order, with the same objects: the same Field objects (a
base's shared, a `field()`'s own), the methods made by the same `__create_fn__` code from
the same closure values under the same globals (the code objects are those `exec()` makes,
file `<string>` included), the same class dict in the same order, the same second class for
the slots. tests/unit/test_record.py builds every netdx dataclass both ways and compares
them, and fails when a table is stale.

The tables are written by `python tools/precompile_records.py` (`make venv` runs it).
`install()` makes every dataclass of the process use them, not only a record (the `netdx`
script calls it: the collector core and netlink define theirs with plain `dataclass`).
The build mirrors Python 3.11's `dataclasses`; on another Python no table is read.
"""

from __future__ import annotations

import abc
import dataclasses
import importlib
import marshal
import sys
from collections.abc import Callable
from dataclasses import MISSING, Field
from types import CellType, CodeType, FunctionType, MemberDescriptorType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeVar

    T = TypeVar("T")

# dataclass()'s parameters, in `_process_class`'s order: init, repr, eq, order, unsafe_hash,
# frozen, match_args, kw_only, slots, weakref_slot.
Params = tuple[bool, bool, bool, bool, bool, bool, bool, bool, bool, bool]
RECORD: Params = (True, True, True, False, False, True, True, True, True, False)
_PROCESS = dataclasses._process_class  # type: ignore[attr-defined]
# The build below follows 3.11's `_process_class` step by step.
PYTHON = (3, 11)
FAST = sys.version_info[:2] == PYTHON

# False: every class is built by `dataclasses` (the generator, and the tests' reference).
use_tables = True
# Each class built from a recipe → "module:qualname" of that recipe. A subclass's recipe
# holds on its base being built from the recipe it was made with.
built: dict[type, str] = {}
# module → qualname → recipe (marshal bytes), filled a package at a time.
_recipes: dict[str, dict[str, bytes]] = {}
_loaded: set[str] = set()
# The generator's run the first table read came from: a table of another run is not read.
_generation: dict[str, str] = {}

_FIELD_TYPES = (dataclasses._FIELD, dataclasses._FIELD_CLASSVAR,  # type: ignore[attr-defined]
                dataclasses._FIELD_INITVAR)  # type: ignore[attr-defined]
_CONSTANTS = {"MISSING": MISSING, "_return_type": None,
              "_HAS_DEFAULT_FACTORY": dataclasses._HAS_DEFAULT_FACTORY,  # type: ignore[attr-defined]
              "__dataclass_builtins_object__": object,
              "FrozenInstanceError": dataclasses.FrozenInstanceError}


def package_of(module: str) -> str:
    """The table a class of `module` takes its recipe from (`netdx.plan.requests` → plan);
    "" for a module outside netdx (no table)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "netdx" else ""


def _magic() -> bytes:
    """This Python's bytecode magic number: a recipe's code objects are marshal data of it."""
    external = sys.modules.get("_frozen_importlib_external")
    return getattr(external, "MAGIC_NUMBER", b"")


def _recipes_of(module: str) -> dict[str, bytes]:
    """The recipes of `module`'s classes, by qualified name (empty when there are none)."""
    recipes = _recipes.get(module)
    if recipes is None:
        package = package_of(module)
        if package and package not in _loaded:
            _loaded.add(package)
            try:
                table = importlib.import_module(f"netdx.model._methods_{package}")
            except (ImportError, SyntaxError):  # none, or cut short: dataclasses builds
                table = None
            generation = getattr(table, "GENERATION", None)  # None: an older format
            if (table is not None and generation is not None and _magic() == table.MAGIC
                    and _generation.setdefault("run", generation) == generation):
                for name, classes in table.CLASSES.items():
                    _recipes.setdefault(name, classes)
        recipes = _recipes.setdefault(module, {})
    return recipes


def _tag(value: object) -> int:
    """What `dataclasses` can make of a module global that an annotation string starts with:
    the typing or dataclasses module, a ClassVar, KW_ONLY, an InitVar, or nothing."""
    if value is None:
        return 0
    if value is dataclasses:
        return 1
    typing = sys.modules.get("typing")
    if typing is not None:
        if value is typing:
            return 2
        if dataclasses._is_classvar(value, typing):  # type: ignore[attr-defined]
            return 3
    if value is dataclasses.KW_ONLY:
        return 4
    if dataclasses._is_initvar(value, dataclasses):  # type: ignore[attr-defined]
        return 5
    return 0


def _describe(default: object) -> object:
    """What `dataclasses` reads from a field's class attribute: none, a value (hashable or
    not), or a field() with its flags."""
    if default is MISSING or isinstance(default, MemberDescriptorType):
        return None
    if isinstance(default, Field):
        return (default.init, default.repr, default.hash, default.compare,
                None if default.kw_only is MISSING else default.kw_only,
                default.default is MISSING, default.default_factory is MISSING,
                default.default.__class__.__hash__ is None)
    return default.__class__.__hash__ is None


def _base(base: type) -> str | None:
    """A class of the MRO as a fingerprint holds it: a dataclass by the recipe it was built
    from (None when it was not: no recipe of a subclass fits then), another class by name
    (its attributes that matter are in the fingerprint: defaults, `__post_init__`, slots)."""
    if base is object:
        return "object"
    key = built.get(base)
    if key is None and type(base) is type and not hasattr(base, "__dataclass_fields__"):
        return f"plain {base.__module__}:{base.__qualname__}"
    return key


def fingerprint(cls: type, params: Params, heads: tuple[str, ...]) -> tuple[Any, ...] | None:
    """Everything `_process_class` reads from `cls` to decide what it makes of it (`heads`:
    the first names of its annotation strings); None for a class no recipe can be made for
    (a metaclass, a module not in sys.modules)."""
    module = sys.modules.get(cls.__module__)
    if module is None or type(cls) is not type:
        return None
    space = cls.__dict__
    annotations = space.get("__annotations__", {})
    names = module.__dict__
    mro = cls.__mro__
    defaults = [getattr(cls, name, MISSING) for name in annotations]
    given = [default for default in defaults if isinstance(default, Field)]
    return (params,
            ("object",) if len(mro) == 2 else tuple([_base(base) for base in mro[1:]]),
            tuple([base.__dict__.get("__slots__") for base in mro[1:-1]]),
            # Whether typing is loaded matters to a head that is typing's (tagged 2, 3).
            frozenset(space), annotations,
            # A class (the common case: `int`, `Endpoint`) is none of what _tag looks for.
            tuple([0 if (value := names.get(head)) is None
                   or (type(value) is type and value is not dataclasses.InitVar)
                   else _tag(value) for head in heads]),
            tuple([None if default is MISSING else _describe(default)
                   for default in defaults]),
            hasattr(cls, "__post_init__"), space.get("__hash__", MISSING) is None,
            # One field() object given to two fields, a field() with no annotation.
            len(given) > 1 and len({id(default) for default in given}) < len(given),
            tuple([name for name, value in space.items()
                   if isinstance(value, Field) and name not in annotations]))


def _values(refs: tuple[tuple[int, str], ...], fields: dict[str, Any],
            cls: type) -> list[Any]:
    """The values `dataclasses` passes a method's `__create_fn__` for these parameters,
    each named by the generator as (0, field): `_type_FIELD`, the field's type; (1, field):
    `_dflt_FIELD`, its default or default factory; (2, name): a constant, or `cls`."""
    return [fields[key].type if kind == 0
            else (field.default if (field := fields[key]).default_factory is MISSING
                  else field.default_factory) if kind == 1
            else cls if key == "cls" else _CONSTANTS[key]
            for kind, key in refs]


def _method(code: CodeType, globals_: dict[str, Any], spec: list[Any],
            fields: dict[str, Any], cls: type) -> Any:
    """The function `__create_fn__(...)` returns, made as its `def` makes it: the code
    under the class module's globals, with the closure cells, defaults, keyword defaults
    and annotations that def takes from `__create_fn__`'s parameters (`spec` names them)."""
    closure, defaults, kwdefaults, kwvalues, annotations, annotated = spec
    method = FunctionType(
        code, globals_, None,
        None if defaults is None else tuple(_values(defaults, fields, cls)),
        tuple([CellType(value) for value in _values(closure, fields, cls)])
        if closure else None)
    if kwdefaults is not None:
        values = _values(kwvalues, fields, cls)
        method.__kwdefaults__ = dict(zip(kwdefaults, values, strict=True))
    if annotations:
        values = _values(annotated, fields, cls)
        method.__annotations__ = dict(zip(annotations, values, strict=True))
    return method


def _build(cls: type, params: Params, recipe: tuple[Any, ...]) -> type:
    """`_process_class(cls, *params)` from the recipe: the same changes to the class, in an
    order that leaves its dict in the same order."""
    _, _, own, codes, hash_action, slots, match_args = recipe
    init, repr_, eq, order, unsafe_hash, frozen, with_match_args, _, slotted, _ = params
    original = cls.__dict__
    changes: dict[str, Any] = {"__dataclass_params__": dataclasses._DataclassParams(  # type: ignore[attr-defined]
        init, repr_, eq, order, unsafe_hash, frozen)}
    deleted = []
    fields: dict[str, Any] = {}
    mro = cls.__mro__
    if len(mro) > 2:
        for base in mro[-1:0:-1]:
            for field in getattr(base, "__dataclass_fields__", {}).values():
                fields[field.name] = field
    annotations = original.get("__annotations__", {})
    made = []
    for name, kind, kw_only in own:
        if kind < 0:  # a KW_ONLY marker
            continue
        default = getattr(cls, name, MISSING)
        if isinstance(default, Field):
            field = default
        else:
            if isinstance(default, MemberDescriptorType):
                default = MISSING
            # What field(default=default) returns, without its checks of other arguments.
            field = Field(default, MISSING, True, True, None, True, None,  # type: ignore[arg-type]
                          MISSING)  # type: ignore[arg-type]
        field.name = name
        field.type = annotations[name]
        field._field_type = _FIELD_TYPES[kind]  # type: ignore[attr-defined]
        if kind != 1 and field.kw_only is MISSING:
            field.kw_only = kw_only
        made.append((field, default))
    for field, default in made:
        fields[field.name] = field
        if isinstance(default, Field):  # the class attribute becomes the plain default
            if field.default is MISSING:
                deleted.append(field.name)
            else:
                changes[field.name] = field.default
    changes["__dataclass_fields__"] = fields
    globals_ = sys.modules[cls.__module__].__dict__
    qualname = cls.__qualname__
    for name, code, *spec in codes:
        if name != "__hash__" and name in original:
            continue  # dataclasses never replaces a method the class defines
        method = _method(code, globals_, spec, fields, cls)
        if name == "__repr__":
            method = dataclasses._recursive_repr(method)  # type: ignore[attr-defined]
        method.__qualname__ = f"{qualname}.{method.__name__}"
        changes[name] = method
    if hash_action == 2:
        changes["__hash__"] = None
    if with_match_args and "__match_args__" not in original:
        changes["__match_args__"] = match_args
    if not slotted:
        for name in deleted:
            delattr(cls, name)
        for name, value in changes.items():
            setattr(cls, name, value)
        if not cls.__doc__:
            cls.__doc__ = _doc(cls)
        abc.update_abstractmethods(cls)
        return cls
    space = dict(original)
    if not cls.__doc__:
        if "__init__" in changes:  # for the signature (dataclasses has set them all)
            cls.__init__ = changes["__init__"]  # type: ignore[misc]
        changes["__doc__"] = _doc(cls)
    for name in deleted:
        if name not in space:
            raise AttributeError(name)  # as delattr() of an inherited field() raises
        del space[name]
    space.update(changes)
    space["__slots__"] = slots
    for field in fields.values():
        if field._field_type is _FIELD_TYPES[0]:
            space.pop(field.name, None)
    space.pop("__dict__", None)
    cls = type(cls)(cls.__name__, cls.__bases__, space)
    cls.__qualname__ = qualname
    if frozen:
        # Frozen slotted classes need them to pickle (dataclasses._add_slots).
        cls.__getstate__ = dataclasses._dataclass_getstate  # type: ignore[attr-defined,method-assign]
        cls.__setstate__ = dataclasses._dataclass_setstate  # type: ignore[attr-defined]
    abc.update_abstractmethods(cls)
    return cls


def _doc(cls: type) -> str:
    """The doc `dataclasses` gives a class without one: its signature."""
    import inspect  # dataclasses has imported it already

    return cls.__name__ + str(inspect.signature(cls)).replace(" -> None", "")


def _from_recipe(cls: type[T], params: Params) -> type[T] | None:
    """`cls` built from its recipe, or None when there is none or it does not fit `cls`."""
    blob = _recipes_of(cls.__module__).get(cls.__qualname__)
    if blob is None:
        return None
    recipe = marshal.loads(blob)
    if fingerprint(cls, params, recipe[0]) != recipe[1]:
        return None
    new = _build(cls, params, recipe)
    built[new] = f"{new.__module__}:{new.__qualname__}"
    return new


def _record(cls: type[T]) -> type[T]:
    if not FAST:
        return dataclasses.dataclass(frozen=True, slots=True, kw_only=True)(cls)
    if use_tables:
        new = _from_recipe(cls, RECORD)
        if new is not None:
            return new
    # What dataclass(frozen=True, slots=True, kw_only=True)(cls) runs on 3.11.
    return _PROCESS(cls, *RECORD)  # type: ignore[no-any-return]


def _process_class(cls: type, *params: bool) -> type:
    """`dataclasses._process_class`, from the recipe when there is one that fits."""
    if use_tables:
        new: type | None = _from_recipe(cls, params)  # type: ignore[arg-type]
        if new is not None:
            return new
    return _PROCESS(cls, *params)  # type: ignore[no-any-return]


def install() -> None:
    """Build every dataclass of the process from its recipe, not only a record: the
    collector core and netlink define theirs with plain `dataclass` (they are shipped to
    servers alone, without netdx.model), and so do a few mutable helpers. Called once by
    the `netdx` entry (netdx.start) before a command's modules load. A class without a
    recipe (another library's) is built by dataclasses as always."""
    if FAST:
        dataclasses._process_class = _process_class  # type: ignore[attr-defined]


if TYPE_CHECKING:
    from typing_extensions import dataclass_transform

    @dataclass_transform(frozen_default=True, kw_only_default=True,
                         field_specifiers=(dataclasses.field, dataclasses.Field))
    def record(cls: type[T]) -> type[T]:
        """A frozen, slotted, keyword-only dataclass."""
        ...

else:
    record: Callable[[type[T]], type[T]] = _record
