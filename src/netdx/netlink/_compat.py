"""Frozen dataclasses that also import on Python 3.9, the oldest python3 a server may have,
and that cost no `dataclasses` import where netdx has their recipes.

`slots=` and `kw_only=` (3.10+) keep their meaning where they exist; on 3.9 the classes are
plain frozen dataclasses (a little more memory, positional construction not refused), which
is all a shipped collector needs. mypy sees the 3.10+ behaviour through dataclass_transform.

`dataclasses` imports `inspect` (ast, dis, tokenize, enum...): 10-15 ms of a check that
needs none of it. So where netdx has set `BUILD` (`netdx.model.record.install()`, which the
`netdx` script calls) `field()` here only notes its arguments (a `FieldSpec`) and the
decorators hand the class to `BUILD` (built from its precompiled recipe). Without it (a bare
python3 on a server, the recipes' generator, a test) `field()` is dataclasses' own and
`dataclasses` builds the class, as it always did. `fields(cls)` reads a class's fields
either way.
"""

from __future__ import annotations

from types import MappingProxyType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from dataclasses import Field
    from dataclasses import field as field
    from typing import Any, TypeVar

    from typing_extensions import dataclass_transform

    T = TypeVar("T")

    @dataclass_transform(frozen_default=True, kw_only_default=True, field_specifiers=(field,))
    def value(cls: type[T]) -> type[T]:
        """A frozen, slotted, keyword-only dataclass."""
        ...

    @dataclass_transform(frozen_default=True, field_specifiers=(field,))
    def record(cls: type[T]) -> type[T]:
        """A frozen, slotted dataclass."""
        ...

    from dataclasses import dataclass as dataclass

# netdx.model.record.install() sets them: BUILD(cls, params) builds a class from its recipe
# (params: dataclasses._process_class's, from init to weakref_slot); FIELDS(cls) gives a
# class's fields as FieldSpecs when it was built so, else None.
BUILD: Callable[[type, tuple[bool, ...]], type] | None = None
FIELDS: Callable[[type], tuple[FieldSpec, ...] | None] | None = None


class _Missing:
    """No value given (dataclasses' MISSING, without importing dataclasses)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class FieldSpec:
    """What `field(...)` was given; netdx.model.record also keeps one for each field of a
    class it built, with the name, type, kind (0 field, 1 ClassVar, 2 InitVar) and kw_only
    that dataclasses would set on the Field. `real()` is dataclasses' Field of it."""

    __slots__ = ("compare", "default", "default_factory", "hash", "init", "kind", "kw_only",
                 "meta", "name", "repr", "type")

    def __init__(self, default: Any = MISSING, default_factory: Any = MISSING,
                 init: bool = True, repr: bool = True, hash: bool | None = None,
                 compare: bool = True, metadata: Mapping[Any, Any] | None = None,
                 kw_only: Any = MISSING) -> None:
        self.default, self.default_factory = default, default_factory
        self.init, self.repr, self.hash, self.compare = init, repr, hash, compare
        self.meta, self.kw_only = metadata, kw_only
        self.name: str = ""
        self.type: Any = None
        self.kind = 0

    @property
    def metadata(self) -> Mapping[Any, Any]:
        """As dataclasses' Field holds it: read-only, empty when none was given."""
        return MappingProxyType(self.meta or {})

    def real(self) -> Field[Any]:
        """The Field `dataclasses.field()` returns for these arguments."""
        import dataclasses

        given: dict[str, Any] = {"init": self.init, "repr": self.repr, "hash": self.hash,
                                 "compare": self.compare, "metadata": self.meta}
        if self.default is not MISSING:
            given["default"] = self.default
        if self.default_factory is not MISSING:
            given["default_factory"] = self.default_factory
        if self.kw_only is not MISSING:
            given["kw_only"] = self.kw_only
        return dataclasses.field(**given)  # type: ignore[no-any-return]


def real_fields(cls: type) -> None:
    """Makes the class's FieldSpecs dataclasses' Fields, before dataclasses reads the class."""
    for name, value in list(vars(cls).items()):
        if isinstance(value, FieldSpec):
            setattr(cls, name, value.real())


def fields(cls: type) -> tuple[FieldSpec, ...] | tuple[Field[Any], ...]:
    """`dataclasses.fields(cls)`; for a class netdx built from its recipe, the same fields
    as FieldSpecs (name, type, default, metadata...), without importing dataclasses."""
    spec = FIELDS(cls) if FIELDS is not None else None
    if spec is not None:
        return spec
    import dataclasses

    return dataclasses.fields(cls)


if not TYPE_CHECKING:

    def field(*, default=MISSING, default_factory=MISSING, init=True, repr=True, hash=None,
              compare=True, metadata=None, kw_only=MISSING):
        """dataclasses.field(): noted for the decorator where netdx installed its recipes,
        else dataclasses' own (any dataclass decorator reads it then)."""
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        spec = FieldSpec(default, default_factory, init, repr, hash, compare, metadata,
                         kw_only)
        return spec if BUILD is not None else spec.real()

    def dataclass(cls=None, /, *, init=True, repr=True, eq=True, order=False,
                  unsafe_hash=False, frozen=False, match_args=True, kw_only=False,
                  slots=False):
        """dataclasses.dataclass: from the class's recipe when netdx installed them."""

        def wrap(cls):
            if BUILD is not None:
                return BUILD(cls, (init, repr, eq, order, unsafe_hash, frozen, match_args,
                                   kw_only, slots, False))
            import dataclasses

            real_fields(cls)
            given = {"init": init, "repr": repr, "eq": eq, "order": order,
                     "unsafe_hash": unsafe_hash, "frozen": frozen}
            if hasattr(dataclasses, "KW_ONLY"):  # 3.10+ (a version test that linters keep)
                given.update(match_args=match_args, kw_only=kw_only, slots=slots)
            return dataclasses.dataclass(**given)(cls)

        return wrap if cls is None else wrap(cls)

    value = dataclass(frozen=True, slots=True, kw_only=True)
    record = dataclass(frozen=True, slots=True)


if not TYPE_CHECKING:
    from collections import namedtuple as _namedtuple

    class _NamedTupleMeta(type):
        """Makes `class X(NamedTuple): a: int; b: str = ""` a `collections.namedtuple`, as
        `typing.NamedTuple` does, for the classes of a module that imports typing's only
        for mypy (importing typing costs a check 5-10 ms). The field names, their order and
        defaults come from the class body's annotations; the annotations are kept (the
        codec reads them), and the body's other attributes (methods, properties, the
        docstring) are set on the tuple class."""

        def __new__(mcls, name, bases, namespace):
            if not bases:  # `NamedTuple` itself
                return super().__new__(mcls, name, bases, namespace)
            annotations = namespace.get("__annotations__", {})
            defaults = [namespace[n] for n in annotations if n in namespace]
            cls = _namedtuple(name, tuple(annotations), defaults=defaults,
                              module=namespace["__module__"])
            cls.__annotations__ = dict(annotations)
            cls.__qualname__ = namespace.get("__qualname__", name)
            skip = {"__module__", "__qualname__", "__annotations__", "__slots__"}
            for key, item in namespace.items():
                if key not in skip and key not in annotations:
                    setattr(cls, key, item)
            return cls

    class NamedTuple(metaclass=_NamedTupleMeta):
        """typing.NamedTuple's class form, built by collections.namedtuple."""


if TYPE_CHECKING:
    from typing import cast as cast
else:

    def cast(kind, value):
        """typing.cast at run time (it returns `value`), without importing typing."""
        return value
