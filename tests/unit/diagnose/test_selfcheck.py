"""`netdx self`'s verdict from evidence literals: each step's outcome and the first failing
step naming the layer, in the method's order (no I/O)."""

from __future__ import annotations

import dataclasses

import pytest

from netdx.cli import main
from netdx.diagnose.selfcheck import judge
from netdx.model import RouteLookup
from netdx.model.evidence import DnsRecord, DnsServerAnswer, IcmpEcho
from netdx.selfcheck.cli import to_text
from netdx.selfcheck.evidence import Beyond, Gateway, Interface, SelfEvidence

REPLY = IcmpEcho(address="x", status="reply", sent=3, received=3, rtt_ms=0.05)
SILENT = IcmpEcho(address="x", status="timeout", sent=3)
LO = Interface(name="lo", index=1, up=True, carrier=True, operstate="UNKNOWN", loopback=True,
               addresses=("127.0.0.1/8 scope host",))
ETH = Interface(name="eth0", index=2, up=True, carrier=True, operstate="UP", loopback=False,
                addresses=("10.0.0.2/24 scope global",))
ROUTE = RouteLookup(address="10.9.9.9", status="ok", route_type="unicast", interface="eth0",
                    gateway="10.0.0.1")
GW = Gateway(address="10.0.0.1", interface="eth0", neighbour="REACHABLE", echo=REPLY)
FAR = Beyond(address="10.9.9.9", role="dns_server", route=ROUTE, echo=REPLY)
RESOLVED = DnsServerAnswer(server="10.9.9.9", qname="a.lab.", rtype="A", status="ok",
                           records=(DnsRecord(name="a.lab.", rtype="A", ttl=60,
                                              value="10.1.1.1"),))
DEAD_DNS = DnsServerAnswer(server="10.9.9.9", qname="a.lab.", rtype="A", status="error",
                           error="connection refused (ICMP port unreachable)")
HEALTHY = SelfEvidence(loopback_echo=REPLY, interfaces=(LO, ETH), gateway=GW, beyond=(FAR,),
                       dns_name="a.lab", dns=(RESOLVED,))


def statuses(ev: SelfEvidence) -> list[str]:
    return [s.status for s in judge(ev).steps]


def test_healthy_host_every_step_ok() -> None:
    """Loopback, a usable interface, an answering gateway, a host beyond and DNS: ok."""
    report = judge(HEALTHY)
    assert statuses(HEALTHY) == ["ok"] * 5
    assert report.verdict.ok and report.verdict.layer == "none"
    assert "OK: every step works" in to_text(report)


def test_beyond_works_dns_fails_is_a_dns_problem() -> None:
    """The host beyond answers echo, the DNS server does not answer: the DNS verdict."""
    ev = dataclasses.replace(HEALTHY, dns=(DEAD_DNS,))
    verdict = judge(ev).verdict
    assert (verdict.ok, verdict.layer, verdict.step) == (False, "dns", 5)
    assert verdict.text.startswith(
        "step 4 works but step 5 fails: a DNS problem, not a network problem")
    assert verdict.fix == "netdx dns a.lab --compare"


def test_nxdomain_says_the_servers_answer() -> None:
    """NXDOMAIN from every server: the servers work, the name does not exist."""
    nx = dataclasses.replace(DEAD_DNS, status="nxdomain", error=None)
    step = judge(dataclasses.replace(HEALTHY, dns=(nx,))).steps[4]
    assert step.status == "fail" and "has no such record (NXDOMAIN)" in step.summary


def test_gateway_without_arp_answer_is_the_local_link() -> None:
    """No echo reply and the neighbour INCOMPLETE: step 3 fails, the local link is down."""
    for state in ("INCOMPLETE", "FAILED", None):
        gw = dataclasses.replace(GW, neighbour=state, echo=SILENT)
        far = dataclasses.replace(FAR, echo=SILENT)
        verdict = judge(dataclasses.replace(HEALTHY, gateway=gw, beyond=(far,), dns=())).verdict
        assert (verdict.layer, verdict.step) == ("link", 3), state
        assert "the gateway does not answer ARP: the local link is down" in verdict.text


