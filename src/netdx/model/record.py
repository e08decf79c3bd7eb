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

Nor does a class built so import `dataclasses` (with `inspect`, 10-15 ms of a check's CPU):
`__init__`, `__eq__`, `__hash__`, the slots and the defaults are set at once; what holds
dataclasses' objects (`__dataclass_fields__` and `__dataclass_params__`, the recursive
`__repr__`, the frozen `__setattr__`/`__delattr__` that raise its FrozenInstanceError,
pickling's `__getstate__`/`__setstate__`, the signature as the doc of a class without one)
is a `Lazy` until first read, which imports dataclasses and sets them all as it makes them
(netdx.model.record_lazy), so `dataclasses.fields/replace/asdict/is_dataclass`, the codec and pickle
work unchanged. A class body's `field()` is netdx's note (`netdx.netlink._compat.field`)
when the recipes are installed, dataclasses' own otherwise; `replace` and `fields` here
read a recipe's class from the recipe.

The tables are written by `python tools/precompile_records.py` (`make venv` runs it).
`install()` makes every dataclass of the process use them, not only a record (the `netdx`
script calls it: the collector core and netlink define theirs with
`netdx.netlink._compat`, which hands them here). The build mirrors Python 3.11's
`dataclasses`; on another Python no table is read.
"""

from __future__ import annotations

import abc
import marshal
import sys
from types import CellType, CodeType, FunctionType, MemberDescriptorType

from netdx.model.record_lazy import LAZIES, LAZY, pending
from netdx.netlink import _compat
from netdx.netlink._compat import MISSING, FieldSpec
from netdx.netlink._compat import fields as fields  # dataclasses.fields, cheap for a recipe's class
from netdx.netlink._lazy import import_module

TYPE_CHECKING = False
if TYPE_CHECKING:
    import dataclasses
    from collections.abc import Callable
    from dataclasses import field as field
    from types import ModuleType
    from typing import Any, TypeVar

    T = TypeVar("T")
else:
    field = _compat.field

# dataclass()'s parameters, in `_process_class`'s order: init, repr, eq, order, unsafe_hash,
# frozen, match_args, kw_only, slots, weakref_slot.
Params = tuple[bool, bool, bool, bool, bool, bool, bool, bool, bool, bool]
RECORD: Params = (True, True, True, False, False, True, True, True, True, False)
# dataclasses' own `_process_class`, once dataclasses is imported (see _dataclasses).
_PROCESS: Callable[..., type] | None = None
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

# A class built from its recipe → its fields (base's first) as FieldSpecs.
_specs: dict[type, dict[str, FieldSpec]] = {}
_installed = False


class _Factory:
    """`__init__`'s "use the default factory" marker (dataclasses' `_HAS_DEFAULT_FACTORY`)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<factory>"


_CONSTANTS: dict[str, Any] = {"MISSING": MISSING, "_return_type": None,
                              "_HAS_DEFAULT_FACTORY": _Factory(),
                              "__dataclass_builtins_object__": object}


def _dataclasses() -> ModuleType:
    """dataclasses, imported now (a Field read, a class without a recipe)."""
    import dataclasses

    _patch(dataclasses)
    return dataclasses


def _patch(dataclasses: ModuleType) -> None:
    """Keeps dataclasses' own `_process_class`, and replaces it with the recipes' when they
    are installed (then a plain `@dataclass` is built from its recipe too)."""
    global _PROCESS
    if _PROCESS is None and dataclasses._process_class is not _process_class:
        _PROCESS = dataclasses._process_class
    if _installed and FAST:
        dataclasses._process_class = _process_class  # type: ignore[attr-defined]


