"""`@record` (netdx.model.record): a class built from its recipe is the class
`dataclass(frozen=True, slots=True, kw_only=True)` makes, and a recipe that no longer fits
its class is never used."""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import KW_ONLY, InitVar, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest
from record_shape import TOOLS, origin, shape

from netdx.model import record as record_module
from netdx.model.record import record

sys.path.insert(0, str(TOOLS))
import precompile_records

HERE = Path(__file__).resolve().parent
SRC = HERE.parents[1] / "src" / "netdx"

# Read by Sample's annotation `Alias[int]`: a plain generic alias while its recipe is made;
# a test binds it to ClassVar, which makes that annotation a ClassVar to dataclasses.
Alias: Any = list


def _define(variant: str = "") -> list[type]:
    """A record base and subclass with every kind of field (each call defines them again,
    under the same names); `variant` changes one thing a recipe must notice."""

    @record
    class Base:
        """A base whose fields come first."""

        origin: str
        weight: int = 1

    @record
    class Sample(Base):
        """Every kind of field the model uses, and a few more."""

        if variant != "type":
            name: str
        else:
            name: bytes  # type: ignore[no-redef]
        port: int = 0 if variant != "factory" else field(default_factory=int)  # type: ignore[assignment]
        tags: tuple[str, ...] = field(default_factory=tuple) if variant != "mutable" else []  # type: ignore[assignment]
        note: str = field(default="", repr=variant == "repr", compare=False)
        extra: dict[str, int] = field(default_factory=dict, hash=False, metadata={"k": 1})
        alias: Alias[int] = (1,)  # type: ignore[assignment]
        seed: InitVar[int] = 0
        LIMIT: ClassVar[int] = 3

        def __post_init__(self, seed: int) -> None:
            if seed < 0:
                raise ValueError("seed")

        if variant == "method":
            def __repr__(self) -> str:
                return "Sample"

    @record
    class Undocumented:
        count: int = 0

    return [Base, Sample, Undocumented]


def _define_plain() -> list[type]:
    """Plain dataclasses as the collector and netlink define them (not frozen, or no slots,
    a KW_ONLY marker, positional fields)."""

    @dataclass
    class Mutable:
        """Positional fields, a KW_ONLY marker, a mutable class without slots."""

        host: str
        port: int = 0
        _: KW_ONLY
        tries: int = 3
        seen: list[int] = field(default_factory=list)

    @dataclass(frozen=True)
    class Frozen:
        """Frozen, no slots: the defaults stay class attributes."""

        name: str
        size: int = field(default=4, repr=False)

    @dataclass(slots=True)
    class Slotted:
        """Slots, not frozen: no __setattr__, __hash__ None."""

        value: int
        unit: str = "ms"

    return [Mutable, Frozen, Slotted]


def _recipes(define: Callable[[], list[type]]) -> dict[str, dict[str, bytes]]:
    """The recipes the generator makes of what `define` defines."""
    with precompile_records.capturing() as recipes:
        define()
    return recipes


@pytest.fixture
def recipes() -> Iterator[Callable[[Callable[[], list[type]]], None]]:
    """Installs the recipes of what a define function defines (this module has no table)."""
    installed: list[str] = []

    def install(define: Callable[[], list[type]]) -> None:
        for module, classes in _recipes(define).items():
            record_module._recipes[module] = classes
            installed.append(module)

    yield install
    for module in installed:
        record_module._recipes.pop(module, None)


def _by_dataclasses(define: Callable[[], list[type]]) -> list[type]:
    saved = record_module.use_tables
    record_module.use_tables = False
    try:
        return define()
    finally:
        record_module.use_tables = saved


def test_class_built_from_its_recipe_is_the_class_dataclasses_makes(recipes: Any) -> None:
    """With its recipe, each class (a base, a subclass, one without a doc) gets the same
    fields (a base's shared), parameters, slots, doc, dict in the same order, and methods
    (code, closures, defaults, annotations, globals) as dataclasses makes it."""
    recipes(_define)
    by_dataclasses, by_recipe = _by_dataclasses(_define), _define()
    assert [origin(cls) for cls in by_recipe] == ["recipe"] * 3
    assert [origin(cls) for cls in by_dataclasses] == ["dataclasses"] * 3
    assert [shape(cls) for cls in by_recipe] == [shape(cls) for cls in by_dataclasses]


