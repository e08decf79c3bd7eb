"""The reach rules (diagnose/reach.py) on evidence literals: when each fires and what it quotes."""

from __future__ import annotations

from dataclasses import replace

import evidence_cases as c

from netdx.diagnose import diagnose, reach
from netdx.model import (
    Finding,
)


def _text(f: Finding) -> str:
    return "\n".join((f.summary, *f.evidence, *f.fix))


def test_host_unreachable_names_the_router() -> None:
    """An ICMP host-unreachable from a router names that router and its type/code."""
    f = reach.host_unreachable(c.HOST_UNREACHABLE)
    assert f is not None and f.severity == "fail" and f.step == "reach"
    assert "router 10.0.1.1" in f.summary
    assert any(
        "ICMP type 3 code 1 (host-unreachable, EHOSTUNREACH) from 10.0.1.1" in e for e in f.evidence
    )


def test_host_unreachable_from_local_ehostunreach() -> None:
    """EHOSTUNREACH with no ICMP (ARP failed) is host_unreachable with the neighbour state."""
    f = reach.host_unreachable(c.LOCAL_EHOSTUNREACH)
    assert f is not None and "FAILED" in _text(f) and "10.0.0.77" in f.summary


def test_host_unreachable_from_a_dead_neighbour() -> None:
    """A timeout while the next hop's neighbour entry is INCOMPLETE is host_unreachable."""
    f = reach.host_unreachable(c.NEIGHBOUR_FAILED)
    assert f is not None and "INCOMPLETE" in _text(f)


def test_host_unreachable_ignores_prohibited_kinds_and_live_neighbours() -> None:
    """An admin-prohibited ICMP is a firewall, and a timeout with a REACHABLE neighbour is not."""
    assert reach.host_unreachable(c.REJECT_ADMIN) is None
    assert reach.host_unreachable(c.PORT_FILTERED) is None
    head = replace(c.NEIGHBOUR_FAILED.addresses[0], tcp=c.tcp("10.0.0.77", 22, "connected"))
    assert reach.host_unreachable(replace(c.NEIGHBOUR_FAILED, addresses=(head,))) is None


def test_no_reply_fails_a_silent_host() -> None:
    """No echo reply and every liveness connect timing out fails, saying ICMP may be filtered."""
    f = reach.no_reply(c.HOST_NO_REPLY)
    assert f is not None and f.severity == "fail" and "ICMP may be filtered" in f.summary
    assert any("22 timeout, 443 timeout" in e for e in f.evidence)


def test_no_reply_quiet_when_liveness_answers() -> None:
    """A reset on port 22 proves the host is up even with the echo unknown."""
    assert reach.no_reply(c.HOST_LIVENESS) is None


def test_no_reply_quiet_without_evidence() -> None:
    """An echo that could not be sent and no liveness probes prove nothing: no finding."""
    assert reach.no_reply(c.HOST_ECHO_UNKNOWN) is None


def test_no_reply_only_for_host_targets() -> None:
    """A port target's silence is the port layer's business."""
    assert reach.no_reply(c.PORT_FILTERED) is None


def test_neighbour_stop_is_explained() -> None:
    """A connect stopped because ARP/ND went unanswered says so in the evidence."""
    head = c.NEIGHBOUR_FAILED.addresses[0]
    assert head.tcp is not None
    stopped = replace(head.tcp, timeout_basis="neighbour")
    ev = replace(c.NEIGHBOUR_FAILED, addresses=(replace(head, tcp=stopped),))
    _, verdict = diagnose(ev)
    assert any("ARP/ND unanswered" in line for line in verdict.evidence)
