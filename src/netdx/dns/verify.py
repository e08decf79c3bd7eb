"""The authoritative answer for a name, so a cache that outlived a record change can be
told apart (`dns.stale_cache`), and a resolver's SERVFAIL traced to the servers that do not
serve their zone (`dns.lame_delegation`).

How the servers are found (one rule, for `netdx check` and `netdx dns --compare`):
- `--root-hints FILE`: the walk from those roots, as asked.
- Otherwise two things run at once: the system's root servers are asked for `. NS`
  (recursion off) for at most `ROOT_PROBE_S` (and never more than `ROOT_PROBE_SHARE` of the
  budget), and the configured resolver is asked for the NS sets of the name's zone and its
  ancestors (`netdx.dns.internal`). The roots count as reachable when one of them answered
  in that time; then the walk starts at the root, and its answer stands when it has one (a
  public name). When the roots are unreachable, or the public walk finds no answer (an
  internal name the public root does not know), the walk starts at the zone the resolver
  named, with recursion off. Roots that cannot be reached are unknown, never lame.

How `netdx check` uses it: when `dns.authority.authoritative_question(evidence)` names a
question, the check asks `authoritative_check` and keeps the answer and the servers asked
(`DnsEvidence.authoritative`, `.delegation`); the pure rules `diagnose.dns.stale_cache` and
`diagnose.dns.lame_delegation` judge them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Literal

from netdx.budget import Deadline
from netdx.dns.classify import fold
from netdx.dns.internal import find_servers
from netdx.dns.query import QueryOptions, query
from netdx.dns.tracer import load_root_hints, run_trace
from netdx.model.dns import (
    AuthoritativeCheck,
    DelegatedServer,
    DnsQuestion,
    DnsRecord,
    DnsServerAnswer,
)
from netdx.model.dns_trace import NameServer, TraceResult

AUTHORITATIVE = "authoritative"
# A root server reachable from here answers `. NS` in well under 300 ms from anywhere on
# the Internet; from a host without a route out, ENETUNREACH comes back at once.
ROOT_PROBE_S = 0.3
ROOT_PROBE_SHARE = 0.2
# When the roots are reachable, the public walk may use this share of the budget: the
# walk through the resolver needs the rest when the public root does not know the name.
ROOT_WALK_SHARE = 0.5
_USEFUL = frozenset({"answer", "nxdomain", "nodata", "referral", "cname"})

Via = Literal["root", "resolver"]


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


def summarize(trace: TraceResult, via: Via) -> AuthoritativeCheck:
    """The walk as evidence: its answer, and every server asked at the zone where it ended.
    The root level of a walk from the root hints is never a delegation: no server of it is
    reported (unreachable roots are unknown, not lame)."""
    level = trace.levels[-1] if trace.levels else None
    if level is None or (via == "root" and level.zone == "."):
        return AuthoritativeCheck(via=via, answer=from_trace(trace), detail=trace.detail)
    servers = tuple(
        DelegatedServer(zone=level.zone, ns_name=a.ns_name, address=a.address,
                        outcome=a.outcome, lame=a.lame, detail=a.detail, rtt_ms=a.rtt_ms)
        for a in level.attempts)
    broken = any(s.lame for s in servers) and not any(s.outcome in _USEFUL for s in servers)
    return AuthoritativeCheck(via=via, answer=from_trace(trace), servers=servers,
                              zone=level.zone, broken=broken, detail=trace.detail)


async def roots_reachable(roots: tuple[NameServer, ...], *, deadline: Deadline) -> bool:
    """True when one root server answers `. NS` (recursion off) within `ROOT_PROBE_S`, at
    most `ROOT_PROBE_SHARE` of the budget: the measured rule for "walk from the root"."""
    limit = deadline.within(min(ROOT_PROBE_S, deadline.remaining() * ROOT_PROBE_SHARE))
    options = QueryOptions(recursion_desired=False, first_retry_s=None, edns=False)
    addresses = [a for r in roots for a in r.addresses if ":" not in a]
    tasks = [asyncio.create_task(query(a, DnsQuestion(name=".", rtype="NS"), deadline=limit,
                                       options=options)) for a in addresses]
    try:
        for done in asyncio.as_completed(tasks, timeout=limit.remaining() or None):
            try:
                if (await done).message is not None:
                    return True
            except TimeoutError:
                return False
        return False
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def find_authoritative(
    name: str, rtype: str, *, deadline: Deadline, resolvers: tuple[tuple[str, int], ...],
    root_hints: Path | None = None, server_timeout: float = 0.8,
) -> tuple[TraceResult, Via] | None:
    """The walk that gives the authoritative answer for `name` (see the module's rule) and
    where it started; None when neither the roots nor a resolver could give a server."""
    question = DnsQuestion(name=fold(name), rtype=rtype)
    if root_hints is not None:
        roots, _ = load_root_hints(root_hints)
        return await run_trace(question, roots, deadline=deadline, server_timeout=server_timeout,
                               wait_stragglers=False), "root"
    roots, _ = load_root_hints(None)
    reachable, zone = await asyncio.gather(
        roots_reachable(roots, deadline=deadline),
        find_servers(question.name, resolvers, deadline=deadline),
    )
    public: TraceResult | None = None
    if reachable:
        public = await run_trace(question, roots, deadline=deadline.share(ROOT_WALK_SHARE),
                                 server_timeout=server_timeout, wait_stragglers=False)
        if public.status in ("answer", "nodata") or zone is None:
            return public, "root"
    if zone is None:
        return None
    trace = await run_trace(question, zone.servers, deadline=deadline, start_zone=zone.zone,
                            server_timeout=server_timeout, wait_stragglers=False)
    return trace, "resolver"


async def authoritative_check(
    name: str, rtype: str, *, deadline: Deadline, resolvers: tuple[tuple[str, int], ...],
    root_hints: Path | None = None, server_timeout: float = 0.8,
) -> AuthoritativeCheck | None:
    """What the authoritative servers of `name` say now, and every server asked at the
    zone where the walk ended; None when no server could be found."""
    found = await find_authoritative(name, rtype, deadline=deadline, resolvers=resolvers,
                                     root_hints=root_hints, server_timeout=server_timeout)
    return summarize(*found) if found is not None else None


async def authoritative_answer(name: str, rtype: str, *, deadline: Deadline,
                               root_hints: Path | None = None,
                               server_timeout: float = 0.8,
                               resolvers: tuple[tuple[str, int], ...] | None = None,
                               ) -> DnsServerAnswer | None:
    """Only the answer of `authoritative_check` (resolv.conf's servers by default)."""
    checked = await authoritative_check(
        name, rtype, deadline=deadline, root_hints=root_hints, server_timeout=server_timeout,
        resolvers=resolvers if resolvers is not None else configured_resolvers())
    return checked.answer if checked is not None else None


def configured_resolvers(path: str = "/etc/resolv.conf") -> tuple[tuple[str, int], ...]:
    """resolv.conf's nameservers (read glibc's way) as (address, port)."""
    from netdx.probes.dns import read_resolv_conf

    return tuple((s, 53) for s in read_resolv_conf(path).nameservers)
