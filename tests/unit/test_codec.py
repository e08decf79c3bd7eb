"""The codec: exact round trips of every model type, and a clear error for data that does not
fit."""

from __future__ import annotations

import dataclasses
import importlib
import json
import pkgutil
import types
from collections.abc import Callable, Mapping
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


# --- every record type of netdx round-trips ---------------------------------------------------

# The record types of netdx the codec does not carry, each with why. Every other dataclass or
# NamedTuple record under src/netdx (evidence, reports, the sockets listing and owner scan,
# the DNS trace, the firewall model, lab/serve/verify values) must round-trip; a new type
# that cannot must be named here, so the test fails until someone decides.
_LIVE = "live I/O state of one process (raw bytes, sockets, SSL objects, events); never encoded"
_MUTABLE = "a mutable builder inside one function (lists or sets it appends to); never encoded"
_TYPING_ONLY = (
    "a field's annotation names a type imported only for type checkers, so its hints cannot "
    "be read at run time; a settings/result holder, not evidence: the codec carries the "
    "evidence and reports inside it"
)
_OPEN = "holds free-form JSON (Any) read from a file or the wire; it is the data, not a model"
_LOCAL = "a local input (paths, networks from the command line or a config file); never encoded"
NOT_ENCODED: dict[str, str] = {
    "netdx.collect.document.CollectRequest": _OPEN,
    "netdx.collect.owners.Walk": _MUTABLE,
    "netdx.collect.session.Request": _OPEN,
    "netdx.collect.sockdiag.Dump": _MUTABLE,
    "netdx.collect.sockdiag.Request": _LIVE,
    "netdx.dns.exchange.Attempt": _MUTABLE,
    "netdx.dns.flights._Flight": _LIVE,
    "netdx.dns.trace._Level": _MUTABLE,
    "netdx.firewall.iptables_save._TableBuild": _MUTABLE,
    "netdx.lab.fleet.Fleet": _LOCAL,
    "netdx.lab.run.RunResult": _OPEN,
    "netdx.lab.sshd.SshServer": _LOCAL,
    "netdx.netlink.attrs.Attr": _LIVE,
    "netdx.netlink.attrs.AttrSpec": _LIVE,
    "netdx.netlink.attrs.Attrs": _LIVE,
    "netdx.netlink.attrs.Field": _LIVE,
    "netdx.netlink.diag.InetDiagMsg": _LIVE,
    "netdx.netlink.diag.InetDiagReqV2": _LIVE,
    "netdx.netlink.fake.SentRequest": _LIVE,
    "netdx.netlink.wire.NlMsg": _LIVE,
    "netdx.netlink.wire.Reply": _LIVE,
    "netdx.plan.settings.CheckSettings": _TYPING_ONLY,
    "netdx.probes.protocols._Answer": _LIVE,
    "netdx.probes.recverr.ExtendedErr": _LIVE,
    "netdx.probes.tcptrace._Probe": _LIVE,
    "netdx.probes.tls.Progress": _LIVE,
    "netdx.probes.tls.TlsChannel": _LIVE,
    "netdx.remote.document.CollectDocument": _TYPING_ONLY,
    "netdx.remote.document.Entry": _OPEN,
    "netdx.remote.probe.FlowProbe": _TYPING_ONLY,
    "netdx.serve.allow.Allowlist": _LOCAL,
    "netdx.serve.config.ModuleConfig": _TYPING_ONLY,
    "netdx.serve.config.ServeConfig": _LOCAL,
    "netdx.serve.server.Response": _LIVE,
    "netdx.sockets.filters.EndpointFilter": _LOCAL,
    "netdx.sockets.filters.ListingFilter": _LOCAL,
    "netdx.sockets.stream._Kept": _MUTABLE,
    "netdx.sockets.stream_json._Held": _MUTABLE,
    "netdx.trace.engine._Round": _LIVE,
    "netdx.verify.inventory_formats.RawGroup": _MUTABLE,
    "netdx.verify.inventory_formats.RawInventory": _MUTABLE,
    "netdx.verify.render.Run": _TYPING_ONLY,
    "netdx.verify.run.CaseResult": _TYPING_ONLY,
    "netdx.verify.yamlnodes.Located": _OPEN,
}


def _name(cls: type[Any]) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _is_record(obj: object) -> bool:
    """A dataclass, or a NamedTuple record (netlink's socket): what to_data writes as an object."""
    if not isinstance(obj, type):
        return False
    return dataclasses.is_dataclass(obj) or (issubclass(obj, tuple) and hasattr(obj, "_fields"))