def test_plain_dataclasses_are_built_from_their_recipes(recipes: Any,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Installed (as the netdx script runs), a plain dataclass is built from its recipe
    too, mutable or frozen, with or without slots, and is the class dataclasses makes."""
    recipes(_define_plain)
    by_dataclasses = _by_dataclasses(_define_plain)
    monkeypatch.setattr(dataclasses, "_process_class", record_module._process_class)
    by_recipe = _define_plain()
    assert [origin(cls) for cls in by_recipe] == ["recipe"] * 3
    assert [shape(cls) for cls in by_recipe] == [shape(cls) for cls in by_dataclasses]
    mutable = by_recipe[0]("db", 5, tries=1)
    mutable.port = 6
    assert repr(mutable) == ("_define_plain.<locals>.Mutable(host='db', port=6, tries=1, "
                             "seen=[])")
    assert by_recipe[0].__match_args__ == ("host", "port")
    assert by_recipe[1].size == 4 and by_recipe[2].__hash__ is None


def test_class_built_from_its_recipe_behaves_as_a_frozen_dataclass(recipes: Any) -> None:
    """Construction, defaults, InitVar and __post_init__, repr, equality, hashing,
    frozenness, replace, asdict, copy and pickle's state of a recipe-built class work as
    for any frozen slotted dataclass."""
    recipes(_define)
    base, sample, undocumented = _define()
    assert origin(sample) == "recipe"
    one = sample(origin="o", name="a", port=5, note="x")
    assert repr(one) == ("_define.<locals>.Sample(origin='o', weight=1, name='a', port=5, "
                         "tags=(), extra={}, alias=(1,))")
    assert one == sample(origin="o", name="a", port=5, note="y")  # note is not compared
    assert one != sample(origin="o", name="b", port=5)
    with pytest.raises(TypeError):
        sample("o", "a")  # keyword-only
    with pytest.raises(ValueError, match="seed"):
        sample(origin="o", name="a", seed=-1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.port = 6  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del one.port  # type: ignore[misc]
    assert hash(one) == hash(sample(origin="o", name="a", port=5, note="z", extra={"x": 1}))
    assert dataclasses.replace(one, port=9).port == 9
    assert dataclasses.asdict(one)["tags"] == ()
    assert [f.name for f in dataclasses.fields(sample)] == [
        "origin", "weight", "name", "port", "tags", "note", "extra", "alias"]
    assert dataclasses.fields(sample)[0] is dataclasses.fields(base)[0]
    assert dataclasses.fields(sample)[6].metadata == {"k": 1}
    assert not hasattr(one, "__dict__") and sample.LIMIT == 3
    assert sample.__match_args__ == () and base.__doc__ == "A base whose fields come first."
    assert undocumented.__doc__ == "Undocumented(*, count: 'int' = 0)"
    assert copy.copy(one) == one and one.__getstate__() == ["o", 1, "a", 5, (), "x", {}, (1,)]


@pytest.mark.parametrize("variant", ["type", "factory", "repr", "method"])
def test_a_recipe_that_no_longer_fits_is_not_used(recipes: Any, variant: str) -> None:
    """When the class changed since its recipe was made (a field's type, a default that
    became a factory, a field()'s flags, a method of its own), dataclasses builds it, and
    what it builds is what dataclasses makes of the changed class."""
    recipes(_define)
    changed, expected = _define(variant), _by_dataclasses(lambda: _define(variant))
    assert [origin(cls) for cls in changed] == ["recipe", "dataclasses", "recipe"]
    assert [shape(cls) for cls in changed] == [shape(cls) for cls in expected]


def test_a_global_that_turns_an_annotation_into_a_classvar_is_noticed(
        recipes: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A module global the annotations name (here `Alias`, now ClassVar) is part of what a
    recipe holds on: the field becomes a ClassVar, as dataclasses reads it."""
    recipes(_define)
    monkeypatch.setattr(sys.modules[__name__], "Alias", ClassVar)
    changed = _define()
    assert origin(changed[1]) == "dataclasses"
    assert "alias" not in [f.name for f in dataclasses.fields(changed[1])]
    assert shape(changed[1]) == shape(_by_dataclasses(_define)[1])


def test_a_mutable_default_is_refused_as_dataclasses_refuses_it(recipes: Any) -> None:
    """A default that became a mutable value is never built: dataclasses raises."""
    recipes(_define)
    with pytest.raises(ValueError, match="mutable default"):
        _define("mutable")


def test_a_subclass_of_a_base_built_without_its_recipe_is_not_built_from_one(
        recipes: Any) -> None:
    """A subclass's recipe holds on its base being built from the base's recipe: when the
    base changed (built by dataclasses), the subclass is built by dataclasses too."""
    recipes(_define)
    saved = record_module._recipes[__name__].pop("_define.<locals>.Base")
    try:
        assert [origin(cls) for cls in _define()] == ["dataclasses", "dataclasses", "recipe"]
    finally:
        record_module._recipes[__name__]["_define.<locals>.Base"] = saved


@pytest.mark.parametrize("table", [
    {"GENERATION": "another run"},  # a table the generator wrote in another run
    {"PYTHON": (3, 11), "CODE": {}},  # the format before recipes (method texts)
])
def test_a_table_of_another_run_or_format_is_not_read(
        table: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    """A table written by another run of the generator than the tables already read (a
    subclass's recipe would meet a base built from another recipe), or in an older format,
    gives no recipe: its classes are built by dataclasses."""
    module = types.ModuleType("netdx.model._methods_zzfake")
    vars(module).update({"MAGIC": record_module._magic(),
                         "CLASSES": {"netdx.zzfake.m": {"X": b"never read"}}} | table)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(record_module, "_generation", {"run": "this run"})
    monkeypatch.setattr(record_module, "_recipes", {})
    monkeypatch.setattr(record_module, "_loaded", set())
    assert record_module._recipes_of("netdx.zzfake.m") == {}
    assert record_module._generation == {"run": "this run"}


def test_precompiled_recipes_are_current() -> None:
    """netdx/model/_methods_*.py hold the recipe of every netdx dataclass as the classes
    are now (else: `python tools/precompile_records.py`)."""
    proc = subprocess.run([sys.executable, str(TOOLS / "precompile_records.py"), "--check"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr


def _shapes(mode: str) -> dict[str, dict[str, object]]:
    proc = subprocess.run([sys.executable, str(HERE / "record_shape.py"), mode],
                          capture_output=True, text=True, timeout=300, check=True)
    shapes: dict[str, dict[str, object]] = json.loads(proc.stdout)
    return shapes


def test_every_dataclass_is_built_as_dataclasses_builds_it() -> None:
    """Every dataclass of netdx (@record or plain, as the netdx script installs the
    recipes) is built from its recipe and has the same shape as when dataclasses builds
    it, and the @record classes are all there."""
    table, plain = _shapes("table"), _shapes("exec")
    assert table.keys() == plain.keys()
    for name in table:
        assert table[name]["shape"] == plain[name]["shape"], name
    assert [name for name, entry in table.items() if entry["origin"] != "recipe"] == []
    assert all(entry["origin"] == "dataclasses" for entry in plain.values())
    texts = [path.read_text() for path in SRC.rglob("*.py")]
    decorated = sum(line.strip() in ("@record", "@model_record") for text in texts
                    if "from netdx.model.record import record" in text
                    for line in text.splitlines())
    assert len(table) >= decorated > 100


def test_pickled_record_round_trips() -> None:
    """A model value pickles and unpickles (frozen slotted classes need __getstate__)."""
    from netdx.model.target import Target

    target = Target(raw="db:5432", host="db", port=5432)
    assert pickle.loads(pickle.dumps(target)) == target


def test_record_replace_is_dataclasses_replace(recipes: Any) -> None:
    """record.replace (read from the recipe: no dataclasses import) makes what
    dataclasses.replace makes, refuses an unknown field as it does, and hands a class with
    an InitVar (whose value is not kept) to dataclasses.replace itself."""
    recipes(_define)
    base, sample, _ = _define()
    one = base(origin="o", weight=2)
    assert record_module.replace(one, weight=3) == dataclasses.replace(one, weight=3)
    assert record_module.replace(one) == one and record_module.replace(one) is not one
    with pytest.raises(TypeError):
        record_module.replace(one, colour=1)
    full = sample(origin="o", name="a", port=5, note="x", extra={"k": 1})
    assert record_module.replace(full, port=6) == dataclasses.replace(full, port=6)


# A fresh interpreter as the netdx script starts; prints the step at which it has imported
# dataclasses, if it has.
_LAZY = """import pickle, sys
from netdx.model import record
record.install()
from netdx.model.target import Target
from netdx.model.evidence import TcpConnect
def step(name):
    print(name, "dataclasses" in sys.modules, "inspect" in sys.modules)
one = Target(raw="db:5432", host="db", port=5432)
same = record.replace(one, port=5432)
assert same == one and hash(same) == hash(one) and record.replace(one, port=1).port == 1
assert [f.name for f in record.fields(Target)][:3] == ["raw", "host", "port"]
step("built, used, replaced")
import dataclasses
assert dataclasses._process_class is record._process_class  # patched as it was imported
step("dataclasses imported")
fields = dataclasses.fields(one)
assert [f.name for f in fields] == [f.name for f in record.fields(Target)]
assert dataclasses.replace(one, port=1) == record.replace(one, port=1)
assert dataclasses.asdict(one)["host"] == "db" and dataclasses.is_dataclass(TcpConnect)
assert pickle.loads(pickle.dumps(one)) == one and repr(one).startswith("Target(raw='db:5432'")
try:
    one.port = 1
except dataclasses.FrozenInstanceError:
    step("frozen")
"""


def test_a_recipe_class_imports_no_dataclasses_until_one_is_asked() -> None:
    """Built from its recipe, a record is made, compared, hashed and replaced without
    importing dataclasses or inspect; dataclasses' own functions (fields, replace, asdict,
    is_dataclass), pickling, repr and FrozenInstanceError then work on it unchanged, and
    dataclasses, imported later, builds plain dataclasses from their recipes too."""
    proc = subprocess.run([sys.executable, "-c", _LAZY], capture_output=True, text=True,
                          timeout=120, check=True)
    assert proc.stdout.splitlines() == ["built, used, replaced False False",
                                        "dataclasses imported True True", "frozen True True"]
