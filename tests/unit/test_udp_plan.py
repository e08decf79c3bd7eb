"""The plan and the parser for udp:// and dns:// targets (pure: no I/O)."""

from __future__ import annotations

import dataclasses

import evidence_cases as c
import pytest
import udp_cases as u

from netdx.errors import TargetError
from netdx.model.evidence import AuthoritativeCheck
from netdx.plan import (
    AskAuthoritative,
    CheckPlan,
    CheckSettings,
    Datagram,
    LookupRoute,
    Probe,
    limits,
)
from netdx.target import parse_target


def routed(raw: str) -> tuple[CheckPlan, list[Probe]]:
    plan = CheckPlan(parse_target(raw), CheckSettings())
    lookup = next(p for p in plan.next_probes() if isinstance(p, LookupRoute))
    plan.feed(lookup.id, c.route_ok(lookup.address))
    return plan, list(plan.next_probes())


def test_udp_target_sends_a_datagram_and_an_echo_no_syn() -> None:
    """udp:// asks for a datagram exchange beside the echo, and no TCP connect at all."""
    _, probes = routed("udp://10.0.0.30:514")
    assert [type(p).__name__ for p in probes] == ["Datagram", "Echo"]
    datagram = probes[0]
    assert isinstance(datagram, Datagram) and datagram.query_name is None
    assert datagram.port == 514 and datagram.budget.cap_s == limits.DATAGRAM_MAX_S


def test_dns_target_asks_its_question() -> None:
    """dns://SERVER:PORT/NAME?type=AAAA carries the question to the probe."""
    _, probes = routed("dns://10.53.0.53:5353/WWW.Example.lab?type=aaaa")
    datagram = probes[0]
    assert isinstance(datagram, Datagram)
    assert (datagram.port, datagram.query_name, datagram.query_type) == (
        5353, "www.example.lab", "AAAA")


def test_servfail_walks_the_delegation_through_that_server() -> None:
    """A SERVFAIL asks the authoritative check through the server that failed, and its
    servers land in the exchange's delegation."""
    plan, probes = routed("dns://10.53.0.53/www.example.lab")
    servfail = u.DNS_SERVFAIL.addresses[0].udp
    assert servfail is not None
    plan.feed(probes[0].id, servfail)
    ask = next(p for p in plan.next_probes() if isinstance(p, AskAuthoritative))
    assert ask.resolvers == ("10.53.0.53",) and ask.name == "www.example.lab"
    lame = u.DNS_SERVFAIL_LAME.addresses[0].udp
    assert lame is not None and lame.delegation is not None
    plan.feed(ask.id, AuthoritativeCheck(via="resolver", servers=lame.delegation))
    udp = plan.evidence().addresses[0].udp
    assert udp is not None and udp.delegation == lame.delegation


def test_an_answer_needs_no_delegation_walk() -> None:
    """NOERROR ends the dns:// address: nothing more is asked."""
    plan, probes = routed("dns://10.53.0.53/www.example.lab")
    ok = u.DNS_OK.addresses[0].udp
    assert ok is not None
    plan.feed(probes[0].id, ok)
    assert plan.next_probes() == ()


@pytest.mark.parametrize(("raw", "message"), [
    ("udp://10.0.0.1", "needs a port"),
    ("dns://10.0.0.1/", "needs a name"),
    ("dns://10.0.0.1/bad..name", "empty label"),
    ("dns://10.0.0.1/x.lab?type=OPT", "is not one of"),
    ("dns://10.0.0.1/x.lab?class=IN", "unknown dns:// option"),
])  # fmt: skip
def test_bad_udp_and_dns_targets_are_one_line_errors(raw: str, message: str) -> None:
    """Each malformed udp:// or dns:// target is a TargetError (exit 2) saying why."""
    with pytest.raises(TargetError, match=message):
        parse_target(raw)


def test_dns_target_defaults() -> None:
    """dns://SERVER/NAME asks A on port 53; udp:// keeps no question."""
    dns = parse_target("dns://10.0.0.53/db.corp.example")
    assert (dns.port, dns.query_name, dns.query_type, dns.is_datagram) == (
        53, "db.corp.example", "A", True)
    udp = parse_target("udp://[fd00::1]:123")
    assert (udp.host, udp.port, udp.query_name, udp.is_datagram) == ("fd00::1", 123, None, True)
    assert not dataclasses.replace(udp, scheme="tcp").is_datagram
