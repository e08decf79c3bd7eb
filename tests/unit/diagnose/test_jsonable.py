"""The converter of diagnose/jsonable.py: nested dataclasses and tuples to JSON-ready data."""

from __future__ import annotations

from netdx.diagnose import jsonable
from netdx.model import DnsRecord, DnsServerAnswer


def test_jsonable_converts_nested_dataclasses() -> None:
    """The converter turns nested dataclasses and tuples into dicts and lists."""
    rec = DnsRecord(name="a.", rtype="A", ttl=5, value="10.0.0.1")
    ans = DnsServerAnswer(server="s", qname="a.", rtype="A", status="ok", records=(rec,))
    assert jsonable(ans) == {
        "server": "s",
        "qname": "a.",
        "rtype": "A",
        "status": "ok",
        "records": [{"name": "a.", "rtype": "A", "ttl": 5, "value": "10.0.0.1"}],
        "elapsed_ms": 0.0,
    }
