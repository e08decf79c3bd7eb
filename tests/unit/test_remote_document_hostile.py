"""A document from a broken or hostile server: whatever it holds, reading it gives values
or one `DocumentError`, never another exception (hypothesis junk, and mutations of a real
captured document at every path)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netdx.model.vantage import Vantage
from netdx.remote import CollectDocument, DocumentError

FIXTURE = Path(__file__).parent / "fixtures" / "remote" / "document.json"
SSH = Vantage(kind="ssh", name="db")

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=4),
    max_leaves=20,
)  # fmt: skip


def read_everything(data: object) -> None:
    """Every reading of a document: it must end in values or DocumentError."""
    try:
        doc = CollectDocument.from_json(data)
        doc.listing()
        doc.owner_scan()
        doc.server_evidence(address="10.0.0.2", port=5432, earlier=doc, observed_on=SSH)
        doc.firewall_capture()
        doc.rule_counters()
        doc.netstat()
        doc.sysctls()
        doc.addresses()
        doc.route("10.0.0.10")
        doc.capture(port=5432)
        doc.error_of("sockets")
        doc.needs_root("firewall")
    except DocumentError as exc:
        assert "\n" not in str(exc) and str(exc)


def original() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    data["collectors"]["capture"] = {"error": None, "needs_root": False, "data": {
        "port": 5432, "truncated": False, "kernel_dropped": 0, "window_ms": 3.0,
        "packets": [{"direction": "in", "src": "10.0.0.10", "sport": 4000, "dst": "10.0.0.2",
                     "dport": 5432, "flags": "S", "ifname": "eth0", "at_ms": 1.0}]}}  # fmt: skip
    return data


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path into a JSON value (keys and list indexes), the value's own first."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:3]):
            yield from paths(item, (*prefix, index))


def replaced(data: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(data) if isinstance(data, dict) else list(data)
    copy[path[0]] = replaced(data[path[0]], path[1:], new)
    return copy


def removed(data: Any, path: tuple[Any, ...]) -> Any:
    if len(path) == 1:
        copy = dict(data) if isinstance(data, dict) else list(data)
        del copy[path[0]]
        return copy
    return replaced(data, path[:1], removed(data[path[0]], path[1:]))


ALL_PATHS = list(paths(original()))
JUNK = (None, True, -1, 2**64 + 1, 1e308, float("nan"), "", "x" * 5000, "\x1b[31m", [], {},
        [1, 2], {"a": 1})  # fmt: skip


def test_the_real_document_reads_without_error() -> None:
    """The unmutated document reads to the end (so the mutations test something)."""
    CollectDocument.from_json(original()).server_evidence(
        address=None, port=5432, earlier=None, observed_on=SSH
    )


@pytest.mark.parametrize("junk", JUNK, ids=repr)
def test_every_path_replaced_by_junk(junk: object) -> None:
    """Each value of a real document replaced by a wrong type, a huge number, NaN, a long
    string or an escape sequence reads to values or DocumentError."""
    data = original()
    for path in ALL_PATHS:
        read_everything(replaced(data, path, junk))


def test_every_key_removed() -> None:
    """Each key or item of a real document removed: values or DocumentError."""
    data = original()
    for path in ALL_PATHS[1:]:
        read_everything(removed(data, path))


def test_wrong_schema_and_top_types_are_refused() -> None:
    """Not an object, another schema, a bool euid, an euid past 2^32: DocumentError."""
    for bad in ([], "x", {**original(), "schema": "netdx.collect/2"},
                {**original(), "euid": True}, {**original(), "euid": 2**40}):  # fmt: skip
        with pytest.raises(DocumentError):
            CollectDocument.from_json(bad)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_hypothesis_junk_documents(junk: object) -> None:
    """Any JSON value as a whole document: values or DocumentError."""
    read_everything(junk)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ALL_PATHS[1:]), JSON)
def test_hypothesis_junk_inside_a_real_document(path: tuple[Any, ...], junk: object) -> None:
    """Any JSON value at any place of a real document: values or DocumentError."""
    read_everything(replaced(original(), path, junk))
