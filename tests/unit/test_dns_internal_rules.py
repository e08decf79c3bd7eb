"""The DNS rules' verdicts for internal zones, /etc/hosts names and a named server: pure,
evidence literals in, one verdict out."""

from __future__ import annotations

from dataclasses import replace

import evidence_cases as c

from netdx.diagnose import diagnose
from netdx.diagnose import dns as rules
from netdx.dns.compare import settled_name
from netdx.dns.resolvconf import search_goes_on
from netdx.model import CheckEvidence, DnsEvidence, DnsServerAnswer, NssResult
from netdx.model.evidence import DelegatedServer, DnsComparison


def test_a_name_from_etc_hosts_is_not_blamed_on_dns() -> None:
    """No nameserver line (glibc then asks 127.0.0.1, which refuses) and the name in
    /etc/hosts: the check does not say dns.resolver_unreachable, and the port verdict stands."""
    dead = DnsServerAnswer(server="127.0.0.1", qname=f"{c.DB}.", rtype="A", status="error",
                           error="connection refused (ICMP port unreachable)")
    dns = DnsEvidence(name=c.DB, source="hosts",
                      nss=NssResult(name=c.DB, status="ok", addresses=(c.DB_IP,),
                                    hosts_addresses=(c.DB_IP,)),
                      servers=(dead,), configured_servers=("127.0.0.1",))
    ev = replace(c.OK_PORT, dns=dns)
    assert rules.resolver_unreachable(ev) is None
    assert diagnose(ev)[1].cause == "ok"


def test_a_silent_named_server_fails_plainly() -> None:
    """--dns-server at a silent server: getaddrinfo's answer is not used, so no address was
    probed; the verdict says the server you named did not answer, not "the name still
    resolved" over skipped layers."""
    silent = DnsServerAnswer(server="192.0.2.53", qname=f"{c.DB}.", rtype="A",
                             status="timeout", error="no answer", elapsed_ms=1800.0)
    ev = CheckEvidence(target_host=c.DB, port=5432, scheme=None, dns=DnsEvidence(
        name=c.DB, source="dns", nss=NssResult(name=c.DB, status="ok", addresses=(c.DB_IP,)),
        servers=(silent,), configured_servers=("192.0.2.53",)))
    _, verdict = diagnose(ev)
    assert verdict.cause == "dns.resolver_unreachable"
    assert "the server you named did not answer" in verdict.summary
    assert "still resolved" not in verdict.summary


def test_lame_delegation_of_an_internal_zone_names_each_server() -> None:
    """The resolver's SERVFAIL and the zone's servers that refuse or stay silent: a failing
    dns.lame_delegation naming both, with a +norecurse command that runs as written."""
    _, verdict = diagnose(c.LAME_DELEGATION)
    assert verdict.cause == "dns.lame_delegation"
    assert "SERVFAIL" in verdict.summary and "corp.example." in verdict.summary
    assert "10.0.5.1" in verdict.summary and "10.0.5.2" in verdict.summary
    assert verdict.fix[0] == "ask the server directly: dig @10.0.5.1 db.corp.example +norecurse"


def test_one_working_server_makes_the_lame_one_a_warning() -> None:
    """A zone with one server answering and one refusing is a warning, not the verdict."""
    assert c.LAME_DELEGATION.dns is not None
    good = DelegatedServer(zone="corp.example.", ns_name="ns3.corp.example.",
                           address="10.0.5.3", outcome="answer", lame=False)
    servers = (*(c.LAME_DELEGATION.dns.delegation or ()), good)
    ev = replace(c.LAME_DELEGATION, dns=replace(c.LAME_DELEGATION.dns, delegation=servers))
    finding = rules.lame_delegation(ev)
    assert finding is not None and finding.severity == "warn"


def test_the_search_walk_stops_once_a_name_answered() -> None:
    """An address, a timeout or REFUSED end the walk; NXDOMAIN, NODATA, SERVFAIL go on."""
    assert [s for s in ("ok", "timeout", "refused", "error") if search_goes_on(s)] == []
    assert all(search_goes_on(s) for s in ("nxdomain", "nodata", "servfail"))


def test_compare_verifies_the_name_the_resolver_settled_on() -> None:
    """`dns moved --compare`: moved.lab.example answered, so that is the name verified."""
    rows = (DnsServerAnswer(server="r", qname="moved.lab.example.", rtype="A", status="ok",
                            records=c.a_answer("moved.lab.example.", "10.0.0.9").records),
            DnsServerAnswer(server="r2", qname="moved.", rtype="A", status="nxdomain"))
    comparison = DnsComparison(name="moved", rtype="A", checked_at=0.0, servers=rows,
                               system=NssResult(name="moved", status="ok"))
    assert settled_name(comparison) == "moved.lab.example."
    assert settled_name(replace(comparison, servers=())) == "moved"
