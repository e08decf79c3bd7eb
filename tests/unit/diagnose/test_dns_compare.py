"""The comparison rules (`diagnose.dns_compare`): hosts pins, stale caches and search-domain
surprises from `netdx dns --compare`'s evidence, and `netdx check`'s stale-cache rule."""

from __future__ import annotations

from datetime import UTC, datetime

from netdx.diagnose import dns as check_rules
from netdx.diagnose.dns_compare import compare_findings, stale_cache
from netdx.dns.verify import from_trace
from netdx.model.dns_trace import TraceResult
from netdx.model.evidence import (
    AddressEvidence,
    CheckEvidence,
    DnsComparison,
    DnsEvidence,
    DnsQuestion,
    DnsRecord,
    DnsServerAnswer,
    NssResult,
    TcpConnect,
)
from netdx.plan.machine import wants_authoritative

TAKEN = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC).timestamp()


def answer(server: str, qname: str, *values: str, ttl: int = 300,
           status: str = "ok") -> DnsServerAnswer:
    records = tuple(DnsRecord(name=qname, rtype="A", ttl=ttl, value=v) for v in values)
    return DnsServerAnswer(server=server, qname=qname, rtype="A",
                           status=status, records=records)  # type: ignore[arg-type]


def system(name: str, *addresses: str, hosts: tuple[str, ...] = ()) -> NssResult:
    return NssResult(name=name, status="ok", addresses=addresses, hosts_addresses=hosts)


def comparison(name: str, nss: NssResult, *servers: DnsServerAnswer,
               auth: DnsServerAnswer | None = None) -> DnsComparison:
    return DnsComparison(name=name, rtype="A", system=nss, servers=servers, authoritative=auth,
                         checked_at=TAKEN)


AUTH_NEW = answer("authoritative ns1.example.lab. 10.53.0.21", "moved.example.lab.",
                  "10.53.1.21", ttl=3600)


def test_stale_cache_says_when_it_expires() -> None:
    """A resolver answering an old address is dns.stale_cache, with the remaining TTL and time."""
    c = comparison("moved.example.lab", system("moved.example.lab", "10.53.1.20"),
                   answer("10.53.0.53", "moved.example.lab.", "10.53.1.20", ttl=3500),
                   auth=AUTH_NEW)
    (finding,) = compare_findings(c)
    assert finding.cause == "dns.stale_cache" and finding.severity == "fail"
    assert "3500 s" in finding.summary and "12:58:20 UTC" in finding.summary
    assert any("cached about 100 s ago" in e for e in finding.evidence)


def test_matching_answers_give_no_finding() -> None:
    """When every source agrees there is nothing to say."""
    c = comparison("moved.example.lab", system("moved.example.lab", "10.53.1.21"),
                   answer("10.53.0.53", "moved.example.lab.", "10.53.1.21", ttl=30),
                   auth=AUTH_NEW)
    assert compare_findings(c) == ()


def test_hosts_pin_that_applications_use_fails() -> None:
    """An /etc/hosts line that getaddrinfo returns and DNS contradicts is dns.hosts_override
    (fail); a pin getaddrinfo does not return is only a warning."""
    auth = answer("authoritative ns1", "pinned.example.lab.", "10.53.1.30")
    used = system("pinned.example.lab", "10.53.1.99", hosts=("10.53.1.99",))
    (finding,) = compare_findings(comparison("pinned.example.lab", used, auth=auth))
    assert (finding.cause, finding.severity) == ("dns.hosts_override", "fail")
    assert "10.53.1.99" in finding.summary and "10.53.1.30" in finding.summary
    unused = system("pinned.example.lab", "10.53.1.30", hosts=("10.53.1.99",))
    (finding,) = compare_findings(comparison("pinned.example.lab", unused, auth=auth))
    assert (finding.cause, finding.severity) == ("dns.hosts_override", "warn")


