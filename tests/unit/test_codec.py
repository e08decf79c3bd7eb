"""The codec: exact round trips of every model type, and a clear error for data that does not
fit."""

from __future__ import annotations

import dataclasses
import importlib
import json
import pkgutil
import types
from typing import Any, Literal, Union, get_args, get_origin

import evidence_cases as cases
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netdx.model import AddressEvidence, CheckEvidence, DnsEvidence, TcpConnect
from netdx.model.codec import CodecError, from_data, to_data, type_hints
from netdx.model.vantage import in_netns

ALL_CASES = [v for v in vars(cases).values() if isinstance(v, CheckEvidence)]


@pytest.mark.parametrize("evidence", ALL_CASES)
def test_round_trip_through_json(evidence: CheckEvidence) -> None:
    """Every evidence literal survives to_data → JSON → from_data unchanged."""
    assert from_data(CheckEvidence, json.loads(json.dumps(to_data(evidence)))) == evidence


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {
                "address": "10.0.0.1",
                "port": 1,
                "outcome": "maybe",
                "elapsed_ms": 1,
                "timeout_ms": 1,
            },
            "not one of",
        ),
        (
            {
                "address": "10.0.0.1",
                "port": "1",
                "outcome": "timeout",
                "elapsed_ms": 1,
                "timeout_ms": 1,
            },
            "expected int",
        ),
        (
            {
                "address": "10.0.0.1",
                "port": 1,
                "outcome": "timeout",
                "elapsed_ms": 1,
                "timeout_ms": 1,
                "colour": "red",
            },
            "unknown field",
        ),
        ({"address": "10.0.0.1"}, "missing"),
        ([], "expected an object"),
    ],
)
def test_bad_data_raises_codec_error(data: object, message: str) -> None:
    """Data of the wrong shape raises CodecError naming the problem, nothing else."""
    with pytest.raises(CodecError, match=message):
        from_data(TcpConnect, data)


# --- every dataclass of netdx.model round-trips ---------------------------------------------


def _model_dataclasses() -> list[type[Any]]:
    """Every dataclass defined in a module of netdx.model, found by walking the package, so
    a type added later is covered without touching this test."""
    import netdx.model

    found: list[type[Any]] = []
    for info in pkgutil.iter_modules(netdx.model.__path__, "netdx.model."):
        module = importlib.import_module(info.name)
        found += [
            obj
            for obj in vars(module).values()
            if isinstance(obj, type) and dataclasses.is_dataclass(obj)
            and obj.__module__ == module.__name__
        ]
    return sorted(found, key=lambda cls: cls.__qualname__)


MODEL_TYPES = _model_dataclasses()


def _strategy(hint: Any) -> st.SearchStrategy[Any]:
    """Values of a field's type. An unknown kind of hint (a dict, a set) fails loudly: the
    codec cannot rebuild it, so it has no place in the model."""
    origin = get_origin(hint)
    if origin is Literal:
        return st.sampled_from(get_args(hint))
    if origin in (Union, types.UnionType):
        return st.one_of(*(_strategy(arg) for arg in get_args(hint)))
    if origin is tuple:
        args = get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(_strategy(args[0]), max_size=2).map(tuple)
        return st.tuples(*(_strategy(arg) for arg in args))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        hints = type_hints(hint)
        fields = {f.name: _strategy(hints[f.name]) for f in dataclasses.fields(hint)}
        return st.builds(hint, **fields)
    if isinstance(hint, type) and issubclass(hint, tuple) and hasattr(hint, "_fields"):
        hints = type_hints(hint)  # a NamedTuple record (the socket): built by its fields
        return st.builds(hint, **{name: _strategy(hints[name]) for name in hint._fields})
    simple: dict[Any, st.SearchStrategy[Any]] = {
        type(None): st.none(),
        bool: st.booleans(),
        int: st.integers(),
        float: st.floats(allow_nan=False, allow_infinity=False),
        str: st.text(max_size=12),
    }
    if hint in simple:
        return simple[hint]
    raise AssertionError(f"no codec support for {hint!r}: use a frozen dataclass or a tuple")


def test_model_types_are_found() -> None:
    """The walk over netdx.model finds the evidence containers, the report and the vantage."""
    names = {cls.__name__ for cls in MODEL_TYPES}
    assert {"CheckEvidence", "AddressEvidence", "DnsEvidence", "Report", "Vantage"} <= names


@pytest.mark.parametrize("cls", MODEL_TYPES, ids=lambda cls: cls.__name__)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_model_type_round_trips(cls: type[Any], data: st.DataObject) -> None:
    """For every dataclass in netdx.model, from_data(T, to_data(x)) == x, through JSON text."""
    value = data.draw(_strategy(cls))
    assert from_data(cls, json.loads(json.dumps(to_data(value)))) == value


def test_vantage_round_trips_inside_evidence() -> None:
    """A namespace vantage on the three evidence containers survives the codec."""
    where = in_netns("ndx-client")
    ev = CheckEvidence(
        target_host="db",
        port=5432,
        scheme=None,
        dns=DnsEvidence(name="db", source="dns", observed_on=where),
        addresses=(AddressEvidence(address="10.0.0.5", family=4, observed_on=where),),
        observed_on=where,
    )
    data = to_data(ev)
    assert data["observed_on"] == {"kind": "netns", "name": "ndx-client"}
    assert from_data(CheckEvidence, data) == ev


def test_omit_none_leaves_out_unmeasured_fields() -> None:
    """The document mode drops None fields (an absent key means 'not measured')."""
    tcp = TcpConnect(address="10.0.0.1", port=1, outcome="refused", elapsed_ms=1, timeout_ms=2)
    data = to_data(tcp, omit_none=True)
    assert "rtt_ms" not in data and "errno" not in data
    assert data["outcome"] == "refused"


def test_json_converter_drops_none_but_keeps_nested_values() -> None:
    """The one converter, in its document mode, turns nested dataclasses and tuples into
    dicts and lists and leaves out None fields."""
    from netdx.model import DnsRecord, DnsServerAnswer
    from netdx.model.codec import to_data

    rec = DnsRecord(name="a.", rtype="A", ttl=5, value="10.0.0.1")
    ans = DnsServerAnswer(server="s", qname="a.", rtype="A", status="ok", records=(rec,))
    assert to_data(ans, omit_none=True) == {
        "server": "s",
        "qname": "a.",
        "rtype": "A",
        "status": "ok",
        "records": [{"name": "a.", "rtype": "A", "ttl": 5, "value": "10.0.0.1"}],
        "elapsed_ms": 0.0,
    }
