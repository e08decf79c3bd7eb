"""For `netdx check`: compare what the resolvers gave with the authoritative answer, so a
cache that outlived a record change is diagnosed as `dns.stale_cache`.

How `netdx check` uses it: when `should_verify(evidence)`, the runner (`netdx.check`) asks
`authoritative_answer` and keeps it as evidence (`DnsEvidence.authoritative`); the pure rule
`diagnose.dns.stale_cache` compares with `stale_cache`. `authoritative_answer` is the only
I/O here (a trace from the root hints); `stale_cache` and `should_verify` are pure.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from netdx.budget import Deadline
from netdx.dns.compare import SourceRow, judge
from netdx.dns.message import Question
from netdx.dns.trace import TraceResult
from netdx.dns.tracer import load_root_hints, run_trace
from netdx.model.evidence import CheckEvidence, DnsEvidence, DnsRecord, DnsServerAnswer
from netdx.model.report import Finding

AUTHORITATIVE = "authoritative"


def should_verify(ev: CheckEvidence) -> bool:
    """True when the addresses came from a resolver (a cache) and the first one failed."""
    dns = ev.dns
    if dns is None or dns.source not in ("dns", "nss") or not dns.servers:
        return False
    if not ev.addresses:
        return False
    head = ev.addresses[0]
    if head.tcp is not None:
        return head.tcp.outcome != "connected"
    return head.echo is None or head.echo.status != "reply"


def from_trace(trace: TraceResult) -> DnsServerAnswer:
    """A finished trace as the model's per-server answer (`server` names who answered)."""
    q = trace.question
    status = {"answer": "ok", "nxdomain": "nxdomain", "nodata": "nodata"}.get(trace.status)
    who = " ".join(trace.authority)
    return DnsServerAnswer(
        server=f"{AUTHORITATIVE} {who}".strip(),
        qname=q.name,
        rtype=q.rtype,
        status=status or "servfail",  # type: ignore[arg-type]
        records=tuple(DnsRecord(name=r.name, rtype=r.rtype, ttl=r.ttl, value=r.value)
                      for r in trace.answer),
        error=None if status else f"{trace.status}: {trace.detail}",
    )


async def authoritative_answer(name: str, rtype: str, *, deadline: Deadline,
                               root_hints: Path | None = None,
                               server_timeout: float = 0.8) -> DnsServerAnswer | None:
    """Trace `name` from the root hints; None when no root hints are available."""
    roots, _ = load_root_hints(root_hints)
    if not roots:
        return None
    qname = name if name.endswith(".") else name + "."
    trace = await run_trace(Question(name=qname, rtype=rtype), roots, deadline=deadline,
                            server_timeout=server_timeout, wait_stragglers=False)
    return from_trace(trace)


def stale_cache(dns: DnsEvidence, authoritative: DnsServerAnswer, *,
                taken_at: datetime) -> Finding | None:
    """dns.stale_cache when a configured server's answer is not what the zone says now."""
    if authoritative.status != "ok":
        return None
    auth = _row("authoritative", authoritative)
    rows = [auth, *(_row("server", a) for a in dns.servers
                    if a.rtype == authoritative.rtype and _same(a.qname, authoritative.qname))]
    found = [f for f in judge(tuple(rows), name=authoritative.qname, taken_at=taken_at)
             if f.cause == "dns.stale_cache"]
    return found[0] if found else None


def _same(a: str, b: str) -> bool:
    return a.rstrip(".").lower() == b.rstrip(".").lower()


def _row(kind: str, answer: DnsServerAnswer) -> SourceRow:
    records = [r for r in answer.records if r.rtype == answer.rtype]
    return SourceRow(kind=kind, source=answer.server,  # type: ignore[arg-type]
                     qname=answer.qname.rstrip(".").lower() + ".",
                     status="ok" if answer.status == "ok" and records else answer.status,
                     addresses=tuple(r.value for r in records),
                     ttl=min((r.ttl for r in records), default=None))
