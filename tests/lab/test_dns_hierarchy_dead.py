"""The trace against a hierarchy with one silent server at every level (root included)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dnslab import DnsTree, build, causes, netdx_dns

from netdx.lab import dnstree as z

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lab() -> Iterator[DnsTree]:
    yield from build(dead_per_level=True)


SERVER_TIMEOUT_S = 3.0
LEVELS = 3  # ., lab., example.lab.: each has one silent server


def test_dead_server_at_every_level_is_named_and_costs_little(lab: DnsTree) -> None:
    """The walk answers with the zone's record, names the silent server of each level as
    lame (warn), and does not wait out one server timeout per level (the report's own time
    says so; the subprocess timeout only guards against a hang)."""
    code, doc = netdx_dns(lab, "www.example.lab", "--trace", "--root-hints",
                          str(lab.hints_path), "--server-timeout", str(SERVER_TIMEOUT_S),
                          "--timeout", "30")
    assert code == 0
    assert {(s["zone"], s["address"], s["reason"]) for s in doc["lame"]} == {
        (".", z.DEAD[0], "timeout"), ("lab.", z.DEAD[1], "timeout"),
        ("example.lab.", z.DEAD[2], "timeout")}
    assert causes(doc) == {"dns.lame_delegation": "warn"}
    assert len([f for f in doc["findings"] if f["cause"] == "dns.lame_delegation"]) == 3
    # The record the zone file serves (dig +trace is no reference here: with a silent server
    # at every level it gives up or not depending on which server it picks first).
    ours = {(r["name"], r["ttl"], r["type"], r["value"]) for r in doc["trace_result"]["answer"]}
    assert ours == {("www.example.lab.", 300, "A", "10.53.1.10")}
    # Waiting per level would take LEVELS x 3 s; the walk waits (at most) one grace period.
    assert doc["total_ms"] < LEVELS * SERVER_TIMEOUT_S * 1000


def test_deadline_bounds_a_walk_into_silence(lab: DnsTree) -> None:
    """With --timeout 0.4, a walk whose servers are silent or refusing ends at its budget,
    with a finding, not a hang: the report's own time is the budget plus a bounded wrap-up
    (generous for a busy machine), far from the 1 s a single silent server would cost."""
    code, doc = netdx_dns(lab, "www.gone.lab", "--trace", "--root-hints", str(lab.hints_path),
                          "--timeout", "0.4")
    assert code == 1
    assert doc["findings"]
    assert doc["total_ms"] < 400 + 500
