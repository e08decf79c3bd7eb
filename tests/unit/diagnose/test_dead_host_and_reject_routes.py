"""Issue 10's route and reachability words, on evidence captured in the lab: a dead host
behind a router is the router's host-unreachable, not a firewall; a blackhole route is
named and deleted, not "added"; an echo that could not leave is not a privilege problem."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from netdx.diagnose import diagnose
from netdx.model import CheckEvidence
from netdx.model.codec import from_data

FIXTURES = Path(__file__).parent.parent / "fixtures" / "evidence"


def _captured(name: str) -> CheckEvidence:
    return from_data(CheckEvidence, json.loads((FIXTURES / f"{name}.json").read_text()))


def test_dead_host_behind_a_router_is_the_routers_host_unreachable() -> None:
    """The connect timed out before the router's ARP failed; the SYN trace sent after got
    the router's host-unreachable: reach.host_unreachable from 10.0.1.1, and the port step
    no longer blames a firewall (it said port.filtered before)."""
    steps, verdict = diagnose(_captured("reach-host-down-routed-default-budget"))
    assert verdict.cause == "reach.host_unreachable"
    assert "router 10.0.1.1" in verdict.summary and "host-unreachable" in verdict.summary
    assert "firewall" not in verdict.summary
    assert any("(unreachable)" in line for line in verdict.evidence)
    assert verdict.fix[0] == "is 10.0.2.99 up? on router 10.0.1.1: ip neigh show 10.0.2.99"
    port = next(s for s in steps if s.layer == "port")
    assert "firewall" not in port.summary


def test_silence_from_host_and_port_is_not_called_a_firewall_drop() -> None:
    """Without the router's ICMP (the trace ends in silence) and no echo reply either, the
    timeout stays port.filtered (the rule needs the router's word for host_unreachable), but
    it says "no reply from the host or the port", not "a firewall silently drops the SYN"."""
    ev = _captured("reach-host-down-routed-default-budget")
    head = ev.addresses[0]
    assert head.path is not None
    silent = dataclasses.replace(head.path, hops=head.path.hops[:1])
    ev = dataclasses.replace(ev, addresses=(dataclasses.replace(head, path=silent),))
    _, verdict = diagnose(ev)
    assert verdict.cause == "port.filtered"
    assert verdict.summary.startswith("no reply from the host or the port (10.0.2.99:5432")
    assert "firewall silently drops" not in verdict.summary
    assert verdict.fix[0] == "is 10.0.2.99 up? check it on its console or hypervisor"


def test_a_host_that_answers_echo_keeps_the_firewall_words() -> None:
    """When the host answers ICMP echo, the silent SYN is still a firewall's drop."""
    _, verdict = diagnose(_captured("payment-db-firewall"))
    assert verdict.cause == "port.filtered"
    assert "a firewall silently drops the SYN" in verdict.summary


def test_midway_fix_suspects_the_last_answering_router_first() -> None:
    """A router sends time-exceeded before its forward hook: the fix of path-filtered-midway
    names 10.0.1.1 (hop 1) itself first, not only "the router after" it."""
    _, verdict = diagnose(_captured("path-filtered-midway"))
    assert verdict.cause == "path.filtered_midway"
    assert verdict.fix[1].startswith("check the forward filter of router 10.0.1.1 (hop 1) first")


def test_blackhole_route_is_named_with_its_delete() -> None:
    """`ip route add blackhole 10.0.2.0/24` on the client: route.no_route that names the
    blackhole and fixes it with `ip route del blackhole`, never "add a route via GATEWAY"."""
    _, verdict = diagnose(_captured("route-blackhole"))
    assert verdict.cause == "route.no_route"
    assert "blackhole route for 10.0.2.20" in verdict.summary
    assert verdict.fix[0] == "find the route: ip route show type blackhole match 10.0.2.20"
    assert "ip route del blackhole" in verdict.fix[1]
    assert not any("via GATEWAY" in line for line in verdict.fix)
    assert any("EINVAL" in line for line in verdict.evidence)


def test_prohibit_route_is_named_too() -> None:
    """The same evidence with a prohibit route names the prohibit route and its delete."""
    ev = _captured("route-blackhole")
    head = ev.addresses[0]
    assert head.route is not None
    route = dataclasses.replace(head.route, route_type="prohibit", error="EACCES")
    ev = dataclasses.replace(ev, addresses=(dataclasses.replace(head, route=route),))
    _, verdict = diagnose(ev)
    assert "prohibit route for 10.0.2.20" in verdict.summary
    assert "ip route del prohibit" in verdict.fix[1]


def test_an_echo_that_could_not_leave_is_not_a_privilege_problem() -> None:
    """As root the echo socket opened and the send failed with EINVAL (the blackhole): the
    reach step says so, not "run as root or allow ping"."""
    steps, _ = diagnose(_captured("route-blackhole"))
    reach = next(s for s in steps if s.layer == "reach")
    assert "EINVAL" in reach.summary
    assert "run as root" not in reach.summary


def test_an_echo_without_a_socket_still_asks_for_root() -> None:
    """When no echo socket could be opened (no method), the root/ping_group advice stays."""
    ev = _captured("route-blackhole")
    head = ev.addresses[0]
    assert head.echo is not None
    echo = dataclasses.replace(head.echo, method=None, reason="no ICMP socket: EPERM")
    ev = dataclasses.replace(ev, addresses=(dataclasses.replace(head, echo=echo),))
    steps, _ = diagnose(ev)
    reach = next(s for s in steps if s.layer == "reach")
    assert "run as root or allow ping" in reach.summary
