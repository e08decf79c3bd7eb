"""`netdx self`'s verdict for IPv6-only and dual-stack hosts, from evidence literals: the
IPv6 gateway is judged by neighbour discovery (not ARP), and on a dual-stack host the other
family's broken gateway or silent hosts beyond are warnings beside an ok walk (no I/O)."""

from __future__ import annotations

import dataclasses

from netdx.diagnose.selfcheck import judge
from netdx.model import RouteLookup
from netdx.model.evidence import IcmpEcho
from netdx.selfcheck.cli import to_text
from netdx.selfcheck.evidence import Beyond, Gateway, Interface, SelfEvidence

REPLY = IcmpEcho(address="x", status="reply", sent=3, received=3, rtt_ms=0.05)
SILENT = IcmpEcho(address="x", status="timeout", sent=3)
LO = Interface(name="lo", index=1, up=True, carrier=True, operstate="UNKNOWN", loopback=True,
               addresses=("127.0.0.1/8 scope host", "::1/128 scope host"))
ETH = Interface(name="eth0", index=2, up=True, carrier=True, operstate="UP", loopback=False,
                addresses=("2001:db8::2/64 scope global", "fe80::2/64 scope link"))
GW6 = Gateway(address="fe80::1", interface="eth0", neighbour="REACHABLE", echo=REPLY)
DEAF6 = Gateway(address="fe80::1", interface="eth0", neighbour="FAILED", echo=SILENT)
GW4 = Gateway(address="10.0.0.1", interface="eth0", neighbour="REACHABLE", echo=REPLY)
ROUTE6 = RouteLookup(address="2001:db8:9::53", status="ok", route_type="unicast",
                     interface="eth0", gateway="fe80::1")
ROUTE4 = RouteLookup(address="10.9.9.9", status="ok", route_type="unicast", interface="eth0",
                     gateway="10.0.0.1")
FAR6 = Beyond(address="2001:db8:9::53", role="dns_server", route=ROUTE6, echo=REPLY)
FAR4 = Beyond(address="10.9.9.9", role="dns_server", route=ROUTE4, echo=REPLY)
V6_ONLY = SelfEvidence(loopback_echo=REPLY, interfaces=(LO, ETH), gateway=GW6, family=6,
                       beyond=(FAR6,))


def test_ipv6_only_host_walks_its_ipv6_gateway() -> None:
    """An IPv6-only host with a link-local gateway that answers: ok, in the words of
    neighbour discovery, no warning."""
    report = judge(V6_ONLY)
    assert report.verdict.ok and report.verdict.warnings == ()
    assert report.steps[2].summary == "fe80::1 on eth0 answers neighbour discovery and echo"


def test_ipv6_gateway_deaf_to_neighbour_discovery_is_the_link() -> None:
    """The IPv6 gateway's entry FAILED and no echo: step 3 fails at the link layer, with the
    IPv6 commands to look at."""
    verdict = judge(dataclasses.replace(V6_ONLY, gateway=DEAF6)).verdict
    assert (verdict.ok, verdict.layer, verdict.step) == (False, "link", 3)
    assert ("the gateway does not answer neighbour discovery: the local link is down"
            in verdict.text)
    assert verdict.fix == "ip -6 route show default; ip -6 neigh show"


def test_dual_stack_broken_ipv6_gateway_is_a_warning_not_a_failure() -> None:
    """IPv4 walked and working, the IPv6 gateway deaf: ok, one warning naming IPv6, and
    step 3 notes the IPv6 gateway."""
    ev = SelfEvidence(loopback_echo=REPLY, interfaces=(LO, ETH), gateway=GW4, family=4,
                      other_gateway=DEAF6, beyond=(FAR4,))
    report = judge(ev)
    assert report.verdict.ok
    assert len(report.verdict.warnings) == 1
    assert report.verdict.warnings[0].startswith(
        "the IPv6 default route is broken: fe80::1 on eth0 does not answer neighbour discovery")
    assert "IPv6: fe80::1 on eth0 does not answer neighbour discovery (FAILED)" in (
        report.steps[2].notes)
    assert "  warning: the IPv6 default route is broken" in to_text(report)


def test_dual_stack_silent_ipv6_hosts_beyond_are_a_warning() -> None:
    """Both gateways answer, the IPv4 DNS server answers but the IPv6 one does not: ok,
    with a warning that no IPv6 host beyond answers."""
    ev = SelfEvidence(loopback_echo=REPLY, interfaces=(LO, ETH), gateway=GW4, family=4,
                      other_gateway=GW6,
                      beyond=(FAR4, dataclasses.replace(FAR6, echo=SILENT)))
    verdict = judge(ev).verdict
    assert verdict.ok
    assert verdict.warnings == (
        "no IPv6 host beyond the gateway answers (2001:db8:9::53) while IPv4 ones do",)


def test_dual_stack_working_ipv6_gateway_has_no_warning() -> None:
    """Both gateways answer: ok, no warning, the IPv6 gateway noted under step 3."""
    ev = SelfEvidence(loopback_echo=REPLY, interfaces=(LO, ETH), gateway=GW4, family=4,
                      other_gateway=GW6, beyond=(FAR4,))
    report = judge(ev)
    assert report.verdict.ok and report.verdict.warnings == ()
    assert "IPv6: fe80::1 on eth0 answers neighbour discovery and echo" in report.steps[2].notes



def test_echo_never_sent_is_not_called_filtering() -> None:
    """No ICMP socket allowed (unprivileged, ping_group_range not covering the group) while
    the gateway's entry is REACHABLE: the link works and the step says the echo was not
    sent, never that the gateway filters ICMP."""
    why = ("ICMP echo needs root/CAP_NET_RAW, or sysctl net.ipv4.ping_group_range to include"
           " gid 65534")
    unsent = IcmpEcho(address="fe80::1%eth0", status="unknown", reason=why)
    step = judge(dataclasses.replace(V6_ONLY, gateway=dataclasses.replace(
        GW6, echo=unsent))).steps[2]
    assert step.status == "ok"
    assert step.summary == ("fe80::1 on eth0 answers neighbour discovery (REACHABLE); the link"
                            f" works (echo not sent: {why})")
    assert "filters" not in step.summary