def _record_types() -> list[type[Any]]:
    """Every record type defined in a module of netdx, found by walking the package, so a
    type added later is covered (or must be named in NOT_ENCODED) without touching this test."""
    import netdx

    found: list[type[Any]] = []
    for info in pkgutil.walk_packages(netdx.__path__, "netdx."):
        if info.name.endswith("__main__") or info.name.startswith("netdx.model._methods"):
            continue  # __main__ runs the CLI on import; _methods_* are generated tables
        module = importlib.import_module(info.name)
        found += [
            obj for obj in vars(module).values()
            if _is_record(obj) and obj.__module__ == module.__name__
        ]  # fmt: skip
    return sorted(found, key=_name)


ALL_TYPES = _record_types()
MODEL_TYPES = [cls for cls in ALL_TYPES if _name(cls) not in NOT_ENCODED]


def _ssh_options() -> st.SearchStrategy[Any]:
    from netdx.host.ssh import SshOptions

    return st.builds(
        SshOptions,
        destination=st.sampled_from(["db", "admin@10.0.0.5", "web-1.example", "u@fd00::1"]),
        key=st.sampled_from([None, "/root/.ssh/id_ed25519"]),
        known_hosts=st.sampled_from([None, "/tmp/known_hosts"]),
        options=st.sampled_from([(), (("ServerAliveInterval", "5"),)]),
        sudo=st.booleans(),
    )


# Types that check their values on creation (a random string is no --ssh destination):
# valid values of them, by hand.
_VALIDATED: dict[str, Callable[[], st.SearchStrategy[Any]]] = {
    "netdx.host.ssh.SshOptions": _ssh_options,
}


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
    if origin in (dict, Mapping):  # int keys too: JSON writes them as text, the codec reads them
        key, value = get_args(hint)
        return st.dictionaries(_strategy(key), _strategy(value), max_size=2)
    if origin is frozenset:
        return st.frozensets(_strategy(get_args(hint)[0]), max_size=3)
    if isinstance(hint, type) and _name(hint) in _VALIDATED:
        return _VALIDATED[_name(hint)]()
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


def test_record_types_are_found() -> None:
    """The walk over netdx finds the evidence containers, the report, the vantage, the
    sockets listing and owner scan, the DNS trace and the firewall model."""
    names = {cls.__name__ for cls in MODEL_TYPES}
    assert {"CheckEvidence", "AddressEvidence", "DnsEvidence", "Report", "Vantage",
            "OwnerScan", "SocketListing", "DiagSocket", "TraceResult", "TraceReport",
            "Ruleset", "Match"} <= names  # fmt: skip


def test_every_type_left_out_is_named_with_a_reason() -> None:
    """Exactly the types named in NOT_ENCODED have no codec support: a new type the codec
    cannot carry fails here, and a name that is no longer needed (or gone) does too."""
    unsupported = set()
    for cls in ALL_TYPES:
        try:
            _strategy(cls)
        except (AssertionError, NameError):
            unsupported.add(_name(cls))
    assert unsupported == set(NOT_ENCODED)
    assert all(reason.strip() for reason in NOT_ENCODED.values())


@pytest.mark.parametrize("cls", MODEL_TYPES, ids=_name)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_record_type_round_trips(cls: type[Any], data: st.DataObject) -> None:
    """For every record type of netdx not named in NOT_ENCODED,
    from_data(T, to_data(x)) == x, through JSON text."""
    value = data.draw(_strategy(cls))
    assert from_data(cls, json.loads(json.dumps(to_data(value)))) == value


def test_owner_scan_round_trips_with_int_keys() -> None:
    """The owner scan's inode-keyed maps (int keys, Process values, shared holders) come back
    equal after JSON, which writes the keys as text."""
    from netdx.model.server import Process
    from netdx.sockets.model import OwnerScan, SocketListing

    web = Process(pid=7, command="nginx", user="www", uid=33)
    worker = Process(pid=8, command="nginx", user="www", uid=33)
    scan = OwnerScan.of({4242: ((web, 3), (worker, 5))}, wanted=1)
    data = json.loads(json.dumps(to_data(scan)))
    assert data["holders"] == {"4242": [7, 3]} and data["shared"] == {"4242": [[8, 5]]}
    assert from_data(OwnerScan, data) == scan
    listing = SocketListing(sockets=(), owners=scan, notes=("n",))
    assert from_data(SocketListing, json.loads(json.dumps(to_data(listing)))) == listing


def test_int_keys_must_be_written_as_to_data_writes_them() -> None:
    """A key that is not an int's decimal text is a CodecError, not a silent other key."""
    from netdx.sockets.model import OwnerScan

    with pytest.raises(CodecError, match="not an int"):
        from_data(OwnerScan, {"holders": {"x": [1, 2]}})
    with pytest.raises(CodecError, match="not an int as to_data"):
        from_data(OwnerScan, {"holders": {"07": [1, 2]}})


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
