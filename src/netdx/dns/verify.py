"""The authoritative answer for a name, so a cache that outlived a record change can be
told apart (`dns.stale_cache`).

How `netdx check` uses it: when `plan.wants_authoritative(evidence)`, the check asks
`authoritative_answer` and keeps it as evidence (`DnsEvidence.authoritative`); the pure
rule `diagnose.dns.stale_cache` compares (`diagnose.dns_compare.stale_cache`, which
`netdx dns --compare` uses too). `authoritative_answer` is the only I/O here (a trace from
the root hints); `from_trace` is pure.
"""

from __future__ import annotations

from pathlib import Path

from netdx.budget import Deadline
from netdx.dns.tracer import load_root_hints, run_trace
from netdx.model.dns_trace import TraceResult
from netdx.model.evidence import DnsQuestion, DnsRecord, DnsServerAnswer

AUTHORITATIVE = "authoritative"


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
    trace = await run_trace(DnsQuestion(name=qname, rtype=rtype), roots, deadline=deadline,
                            server_timeout=server_timeout, wait_stragglers=False)
    return from_trace(trace)