class _WhenImported:
    """A finder in sys.meta_path until `dataclasses` is imported, by whichever module: it
    has the import patch it (`_patch`) as soon as it has run."""

    @classmethod
    def find_spec(cls, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "dataclasses":
            return None
        sys.meta_path.remove(cls)
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(name)
        if spec is not None and spec.loader is not None:
            run = spec.loader.exec_module

            def run_and_patch(module: ModuleType) -> None:
                run(module)
                _patch(module)

            spec.loader.exec_module = run_and_patch  # type: ignore[method-assign]
        return spec


def original_process() -> Callable[..., type]:
    """dataclasses' own `_process_class` (the generator wraps it)."""
    _dataclasses()
    assert _PROCESS is not None
    return _PROCESS


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
                table = import_module(f"netdx.model._methods_{package}")
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
    # Neither module loaded: no global can be one of theirs (the check's case).
    dataclasses = sys.modules.get("dataclasses")
    typing = sys.modules.get("typing")
    if value is None or (dataclasses is None and typing is None):
        return 0
    if value is dataclasses:
        return 1
    if typing is not None:
        if value is typing:
            return 2
        if value is typing.ClassVar or (type(value) is typing._GenericAlias
                                        and value.__origin__ is typing.ClassVar):  # type: ignore[attr-defined]
            return 3  # dataclasses._is_classvar
    if dataclasses is None:
        return 0
    if value is dataclasses.KW_ONLY:
        return 4
    if dataclasses._is_initvar(value, dataclasses):
        return 5
    return 0


def _given(value: object) -> FieldSpec | None:
    """A field() of a class body (netdx's or dataclasses' Field) as a FieldSpec; else None."""
    if isinstance(value, FieldSpec):
        return value
    dataclasses = sys.modules.get("dataclasses")
    if dataclasses is None or not isinstance(value, dataclasses.Field):
        return None

    def own(item: object) -> object:
        return MISSING if item is dataclasses.MISSING else item

    return FieldSpec(own(value.default), own(value.default_factory), value.init, value.repr,
                     value.hash, value.compare, value.metadata, own(value.kw_only))


def _describe(default: object) -> object:
    """What `dataclasses` reads from a field's class attribute: none, a value (hashable or
    not), or a field() with its flags."""
    if default is MISSING or isinstance(default, MemberDescriptorType):
        return None
    spec = _given(default)
    if spec is not None:
        return (spec.init, spec.repr, spec.hash, spec.compare,
                None if spec.kw_only is MISSING else spec.kw_only,
                spec.default is MISSING, spec.default_factory is MISSING,
                spec.default.__class__.__hash__ is None)
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
    dataclasses = sys.modules.get("dataclasses")
    # What `_given` takes for a field(): one isinstance per value here, not a call (every
    # class a command defines is fingerprinted: a check, ~100).
    kinds = (FieldSpec,) if dataclasses is None else (FieldSpec, dataclasses.Field)
    special = (*kinds, MemberDescriptorType)  # what _describe tells apart from a value
    given = [default for default in defaults if isinstance(default, kinds)]
    initvar = getattr(dataclasses, "InitVar", None)
    return (params,
            ("object",) if len(mro) == 2 else tuple([_base(base) for base in mro[1:]]),
            tuple([base.__dict__.get("__slots__") for base in mro[1:-1]]),
            # Whether typing is loaded matters to a head that is typing's (tagged 2, 3).
            frozenset(space), annotations,
            # A class (the common case: `int`, `Endpoint`) is none of what _tag looks for.
            tuple([0 if (value := names.get(head)) is None
                   or (type(value) is type and value is not initvar)
                   else _tag(value) for head in heads]),
            # `_describe`, its common case (a plain value's hashability) inline.
            tuple([None if default is MISSING
                   else _describe(default) if isinstance(default, special)
                   else default.__class__.__hash__ is None
                   for default in defaults]),
            hasattr(cls, "__post_init__"), space.get("__hash__", MISSING) is None,
            # One field() object given to two fields, a field() with no annotation.
            len(given) > 1 and len({id(default) for default in given}) < len(given),
            tuple([name for name, value in space.items()
                   if isinstance(value, kinds) and name not in annotations]))


def _values(refs: tuple[tuple[int, str], ...], fields: dict[str, Any], cls: type,
            constants: dict[str, Any] = _CONSTANTS) -> list[Any]:
    """The values `dataclasses` passes a method's `__create_fn__` for these parameters,
    each named by the generator as (0, field): `_type_FIELD`, the field's type; (1, field):
    `_dflt_FIELD`, its default or default factory; (2, name): a constant, or `cls`."""
    return [fields[key].type if kind == 0
            else (spec.default if (spec := fields[key]).default_factory is MISSING
                  else spec.default_factory) if kind == 1
            else cls if key == "cls" else constants[key]
            for kind, key in refs]


def _method(code: CodeType, globals_: dict[str, Any], spec: list[Any],
            fields: dict[str, Any], cls: type,
            constants: dict[str, Any] = _CONSTANTS) -> Any:
    """The function `__create_fn__(...)` returns, made as its `def` makes it: the code
    under the class module's globals, with the closure cells, defaults, keyword defaults
    and annotations that def takes from `__create_fn__`'s parameters (`spec` names them)."""
    closure, defaults, kwdefaults, kwvalues, annotations, annotated = spec
    method = FunctionType(
        code, globals_, None,
        None if defaults is None else tuple(_values(defaults, fields, cls, constants)),
        tuple([CellType(value) for value in _values(closure, fields, cls, constants)])
        if closure else None)
    if kwdefaults is not None:
        values = _values(kwvalues, fields, cls, constants)
        method.__kwdefaults__ = dict(zip(kwdefaults, values, strict=True))
    if annotations:
        values = _values(annotated, fields, cls, constants)
        method.__annotations__ = dict(zip(annotations, values, strict=True))
    return method


def _build(cls: type, params: Params, recipe: tuple[Any, ...]) -> type:
    """`_process_class(cls, *params)` from the recipe: the same changes to the class, in an
    order that leaves its dict in the same order. What needs dataclasses' objects is set as
    a `Lazy` (netdx.model.record_lazy); the rest (`__init__`, `__eq__`, `__hash__`, the slots,
    the defaults) as dataclasses sets it."""
    _, _, own, codes, hash_action, slots, match_args = recipe
    frozen, with_match_args, slotted = params[5], params[6], params[8]
    original = cls.__dict__
    changes: dict[str, Any] = {"__dataclass_params__": LAZIES["__dataclass_params__"]}
    deleted = []
    fields: dict[str, FieldSpec] = {}
    for base in cls.__mro__[-2:0:-1]:  # the bases' fields, built from their recipes
        fields.update(_specs.get(base, {}))
    annotations = original.get("__annotations__", {})
    made = []
    for name, kind, kw_only in own:
        if kind < 0:  # a KW_ONLY marker
            continue
        default = getattr(cls, name, MISSING)
        given = _given(default)  # a field() (netdx's note, or dataclasses' Field read)
        if given is not None:
            spec = given
        else:
            if isinstance(default, MemberDescriptorType):
                default = MISSING
            spec = FieldSpec(default)  # what field(default=default) notes
        spec.name = name
        spec.type = annotations[name]
        spec.kind = kind
        if kind != 1 and spec.kw_only is MISSING:
            spec.kw_only = kw_only
        # dataclasses keeps a Field given in the class body: so will record_lazy.complete.
        made.append((spec, given is not None,
                     default if given is not None and given is not default else None))
    for spec, is_given, _ in made:
        fields[spec.name] = spec
        if is_given:  # the class attribute becomes the plain default
            if spec.default is MISSING:
                deleted.append(spec.name)
            else:
                changes[spec.name] = spec.default
    changes["__dataclass_fields__"] = LAZIES["__dataclass_fields__"]
    globals_ = sys.modules[cls.__module__].__dict__
    qualname = cls.__qualname__
    for name, code, *spec_ in codes:
        if name != "__hash__" and name in original:
            continue  # dataclasses never replaces a method the class defines
        if name in LAZY:
            changes[name] = LAZIES[name]
            continue
        method = _method(code, globals_, spec_, fields, cls)
        method.__qualname__ = f"{qualname}.{method.__name__}"
        changes[name] = method
    if hash_action == 2:
        changes["__hash__"] = None
    if with_match_args and "__match_args__" not in original:
        changes["__match_args__"] = match_args
    make_doc = not cls.__doc__
    if make_doc:
        changes["__doc__"] = LAZIES["__doc__"]
    if not slotted:
        for name in deleted:
            delattr(cls, name)
        for name, value in changes.items():
            setattr(cls, name, value)
    else:
        space = dict(original)
        for name in deleted:
            if name not in space:
                raise AttributeError(name)  # as delattr() of an inherited field() raises
            del space[name]
        space.update(changes)
        space["__slots__"] = slots
        for spec in fields.values():
            if spec.kind == 0:
                space.pop(spec.name, None)
        space.pop("__dict__", None)
        cls = type(cls)(cls.__name__, cls.__bases__, space)
        cls.__qualname__ = qualname
        if frozen:
            # Frozen slotted classes need them to pickle (dataclasses._add_slots).
            cls.__getstate__ = LAZIES["__getstate__"]  # type: ignore[method-assign,assignment]
            cls.__setstate__ = LAZIES["__setstate__"]  # type: ignore[attr-defined]
    abc.update_abstractmethods(cls)
    _specs[cls] = fields
    pending[cls] = (params, recipe, [(spec, real) for spec, _, real in made], make_doc)
    return cls


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


def _process(cls: type, params: Params) -> type:
    """What dataclasses makes of `cls` (no recipe, or one that does not fit)."""
    _dataclasses()
    _compat.real_fields(cls)  # netdx's field() notes become dataclasses' Fields
    assert _PROCESS is not None
    return _PROCESS(cls, *params)


def _record(cls: type[T]) -> type[T]:
    if not FAST:
        _compat.real_fields(cls)
        return _dataclasses().dataclass(frozen=True, slots=True, kw_only=True)(cls)  # type: ignore[no-any-return]
    if use_tables:
        new = _from_recipe(cls, RECORD)
        if new is not None:
            return new
    # What dataclass(frozen=True, slots=True, kw_only=True)(cls) runs on 3.11.
    return _process(cls, RECORD)


def _process_class(cls: type, *params: bool) -> type:
    """`dataclasses._process_class`, from the recipe when there is one that fits."""
    if use_tables:
        new: type | None = _from_recipe(cls, params)  # type: ignore[arg-type]
        if new is not None:
            return new
    return _process(cls, params)  # type: ignore[arg-type]


def _plain(cls: type, params: tuple[bool, ...]) -> type:
    """A class of `netdx.netlink._compat.dataclass`: from its recipe, else by dataclasses."""
    if not FAST:
        _compat.BUILD = None  # _compat's own way: dataclasses, with this Python's parameters
        try:
            return _compat.dataclass(
                **dict(zip(("init", "repr", "eq", "order", "unsafe_hash", "frozen",
                            "match_args", "kw_only", "slots"), params, strict=False)))(cls)
        finally:
            _compat.BUILD = _plain
    return _process_class(cls, *params)


def _fields(cls: type) -> tuple[FieldSpec, ...] | None:
    """A class's fields (`dataclasses.fields`) when it was built from its recipe."""
    specs = _specs.get(cls)
    return None if specs is None else tuple([s for s in specs.values() if s.kind == 0])


def install() -> None:
    """Build every dataclass of the process from its recipe, not only a record: the
    collector core and netlink define theirs with `netdx.netlink._compat` (they are shipped
    to servers alone, without netdx.model), and so do a few mutable helpers with plain
    `dataclass`: dataclasses is patched when something imports it (`_WhenImported`).
    Called once by the `netdx` entry (netdx.start) before a command's modules load. A
    class without a recipe (another library's) is built by dataclasses as always."""
    global _installed
    _installed = True
    _compat.BUILD, _compat.FIELDS = _plain, _fields
    if "dataclasses" in sys.modules:
        _patch(sys.modules["dataclasses"])
    elif FAST and _WhenImported not in sys.meta_path:
        sys.meta_path.insert(0, _WhenImported)


def replace(obj: T, /, **changes: Any) -> T:
    """`dataclasses.replace(obj, **changes)`: a copy of `obj` with `changes`. For a class
    built from its recipe it reads the fields from the recipe (no dataclasses import)."""
    specs = _specs.get(type(obj))
    if specs is None or any(s.kind == 2 or not s.init for s in specs.values()):
        return _dataclasses().replace(obj, **changes)  # type: ignore[no-any-return]
    for spec in specs.values():
        if spec.kind == 0 and spec.name not in changes:
            changes[spec.name] = getattr(obj, spec.name)
    return obj.__class__(**changes)


if TYPE_CHECKING:
    from typing_extensions import dataclass_transform

    @dataclass_transform(frozen_default=True, kw_only_default=True,
                         field_specifiers=(dataclasses.field, dataclasses.Field))
    def record(cls: type[T]) -> type[T]:
        """A frozen, slotted, keyword-only dataclass."""
        ...

else:
    record = _record
