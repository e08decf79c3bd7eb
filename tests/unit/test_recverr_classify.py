"""Naming a finished TCP connect and a trace hop from SO_ERROR plus the captured error queue."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import pytest

from netdx.model.evidence import Hop
from netdx.probes.recverr import ExtendedErr, extended_err_from_cmsgs
from netdx.probes.tcp import ConnectResult, classify_connect
from netdx.probes.tcptrace import hop_for, truncate

FIXTURES = Path(__file__).parent / "fixtures" / "recverr"
CLIENT = {4: "10.91.1.2", 6: "fd91:1::2"}


def captured(name: str) -> tuple[int, tuple[ExtendedErr, ...], dict[str, Any]]:
    """SO_ERROR and the decoded error-queue entries of one captured TCP connect."""
    doc = json.loads((FIXTURES / f"{name}.json").read_text())
    entries = []
    for entry in doc["capture"]["entries"]:
        anc = [(m["level"], m["type"], bytes.fromhex(m["data"])) for m in entry["cmsgs"]]
        err = extended_err_from_cmsgs(anc)
        assert err is not None
        entries.append(err)
    return doc["capture"]["so_error"], tuple(entries), doc["expect"]


@pytest.mark.parametrize("name", ["tcp4_port_unreachable", "tcp6_port_unreachable"])
def test_icmp_port_unreachable_is_not_a_refusal(name: str) -> None:
    """ECONNREFUSED with an ICMP port-unreachable queued is an icmp_error naming the sender
    (a firewall reject), never "refused"."""
    so_error, entries, expect = captured(name)
    assert so_error == errno.ECONNREFUSED
    result = classify_connect(so_error, entries, CLIENT[expect["family"]])
    assert result.outcome == "icmp_error"
    assert result.icmp is not None
    assert result.icmp.kind == "port-unreachable"
    assert result.icmp.sender == expect["sender"]


@pytest.mark.parametrize(
    "name",
    [
        "tcp4_admin_prohibited_router",
        "tcp4_host_unreachable_route",
        "tcp4_prohibit_route",
        "tcp6_admin_prohibited_router",
        "tcp6_no_route",
        "tcp6_reject_route",
    ],
)
def test_router_errors_are_icmp_errors_with_sender(name: str) -> None:
    """A router's ICMP error becomes icmp_error with its kind, sender and the errno name."""
    so_error, entries, expect = captured(name)
    result = classify_connect(so_error, entries, CLIENT[expect["family"]])
    assert result.outcome == "icmp_error"
    assert result.errno == expect["errno"]
    assert result.icmp is not None
    assert (result.icmp.kind, result.icmp.sender) == (expect["kind"], expect["sender"])


@pytest.mark.parametrize("name", ["tcp4_neighbour_failed", "tcp6_neighbour_failed"])
def test_neighbour_failure_from_our_own_address_is_local(name: str) -> None:
    """The kernel's own host-unreachable after ARP/ND fails (sender = our address) is a
    local error EHOSTUNREACH, not an answer from the network."""
    so_error, entries, expect = captured(name)
    result = classify_connect(so_error, entries, CLIENT[expect["family"]])
    assert result == ConnectResult(outcome="error", errno="EHOSTUNREACH")


def test_reset_without_icmp_is_refused() -> None:
    """ECONNREFUSED with an empty error queue is a TCP reset: refused."""
    assert classify_connect(errno.ECONNREFUSED, (), "10.0.0.1").outcome == "refused"


def test_zero_is_connected_and_local_errno_is_kept() -> None:
    """SO_ERROR 0 means connected; a local errno without ICMP keeps its name."""
    assert classify_connect(0, (), None).outcome == "connected"
    assert classify_connect(errno.ENETUNREACH, (), None) == ConnectResult(
        outcome="error", errno="ENETUNREACH"
    )


@pytest.mark.parametrize(
    ("name", "ttl"),
    [
        ("tcp4_time_exceeded_ttl1", 1),
        ("tcp4_time_exceeded_ttl2", 2),
        ("tcp6_time_exceeded_ttl1", 1),
    ],
)
def test_time_exceeded_is_a_router_hop(name: str, ttl: int) -> None:
    """A time-exceeded for the SYN at TTL n names the n-th router as that hop."""
    so_error, entries, expect = captured(name)
    hop = hop_for(
        ttl, "192.0.2.1", classify_connect(so_error, entries, CLIENT[expect["family"]]), 1.0
    )
    assert (hop.kind, hop.address, hop.ttl) == ("time_exceeded", expect["sender"], ttl)


def test_reset_and_reject_end_the_path() -> None:
    """A reset reaches the target; an admin-prohibited makes the hop unreachable with its ICMP."""
    reached = hop_for(3, "10.91.3.2", ConnectResult(outcome="refused"), 1.0)
    assert (reached.kind, reached.address) == ("reached", "10.91.3.2")
    so_error, entries, expect = captured("tcp4_admin_prohibited_router")
    hop = hop_for(3, "10.91.3.2", classify_connect(so_error, entries, CLIENT[4]), 1.0)
    assert hop.kind == "unreachable"
    assert hop.icmp is not None and hop.icmp.kind == "admin-prohibited"
    assert hop.address == expect["sender"]


def test_truncate_stops_after_first_terminal_hop() -> None:
    """Hops after the first reached/unreachable one are dropped; silent ones before stay."""
    hops = [
        Hop(ttl=1, kind="time_exceeded", address="10.0.0.1"),
        Hop(ttl=2, kind="silent"),
        Hop(ttl=3, kind="reached", address="10.0.0.9"),
        Hop(ttl=4, kind="reached", address="10.0.0.9"),
    ]
    assert [h.ttl for h in truncate(hops)] == [1, 2, 3]
    assert truncate(hops[:2]) == tuple(hops[:2])
