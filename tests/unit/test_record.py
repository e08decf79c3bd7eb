"""`@record` (netdx.model.record): the model's dataclasses with their methods compiled ahead of
time are the classes `dataclass(frozen=True, slots=True, kw_only=True)` makes."""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import field
from pathlib import Path
from typing import ClassVar

import pytest
from record_shape import TOOLS, origin, shape

from netdx.model import record as record_module
from netdx.model.record import record

HERE = Path(__file__).resolve().parent
SRC = HERE.parents[1] / "src" / "netdx"


def _define() -> type:
    """A class with every kind of field the model uses (each call defines it again)."""

    @record
    class Sample:
        name: str
        port: int = 0
        tags: tuple[str, ...] = field(default_factory=tuple)
        note: str = field(default="", repr=False, compare=False)
        extra: dict[str, int] = field(default_factory=dict, hash=False, metadata={"k": 1})
        LIMIT: ClassVar[int] = 3

    return Sample


@pytest.fixture
def table_of_sample() -> Iterator[dict[str, object]]:
    """A table holding exactly Sample's methods, compiled as the generator compiles them."""
    # This module's classes are outside netdx: their table is the one of package "".
    saved, saved_capture = dict(record_module._tables), record_module.capture
    record_module._tables[""], record_module.capture = {}, set()
    try:
        _define()
        texts = record_module.capture
        table = {}
        for _, text in texts:
            namespace: dict[str, object] = {}
            # dont_inherit: this module's `from __future__ import annotations` would turn
            # the methods' annotations into text, as the generated module must not either.
            exec(compile(text, "precompiled", "exec", dont_inherit=True), namespace)
            table[text] = namespace["__create_fn__"].__code__  # type: ignore[attr-defined]
        record_module.capture = None
        yield table
    finally:
        record_module._tables, record_module.capture = saved, saved_capture


def test_precompiled_class_is_the_class_exec_makes(table_of_sample: dict[str, object]) -> None:
    """With its texts in the table, a class gets the same fields, parameters, slots and
    methods (bytecode, closures, globals, defaults) as when dataclasses compiles them."""
    record_module._tables[""] = {}
    by_exec = _define()
    record_module._tables[""] = table_of_sample  # type: ignore[assignment]
    by_table = _define()
    assert origin(by_exec) == "<string>" and origin(by_table) == "precompiled"
    assert shape(by_table) == shape(by_exec)


def test_precompiled_class_behaves_as_a_frozen_dataclass(
        table_of_sample: dict[str, object]) -> None:
    """Construction, defaults, repr, equality, hashing, frozenness, replace, asdict, copy
    and pickle of a precompiled class work as for any frozen slotted dataclass."""
    record_module._tables[""] = table_of_sample  # type: ignore[assignment]
    sample = _define()
    assert origin(sample) == "precompiled"
    one = sample(name="a", port=5, note="x")
    assert repr(one) == "_define.<locals>.Sample(name='a', port=5, tags=(), extra={})"
    assert one == sample(name="a", port=5, note="y")  # note is not compared
    assert one != sample(name="b", port=5)
    with pytest.raises(TypeError):
        sample("a")  # keyword-only
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.port = 6  # type: ignore[attr-defined]
    assert hash(one) == hash(sample(name="a", port=5, note="z", extra={"x": 1}))
    frozen = sample(name="a", extra={})
    assert dataclasses.replace(frozen, port=9).port == 9  # type: ignore[attr-defined]
    assert dataclasses.asdict(frozen)["tags"] == ()
    assert [f.name for f in dataclasses.fields(sample)] == ["name", "port", "tags", "note",
                                                             "extra"]
    assert not hasattr(one, "__dict__") and sample.LIMIT == 3  # type: ignore[attr-defined]
    assert copy.copy(one) == one


def test_precompiled_methods_are_current() -> None:
    """netdx/model/_methods_*.py hold every method text of every netdx dataclass as the
    classes are now (else: `python tools/precompile_records.py`)."""
    proc = subprocess.run([sys.executable, str(TOOLS / "precompile_records.py"), "--check"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr


def _shapes(mode: str) -> dict[str, dict[str, object]]:
    proc = subprocess.run([sys.executable, str(HERE / "record_shape.py"), mode],
                          capture_output=True, text=True, timeout=300, check=True)
    shapes: dict[str, dict[str, object]] = json.loads(proc.stdout)
    return shapes


def test_every_dataclass_is_built_as_dataclasses_builds_it() -> None:
    """Every dataclass of netdx (@record or plain, as the netdx script installs the table)
    has the same shape with the precompiled methods as with exec(), took its methods from
    them, and the @record classes are all there."""
    table, plain = _shapes("table"), _shapes("exec")
    assert table.keys() == plain.keys()
    for name in table:
        assert table[name]["shape"] == plain[name]["shape"], name
    assert [name for name, entry in table.items()
            if entry["origin"] != f"_methods_{name.split('.')[1]}.py"] == []
    assert all(entry["origin"] == "<string>" for entry in plain.values())
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
