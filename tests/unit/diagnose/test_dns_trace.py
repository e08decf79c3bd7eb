"""The `netdx dns` rules for causes no other unit test produced: a referral loop in the
walk, and a server that answers garbage, SERVFAIL or REFUSED (fed with captured bytes)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from netdx.diagnose.dns_trace import query_findings, trace_findings
from netdx.dns.message import parse_response, status_of
from netdx.dns.trace import TraceLimits, TraceMachine
from netdx.model.dns_trace import NameServer
from netdx.model.evidence import (
    DnsExchange,
    DnsMessage,
    DnsQuestion,
    DnsRecord,
    DnsServerAnswer,
)

WIRE = Path(__file__).parent.parent / "fixtures" / "dnswire"
MANIFEST = json.loads((WIRE / "manifest.json").read_text())


def captured(name: str) -> DnsServerAnswer:
    """The captured answer `name` of fixtures/dnswire as its server's answer."""
    meta = MANIFEST[name]
    message = parse_response((WIRE / f"{name}.bin").read_bytes())
    status, error = status_of(message, meta["qtype"])
    return DnsServerAnswer(
        server=meta["server"],
        qname=meta["qname"],
        rtype=meta["qtype"],
        status=status,
        records=message.answer,
        error=error,
        elapsed_ms=1.0,
        exchange=DnsExchange(port=53, transport="udp", message=message),
    )


def test_servfail_from_a_server_is_dns_servfail() -> None:
    """A captured SERVFAIL names the server and the name, and points at the trace."""
    (finding,) = query_findings((captured("resolver_servfail"),))
    assert finding.cause == "dns.servfail"
    assert finding.summary == "10.53.0.53 answered SERVFAIL for www.refused.lab."
    assert any("netdx dns --trace www.refused.lab." in x for x in finding.fix)


def test_refused_from_a_server_is_dns_refused() -> None:
    """A captured REFUSED is dns.refused, with the dig command that repeats it."""
    (finding,) = query_findings((captured("refused"),))
    assert finding.cause == "dns.refused"
    assert finding.evidence == ("www.example.lab. A @10.53.0.31: REFUSED",)
    assert "confirm: dig @10.53.0.31 www.example.lab. A" in finding.fix


def test_unparseable_answer_is_dns_malformed_answer() -> None:
    """Bytes that are not DNS, or only answers to another query, are a malformed answer."""
    for status in ("malformed", "bad_id"):
        result = DnsServerAnswer(
            server="10.53.0.9",
            qname="www.example.lab.",
            rtype="A",
            status=status,  # type: ignore[arg-type]
            elapsed_ms=3.0,
            error="message too short",
        )
        (finding,) = query_findings((result,))
        assert finding.cause == "dns.malformed_answer"
        assert f"({status})" in finding.summary


def test_a_healthy_answer_gives_no_finding() -> None:
    """A captured authoritative answer is no finding at all."""
    assert query_findings((captured("www_a_aa"),)) == ()


def _referral(q: DnsQuestion, zone: str, ns: str, glue: str) -> DnsServerAnswer:
    msg = DnsMessage(
        id=1,
        rcode="NOERROR",
        flags=("qr",),
        question=(q,),
        authority=(DnsRecord(name=zone, rtype="NS", ttl=300, value=ns),),
        additional=(DnsRecord(name=ns, rtype="A", ttl=300, value=glue),),
    )
    return DnsServerAnswer(
        server="x", qname=q.name, rtype=q.rtype, status="nodata", elapsed_ms=1.0,
        exchange=DnsExchange(port=53, transport="udp", message=msg),
    )  # fmt: skip


def test_walk_deeper_than_its_limit_is_a_referral_loop() -> None:
    """Referrals that never end (here: more zone cuts than the limit) stop the walk with
    dns.referral_loop naming the zones walked."""
    cuts = {"192.0.2.1": ("lab.", "192.0.2.11"), "192.0.2.11": ("example.lab.", "192.0.2.21")}
    machine = TraceMachine(
        DnsQuestion(name="www.example.lab.", rtype="A"),
        (NameServer(name="a.root.", addresses=("192.0.2.1",)),),
        limits=TraceLimits(max_levels=2),
    )
    for _ in range(10):
        batch = machine.next_queries()
        if not batch:
            break
        for query in batch:
            zone, glue = cuts[query.server]
            machine.feed(query.id, _referral(query.question, zone, f"ns.{zone}", glue))
    result = machine.result()
    assert result.status == "too_deep"
    (finding,) = trace_findings(result)
    assert finding.cause == "dns.referral_loop"
    assert finding.evidence == ("zones walked: . → lab.",)


def test_compare_names_a_resolver_that_never_answered() -> None:
    """In --compare, a resolver of resolv.conf that timed out is dns.resolver_unreachable,
    as for a direct query; one that answered is not."""
    from netdx.diagnose.dns_trace import dns_findings
    from netdx.model.evidence import DnsComparison, NssResult

    silent = DnsServerAnswer(server="10.99.0.53", qname="www.example.lab.", rtype="A",
                             status="timeout", error="no answer before the deadline",
                             elapsed_ms=1000.0)  # fmt: skip
    system = NssResult(name="www.example.lab", status="timeout")
    table = DnsComparison(name="www.example.lab", rtype="A", system=system, servers=(silent,),
                          checked_at=1.0)  # fmt: skip
    (finding,) = dns_findings((), None, table)
    assert finding.cause == "dns.resolver_unreachable"
    assert finding.summary == "10.99.0.53 did not answer (timeout)"
    answered = replace(silent, status="nxdomain", error=None)
    assert dns_findings((), None, replace(table, servers=(answered,))) == ()
