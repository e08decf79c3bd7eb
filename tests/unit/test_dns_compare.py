"""The source comparison: resolv.conf parsing, search order, and the judgement of the table."""

from __future__ import annotations

from datetime import UTC, datetime

from netdx.dns.compare import ResolvConf, SourceRow, candidates, hosts_row, judge, parse_resolv_conf

TAKEN = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def row(kind: str, source: str, addresses: tuple[str, ...], *, qname: str = "moved.example.lab.",
        ttl: int | None = None, status: str = "ok") -> SourceRow:
    return SourceRow(kind=kind, source=source, qname=qname, status=status,  # type: ignore[arg-type]
                     addresses=addresses, ttl=ttl)


def test_resolv_conf_like_glibc() -> None:
    """nameservers in order, the last search/domain line wins, ndots is read."""
    conf = parse_resolv_conf(
        "# comment\nnameserver 10.0.0.53\ndomain old.example\nsearch a.example b.example\n"
        "nameserver 10.0.0.54 ; trailing\noptions ndots:2 timeout:1\n")
    assert conf == ResolvConf(nameservers=("10.0.0.53", "10.0.0.54"),
                              search=("a.example", "b.example"), ndots=2)


def test_search_order_follows_ndots() -> None:
    """A name with fewer dots than ndots tries the search list first; an absolute name never."""
    conf = ResolvConf(search=("example.lab",), ndots=1)
    assert candidates("db", conf) == ("db.example.lab.", "db.")
    assert candidates("db.corp", conf) == ("db.corp.", "db.corp.example.lab.")
    assert candidates("db.corp.", conf) == ("db.corp.",)


def test_stale_cache_says_when_it_expires() -> None:
    """A resolver answering an old address is dns.stale_cache, with the remaining TTL and time."""
    rows = (
        row("system", "getaddrinfo", ("10.53.1.20",), qname="moved.example.lab"),
        row("server", "10.53.0.53", ("10.53.1.20",), ttl=3500),
        row("authoritative", "ns1.example.lab. 10.53.0.21", ("10.53.1.21",), ttl=3600),
    )
    (finding,) = judge(rows, name="moved.example.lab", taken_at=TAKEN)
    assert finding.cause == "dns.stale_cache" and finding.severity == "fail"
    assert "3500 s" in finding.summary and "12:58:20 UTC" in finding.summary
    assert any("cached about 100 s ago" in e for e in finding.evidence)


def test_matching_answers_give_no_finding() -> None:
    """When every source agrees there is nothing to say."""
    rows = (
        row("hosts", "/etc/hosts", (), status="none"),
        row("system", "getaddrinfo", ("10.53.1.21",), qname="moved.example.lab"),
        row("server", "10.53.0.53", ("10.53.1.21",), ttl=30),
        row("authoritative", "ns1", ("10.53.1.21",), ttl=3600),
    )
    assert judge(rows, name="moved.example.lab", taken_at=TAKEN) == ()


def test_hosts_pin_that_applications_use_fails() -> None:
    """An /etc/hosts line that getaddrinfo returns and DNS contradicts is dns.hosts_override."""
    rows = (
        hosts_row("pinned.example.lab", "A", "10.53.1.99 pinned.example.lab\n"),
        row("system", "getaddrinfo", ("10.53.1.99",), qname="pinned.example.lab"),
        row("authoritative", "ns1", ("10.53.1.30",), qname="pinned.example.lab.", ttl=300),
    )
    (finding,) = judge(rows, name="pinned.example.lab", taken_at=TAKEN)
    assert (finding.cause, finding.severity) == ("dns.hosts_override", "fail")
    assert "10.53.1.99" in finding.summary and "10.53.1.30" in finding.summary


def test_search_domain_surprise_is_a_warning() -> None:
    """A dotted name that exists only as a search expansion is pointed out."""
    rows = (
        row("system", "getaddrinfo", ("10.53.1.40",), qname="db.corp"),
        row("server", "10.53.0.53", (), qname="db.corp.", status="nxdomain"),
        row("server", "10.53.0.53", ("10.53.1.40",), qname="db.corp.example.lab.", ttl=300),
        row("authoritative", "root", (), qname="db.corp.", status="nxdomain"),
    )
    (finding,) = judge(rows, name="db.corp", taken_at=TAKEN)
    assert (finding.cause, finding.severity) == ("dns.search_domain", "warn")
    assert "db.corp.example.lab." in finding.summary


def test_check_evidence_stale_cache_from_a_trace() -> None:
    """`netdx check`'s resolver answers against the trace's answer give dns.stale_cache."""
    from netdx.dns.message import Question
    from netdx.dns.trace import TraceResult
    from netdx.dns.verify import from_trace, stale_cache
    from netdx.model.evidence import DnsEvidence, DnsRecord, DnsServerAnswer

    old = DnsRecord(name="moved.example.lab.", rtype="A", ttl=3400, value="10.53.1.20")
    new = DnsRecord(name="moved.example.lab.", rtype="A", ttl=3600, value="10.53.1.21")
    trace = TraceResult(question=Question(name="moved.example.lab.", rtype="A"),
                        status="answer", levels=(), answer=(new,),
                        authority=("ns1.example.lab.", "10.53.0.21"))
    dns = DnsEvidence(name="moved.example.lab", source="dns", servers=(
        DnsServerAnswer(server="10.53.0.53", qname="moved.example.lab", rtype="A",
                        status="ok", records=(old,)),))
    finding = stale_cache(dns, from_trace(trace), taken_at=TAKEN)
    assert finding is not None and finding.cause == "dns.stale_cache"
    assert "expires in 3400 s" in finding.summary
    fresh = DnsEvidence(name="moved.example.lab", source="dns", servers=(
        DnsServerAnswer(server="10.53.0.53", qname="moved.example.lab.", rtype="A",
                        status="ok", records=(new,)),))
    assert stale_cache(fresh, from_trace(trace), taken_at=TAKEN) is None


def test_verify_only_when_a_cached_address_failed() -> None:
    """The authoritative check runs for a resolver-given address that failed, not otherwise."""
    from netdx.dns.verify import should_verify
    from netdx.model.evidence import (
        AddressEvidence,
        CheckEvidence,
        DnsEvidence,
        DnsServerAnswer,
        TcpConnect,
    )

    answer = DnsServerAnswer(server="10.53.0.53", qname="moved.example.lab.", rtype="A",
                             status="ok")

    def evidence(source: str, outcome: str) -> CheckEvidence:
        tcp = TcpConnect(address="10.53.1.20", port=80, outcome=outcome,  # type: ignore[arg-type]
                         elapsed_ms=1.0, timeout_ms=1000.0)
        dns = DnsEvidence(name="moved.example.lab", source=source,  # type: ignore[arg-type]
                          servers=(answer,))
        return CheckEvidence(target_host="moved.example.lab", port=80, scheme=None, dns=dns,
                             addresses=(AddressEvidence(address="10.53.1.20", family=4,
                                                        tcp=tcp),))

    assert should_verify(evidence("dns", "timeout"))
    assert should_verify(evidence("nss", "refused"))
    assert not should_verify(evidence("dns", "connected"))
    assert not should_verify(evidence("hosts", "timeout"))
