"""The DNS rules (diagnose/dns.py) on evidence literals: when each fires and what it quotes."""

from __future__ import annotations

from dataclasses import replace

import evidence_cases as c
import pytest

from netdx.diagnose import dns
from netdx.model import (
    CheckEvidence,
    DnsServerAnswer,
    Finding,
    NssResult,
)


def _text(f: Finding) -> str:
    return "\n".join((f.summary, *f.evidence, *f.fix))


def test_nxdomain_names_the_qnames_tried() -> None:
    """NXDOMAIN from getaddrinfo fails the DNS step and quotes every name actually asked."""
    f = dns.nxdomain(c.NXDOMAIN)
    assert f is not None and f.severity == "fail" and f.step == "dns"
    assert "dbx.lab.example., dbx." in _text(f)
    assert "EAI_NONAME" in _text(f)


def test_nxdomain_from_servers_alone() -> None:
    """Without a getaddrinfo result, every server saying NXDOMAIN is enough."""
    assert c.NXDOMAIN.dns is not None
    ev = replace(c.NXDOMAIN, dns=replace(c.NXDOMAIN.dns, nss=None))
    f = dns.nxdomain(ev)
    assert f is not None and (f.cause, f.severity) == ("dns.nxdomain", "fail")


@pytest.mark.parametrize("ev", [c.OK_PORT, c.PORT_FILTERED, c.NO_ADDRESS, c.HOST_LIVENESS])
def test_nxdomain_quiet_when_the_name_exists(ev: CheckEvidence) -> None:
    """A name that resolves, has no address, or is an IP literal is not NXDOMAIN."""
    assert dns.nxdomain(ev) is None


def test_no_address_when_name_exists_without_records() -> None:
    """NOERROR/nodata for A and AAAA with EAI_NODATA is dns.no_address, quoting both answers."""
    f = dns.no_address(c.NO_ADDRESS)
    assert f is not None and f.severity == "fail"
    assert "no A record" in _text(f) and "no AAAA record" in _text(f)


def test_no_address_of_the_requested_family() -> None:
    """With -6 and only IPv4 records, the finding names the family and suggests dropping -6."""
    ev = replace(c.OK_PORT, addresses=(), family_filter=6)
    f = dns.no_address(ev)
    assert f is not None and "no IPv6 address" in f.summary
    assert any("drop -6" in x for x in f.fix)


@pytest.mark.parametrize("ev", [c.OK_PORT, c.NXDOMAIN, c.RESOLVER_DOWN])
def test_no_address_quiet_otherwise(ev: CheckEvidence) -> None:
    """A resolved name, a missing name, or a dead resolver is not dns.no_address."""
    assert dns.no_address(ev) is None


def test_resolver_unreachable_when_every_server_fails() -> None:
    """EAI_AGAIN plus every server timing out fails the DNS step with the server and time."""
    f = dns.resolver_unreachable(c.RESOLVER_DOWN)
    assert f is not None and f.severity == "fail"
    assert "10.0.0.53" in _text(f) and "timed out after 800 ms" in _text(f)


def test_resolver_unreachable_warns_when_the_name_resolved() -> None:
    """One dead server out of two, with the name resolved, is a warning naming that server."""
    f = dns.resolver_unreachable(c.RESOLVER_PARTIAL)
    assert f is not None and f.severity == "warn" and "10.0.0.54" in f.summary


def test_resolver_unreachable_without_any_nameserver() -> None:
    """EAI_AGAIN with no configured nameserver says so in the evidence."""
    assert c.RESOLVER_DOWN.dns is not None
    ev = replace(
        c.RESOLVER_DOWN, dns=replace(c.RESOLVER_DOWN.dns, servers=(), configured_servers=())
    )
    f = dns.resolver_unreachable(ev)
    assert f is not None and any("no nameserver" in e for e in f.evidence)


def test_resolver_unreachable_quiet_when_a_server_answers() -> None:
    """A generic getaddrinfo failure while a server answered is not a dead resolver."""
    assert c.OK_PORT.dns is not None and c.OK_PORT.dns.nss is not None
    nss = replace(c.OK_PORT.dns.nss, status="error", addresses=())
    ev = replace(c.OK_PORT, dns=replace(c.OK_PORT.dns, nss=nss), addresses=())
    assert dns.resolver_unreachable(ev) is None
    assert dns.resolver_unreachable(c.OK_PORT) is None


def test_hosts_override_fails_when_the_pin_is_dead() -> None:
    """A /etc/hosts pin DNS does not give, which times out, fails with both addresses quoted."""
    f = dns.hosts_override(c.HOSTS_OVERRIDE_DEAD)
    assert f is not None and f.severity == "fail"
    assert "10.0.2.99" in f.summary and "10.0.2.5" in f.summary
    assert any("no answer within 1000 ms" in e for e in f.evidence)


def test_hosts_override_warns_when_the_pin_answers() -> None:
    """The same pin, still answering, is only a warning."""
    f = dns.hosts_override(c.HOSTS_OVERRIDE_ALIVE)
    assert f is not None and f.severity == "warn"


def test_hosts_override_warns_when_untested() -> None:
    """A pin whose address was never connected to cannot be called dead: warning."""
    head = replace(c.HOSTS_OVERRIDE_DEAD.addresses[0], tcp=None)
    f = dns.hosts_override(replace(c.HOSTS_OVERRIDE_DEAD, addresses=(head,)))
    assert f is not None and f.severity == "warn" and "not tested" in f.summary


def test_hosts_override_quiet_when_dns_agrees() -> None:
    """A pin that DNS also gives, or addresses that came from DNS, is no override."""
    assert c.HOSTS_OVERRIDE_DEAD.dns is not None
    agree = replace(c.HOSTS_OVERRIDE_DEAD.dns, servers=(c.a_answer("db.lab.example.", c.STALE_IP),))
    assert dns.hosts_override(replace(c.HOSTS_OVERRIDE_DEAD, dns=agree)) is None
    assert dns.hosts_override(c.PORT_FILTERED) is None
    assert dns.hosts_override(c.IPV6_MISMATCH) is None  # hosts, but no server answers


def test_servfail_is_an_answer_not_an_unreachable_resolver() -> None:
    """SERVFAIL from the only server with EAI_AGAIN is not dns.resolver_unreachable (the
    resolver answered); without the zone's servers checked it is dns.servfail."""
    assert c.RESOLVER_DOWN.dns is not None
    servfail = DnsServerAnswer(
        server=c.DNS_SERVER, qname="db.lab.example.", rtype="A", status="servfail"
    )
    nss = NssResult(name="db.lab.example", status="again", gai_error="EAI_AGAIN")
    ev = replace(c.RESOLVER_DOWN, dns=replace(c.RESOLVER_DOWN.dns, servers=(servfail,), nss=nss))
    assert dns.resolver_unreachable(ev) is None
    f = dns.lame_delegation(ev)
    assert f is not None and f.cause == "dns.servfail" and f.severity == "fail"
    assert any("SERVFAIL" in e for e in f.evidence)
