"""netdx trace's pure parts: naming a hop from an ICMP error, when a round is settled,
and the per-hop aggregation (loss, latency, rate limit, where the path stops)."""

from __future__ import annotations

from netdx.model.evidence import Hop, IcmpError
from netdx.trace.engine import icmp_hop, settled
from netdx.trace.report import build_report

TARGET = "10.0.4.2"


def _icmp(kind: str, sender: str, icmp_type: int = 3, code: int = 3) -> IcmpError:
    return IcmpError(family=4, icmp_type=icmp_type, icmp_code=code, kind=kind, sender=sender)


def _te(ttl: int, rtt: float) -> Hop:
    return Hop(ttl=ttl, kind="time_exceeded", address=f"10.0.{ttl}.1", rtt_ms=rtt)


def _reached(ttl: int, rtt: float) -> Hop:
    return Hop(ttl=ttl, kind="reached", address=TARGET, rtt_ms=rtt)


def test_icmp_hop_names_router_target_and_filter() -> None:
    """Time-exceeded is a router; UDP port-unreachable from the target is the target;
    admin-prohibited from a router ends the path there."""
    te = icmp_hop(2, TARGET, _icmp("time-exceeded", "10.0.2.1", 11, 0), 1.0, "udp")
    assert (te.kind, te.address) == ("time_exceeded", "10.0.2.1")
    closed = icmp_hop(4, TARGET, _icmp("port-unreachable", TARGET), 1.0, "udp")
    assert closed.kind == "reached"
    assert icmp_hop(4, TARGET, _icmp("port-unreachable", TARGET), 1.0, "icmp").kind == (
        "unreachable")
    cut = icmp_hop(3, TARGET, _icmp("admin-prohibited", "10.0.3.1", 3, 13), 1.0, "tcp")
    assert (cut.kind, cut.address) == ("unreachable", "10.0.3.1")


def test_settled_needs_every_ttl_below_the_end() -> None:
    """A round is done once the end is known and each TTL under it answered."""
    assert not settled({1: _te(1, 1), 3: _reached(3, 1)}, 30)
    assert settled({1: _te(1, 1), 2: _te(2, 1), 3: _reached(3, 1)}, 30)
    assert not settled({1: _te(1, 1)}, 30)


def test_stats_over_rounds() -> None:
    """last/avg/best/worst/stdev and loss are computed per TTL over the rounds."""
    rounds = [{1: _te(1, r), 2: _reached(2, 2 * r)} for r in (1.0, 3.0)]
    report = build_report(rounds, target=TARGET, method="tcp", port=80, max_hops=30,
                          raw_socket=False, elapsed_ms=5.0)
    first = report.hops[0]
    assert (first.last_ms, first.avg_ms, first.best_ms, first.worst_ms, first.stdev_ms) == (
        3.0, 2.0, 1.0, 3.0, 1.0)
    assert report.reached and len(report.hops) == 2 and report.hops[1].loss_pct == 0


def test_middle_hop_loss_is_a_rate_limit() -> None:
    """Hop 2 answers 1 round of 4 while hops 3 and 4 answer all: rate limit, not loss."""
    rounds = []
    for n in range(4):
        hops = {1: _te(1, 1), 3: _te(3, 1), 4: _reached(4, 1)}
        if n == 0:
            hops[2] = _te(2, 1)
        rounds.append(hops)
    report = build_report(rounds, target=TARGET, method="tcp", port=80, max_hops=30,
                          raw_socket=False, elapsed_ms=1.0)
    assert report.hops[1].loss_pct == 75.0 and report.hops[1].rate_limited
    assert not any(h.rate_limited for h in (report.hops[0], *report.hops[2:]))
    assert "hop 2 (10.0.2.1)" in report.notes[0] and "not loss" in report.notes[0]


def test_silent_after_a_hop_is_where_the_path_stops() -> None:
    """Answers up to hop 3 and silence after: the path stops after hop 3 for tcp/8081."""
    rounds = [{1: _te(1, 1), 2: _te(2, 1), 3: _te(3, 1)}]
    report = build_report(rounds, target=TARGET, method="tcp", port=8081, max_hops=30,
                          raw_socket=False, elapsed_ms=1.0)
    assert report.end == "silent" and len(report.hops) == 4
    assert report.hops[3].address is None and report.hops[3].loss_pct == 100.0
    assert "after hop 3 (10.0.3.1)" in report.summary and "tcp/8081" in report.summary
    assert not any(h.rate_limited for h in report.hops)


def test_unreachable_end_is_named_with_its_sender() -> None:
    """An admin-prohibited error at hop 2 ends the path there, named with its sender."""
    cut = Hop(ttl=2, kind="unreachable", address="10.0.2.1", rtt_ms=1.0,
              icmp=_icmp("admin-prohibited", "10.0.2.1", 3, 13))
    report = build_report([{1: _te(1, 1), 2: cut}], target=TARGET, method="tcp", port=22,
                          max_hops=30, raw_socket=False, elapsed_ms=1.0)
    assert report.end == "unreachable"
    assert report.summary.endswith("ends at hop 2: admin-prohibited from 10.0.2.1")
