"""The trace against a hierarchy with one silent server at every level (root included)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from dnslab import build, causes, dig, dig_records, netdx_dns

from netdx.dns import labzones as z
from netdx.dns.lab import DnsLab

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lab() -> Iterator[DnsLab]:
    yield from build(dead_per_level=True)


def test_dead_server_at_every_level_is_named_and_costs_little(lab: DnsLab) -> None:
    """The walk answers like dig +trace, names the silent server of each level as lame (warn),
    and takes a fraction of the per-server timeout, not one timeout per level."""
    start = time.monotonic()
    code, doc = netdx_dns(lab, "www.example.lab", "--trace", "--root-hints",
                          str(lab.hints_path))
    took = time.monotonic() - start
    assert code == 0
    assert {(s["zone"], s["address"], s["reason"]) for s in doc["lame"]} == {
        (".", z.DEAD[0], "timeout"), ("lab.", z.DEAD[1], "timeout"),
        ("example.lab.", z.DEAD[2], "timeout")}
    assert causes(doc) == {"dns.lame_delegation": "warn"}
    assert len([f for f in doc["findings"] if f["cause"] == "dns.lame_delegation"]) == 3
    theirs = {r for r in dig_records(dig(lab, "+trace", "+nodnssec", "www.example.lab"))
              if r[2] == "A" and r[0] == "www.example.lab."}
    ours = {(r["name"], r["ttl"], r["type"], r["value"]) for r in doc["trace_result"]["answer"]}
    assert ours == theirs
    assert doc["total_ms"] < 500
    assert took < 2.0


def test_deadline_bounds_a_walk_into_silence(lab: DnsLab) -> None:
    """With --timeout 0.4, a walk whose servers are silent or refusing ends in time, with a
    finding, not a hang."""
    start = time.monotonic()
    code, doc = netdx_dns(lab, "www.gone.lab", "--trace", "--root-hints", str(lab.hints_path),
                          "--timeout", "0.4")
    assert time.monotonic() - start < 2.0
    assert code == 1
    assert doc["findings"]
    assert doc["total_ms"] < 600