def test_gateway_answering_arp_but_not_echo_is_not_a_failure() -> None:
    """A gateway that filters echo but resolved (STALE) still proves the link: step 3 ok."""
    gw = dataclasses.replace(GW, neighbour="STALE", echo=SILENT)
    step = judge(dataclasses.replace(HEALTHY, gateway=gw)).steps[2]
    assert step.status == "ok" and "filters ICMP" in step.summary


def test_no_default_route_is_a_route_fault() -> None:
    """No default route: step 3 fails with layer route."""
    verdict = judge(dataclasses.replace(HEALTHY, gateway=None)).verdict
    assert (verdict.layer, verdict.step) == ("route", 3)
    assert verdict.text.startswith("no default route")


def test_nothing_beyond_answers_is_upstream() -> None:
    """Gateway answers, the host beyond (and its DNS) do not: upstream of the gateway."""
    far = dataclasses.replace(FAR, echo=SILENT)
    verdict = judge(dataclasses.replace(HEALTHY, beyond=(far,), dns=(DEAD_DNS,))).verdict
    assert (verdict.layer, verdict.step) == ("upstream", 4)
    assert verdict.text.startswith("step 3 works but step 4 fails")
    assert verdict.fix == "netdx trace 10.9.9.9"


def test_dns_server_that_answers_dns_but_not_echo_is_reachable() -> None:
    """A DNS server that drops echo but answers the query proves the host beyond."""
    far = dataclasses.replace(FAR, echo=SILENT)
    assert statuses(dataclasses.replace(HEALTHY, beyond=(far,)))[3] == "ok"


def test_interfaces_down_or_without_carrier() -> None:
    """Step 2 names down links, missing carrier, and missing addresses apart."""
    cases = {
        "every interface is down": dataclasses.replace(ETH, up=False, carrier=False),
        "none has a carrier": dataclasses.replace(ETH, carrier=False),
        "no interface has a global address": dataclasses.replace(ETH, addresses=()),
    }
    for words, eth in cases.items():
        report = judge(dataclasses.replace(HEALTHY, interfaces=(LO, eth)))
        assert report.steps[1].status == "fail" and words in report.steps[1].summary
        assert (report.verdict.layer, report.verdict.step) == ("link", 2)


def test_loopback_down_comes_first() -> None:
    """lo down fails step 1 whatever follows."""
    lo = dataclasses.replace(LO, up=False)
    verdict = judge(dataclasses.replace(HEALTHY, interfaces=(lo, ETH))).verdict
    assert (verdict.layer, verdict.step) == ("loopback", 1)


def test_skipped_steps_do_not_fail_and_no_permission_is_unknown() -> None:
    """No --resolve and no host beyond: skipped, still ok; an echo never sent: unknown."""
    ev = dataclasses.replace(HEALTHY, beyond=(), dns_name=None, dns=(),
                             skipped_servers=("127.0.0.53",))
    report = judge(ev)
    assert statuses(ev) == ["ok", "ok", "ok", "skipped", "skipped"] and report.verdict.ok
    assert "127.0.0.53: a DNS server on this host" in report.steps[3].notes[0]
    denied = IcmpEcho(address="127.0.0.1", status="unknown", reason="needs CAP_NET_RAW")
    verdict = judge(dataclasses.replace(HEALTHY, loopback_echo=denied)).verdict
    assert (verdict.ok, verdict.layer, verdict.step) == (False, "unknown", 1)


def test_bad_input_is_exit_2_before_any_probe(capsys: pytest.CaptureFixture[str]) -> None:
    """A name given to --beyond (netdx self never resolves it) and a malformed --resolve
    name are usage errors: one line, exit 2, and nothing is sent."""
    for argv in (["self", "--beyond", "gw.example"], ["self", "--resolve", "a..b"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "netdx: error:" in err


def test_onlink_default_route_is_not_no_route() -> None:
    """A default route with no gateway (`default dev wg0`) skips step 3 instead of saying
    there is no default route; a host beyond then decides."""
    ev = dataclasses.replace(HEALTHY, gateway=None, onlink_default="wg0")
    report = judge(ev)
    assert report.steps[2].status == "skipped" and "wg0" in report.steps[2].summary
    assert report.verdict.ok