def test_search_domain_surprise_is_a_warning() -> None:
    """A dotted name that exists only as a search expansion is pointed out."""
    c = comparison("db.corp", system("db.corp", "10.53.1.40"),
                   answer("10.53.0.53", "db.corp.", status="nxdomain"),
                   answer("10.53.0.53", "db.corp.example.lab.", "10.53.1.40"),
                   auth=answer("authoritative root", "db.corp.", status="nxdomain"))
    (finding,) = compare_findings(c)
    assert (finding.cause, finding.severity) == ("dns.search_domain", "warn")
    assert "db.corp.example.lab." in finding.summary


def test_an_absolute_name_is_no_search_surprise() -> None:
    """With a trailing dot the user asked for exactly that name: nothing to point out."""
    c = comparison("db.corp.", system("db.corp.", "10.53.1.40"),
                   answer("10.53.0.53", "db.corp.example.lab.", "10.53.1.40"))
    assert compare_findings(c) == ()


def test_check_evidence_stale_cache_from_a_trace() -> None:
    """`netdx check`'s resolver answers against the trace's answer give dns.stale_cache
    through the same judgement, whatever the final dot of the names."""
    old = DnsRecord(name="moved.example.lab.", rtype="A", ttl=3400, value="10.53.1.20")
    new = DnsRecord(name="moved.example.lab.", rtype="A", ttl=3600, value="10.53.1.21")
    trace = TraceResult(question=DnsQuestion(name="moved.example.lab.", rtype="A"),
                        status="answer", levels=(), answer=(new,),
                        authority=("ns1.example.lab.", "10.53.0.21"))
    stale = (DnsServerAnswer(server="10.53.0.53", qname="moved.example.lab", rtype="A",
                             status="ok", records=(old,)),)
    finding = stale_cache(stale, from_trace(trace), checked_at=TAKEN)
    assert finding is not None and finding.cause == "dns.stale_cache"
    assert "expires in 3400 s" in finding.summary
    fresh = (DnsServerAnswer(server="10.53.0.53", qname="moved.example.lab.", rtype="A",
                             status="ok", records=(new,)),)
    assert stale_cache(fresh, from_trace(trace), checked_at=TAKEN) is None


def test_check_rule_reads_the_authoritative_evidence() -> None:
    """`diagnose.dns.stale_cache` fires from DnsEvidence alone: servers, authoritative answer
    and the time they were taken; without the authoritative answer it says nothing."""
    servers = (answer("10.53.0.53", "moved.example.lab", "10.53.1.20", ttl=3400),)
    dns = DnsEvidence(name="moved.example.lab", source="dns", servers=servers,
                      authoritative=AUTH_NEW, checked_at=TAKEN)
    ev = CheckEvidence(target_host="moved.example.lab", port=80, scheme=None, dns=dns,
                       addresses=())
    finding = check_rules.stale_cache(ev)
    assert finding is not None and finding.cause == "dns.stale_cache"
    unverified = DnsEvidence(name="moved.example.lab", source="dns", servers=servers,
                             checked_at=TAKEN)
    ev = CheckEvidence(target_host="moved.example.lab", port=80, scheme=None, dns=unverified,
                       addresses=())
    assert check_rules.stale_cache(ev) is None


def test_verify_only_when_a_cached_address_failed() -> None:
    """The authoritative check runs for a resolver-given address that failed, not otherwise."""
    served = answer("10.53.0.53", "moved.example.lab.")

    def evidence(source: str, outcome: str) -> CheckEvidence:
        tcp = TcpConnect(address="10.53.1.20", port=80, outcome=outcome,  # type: ignore[arg-type]
                         elapsed_ms=1.0, timeout_ms=1000.0)
        dns = DnsEvidence(name="moved.example.lab", source=source,  # type: ignore[arg-type]
                          servers=(served,))
        return CheckEvidence(target_host="moved.example.lab", port=80, scheme=None, dns=dns,
                             addresses=(AddressEvidence(address="10.53.1.20", family=4,
                                                        tcp=tcp),))

    assert wants_authoritative(evidence("dns", "timeout"))
    assert wants_authoritative(evidence("nss", "refused"))
    assert not wants_authoritative(evidence("dns", "connected"))
    assert not wants_authoritative(evidence("hosts", "timeout"))
