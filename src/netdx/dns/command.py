"""Run one `netdx dns` request: direct queries, the trace, the comparison, under one budget."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from netdx.budget import Deadline, elapsed_ms
from netdx.dns.compare import Comparison, gather, parse_resolv_conf
from netdx.dns.findings import query_findings, trace_findings
from netdx.dns.message import QueryResult, Question
from netdx.dns.query import QueryOptions, query
from netdx.dns.render import DnsReport
from netdx.dns.trace import TraceResult
from netdx.dns.tracer import load_root_hints, run_trace
from netdx.errors import CannotRun, UsageError
from netdx.model.report import Finding


@dataclass(frozen=True, slots=True, kw_only=True)
class DnsRequest:
    """What the user asked for. `server` None means: the first nameserver of resolv.conf."""

    name: str
    types: tuple[str, ...] = ("A",)
    server: str | None = None
    port: int = 53
    trace: bool = False
    compare: bool = False
    root_hints: Path | None = None
    tcp: bool = False
    recurse: bool = True
    timeout: float = 5.0
    server_timeout: float = 1.0
    resolv_conf: Path = Path("/etc/resolv.conf")
    hosts: Path = Path("/etc/hosts")


def run_sync(request: DnsRequest) -> DnsReport:
    """`run` from synchronous code (the CLI)."""
    return asyncio.run(run(request))


async def run(request: DnsRequest) -> DnsReport:
    """Everything the request asks for; network outcomes are in the report, never raised."""
    start = time.monotonic()
    deadline = Deadline.after(request.timeout)
    name = request.name if request.name.endswith(".") else request.name + "."
    direct = request.server is not None or not (request.trace or request.compare)
    queries: tuple[QueryResult, ...] = ()
    trace: TraceResult | None = None
    if direct:
        queries = await _direct(request, name, deadline)
    if request.trace or request.compare:
        trace = await _trace(request, name, deadline)
    comparison: Comparison | None = None
    if request.compare:
        comparison = await gather(request.name, request.types[0], trace, deadline=deadline,
                                  hosts_path=request.hosts, resolv_path=request.resolv_conf)
    findings = query_findings(queries)
    if trace is not None:
        findings += trace_findings(trace)
    if comparison is not None:
        findings = _without_expected_nxdomain(findings, comparison) + comparison.findings
    return DnsReport(queries=queries, trace=trace, comparison=comparison, findings=findings,
                     elapsed_ms=elapsed_ms(start))


def _without_expected_nxdomain(findings: tuple[Finding, ...],
                               comparison: Comparison) -> tuple[Finding, ...]:
    """The name as typed does not exist, but the system found it through the search list:
    the search-domain finding says it better than an NXDOMAIN failure would."""
    if not any(f.cause == "dns.search_domain" for f in comparison.findings):
        return findings
    return tuple(f for f in findings if f.cause != "dns.nxdomain")


async def _direct(request: DnsRequest, name: str, deadline: Deadline) -> tuple[QueryResult, ...]:
    server = request.server or _default_server(request.resolv_conf)
    options = QueryOptions(recursion_desired=request.recurse, tcp_only=request.tcp,
                           port=request.port)
    return tuple(await asyncio.gather(*(
        query(server, Question(name=name, rtype=t), deadline=deadline, options=options)
        for t in request.types
    )))


async def _trace(request: DnsRequest, name: str, deadline: Deadline) -> TraceResult:
    roots, source = load_root_hints(request.root_hints)
    if not roots:
        where = request.root_hints or "the system (/usr/share/dns/root.hints)"
        raise UsageError(f"no root servers found in {where}; give --root-hints FILE")
    del source
    # The trace gets most of the budget; the comparison needs a little after it.
    share = deadline.share(0.8) if request.compare else deadline
    return await run_trace(Question(name=name, rtype=request.types[0]), roots, deadline=share,
                           server_timeout=request.server_timeout)


def _default_server(resolv_conf: Path) -> str:
    try:
        conf = parse_resolv_conf(resolv_conf.read_text())
    except OSError as exc:
        raise CannotRun(f"cannot read {resolv_conf}: {exc.strerror}") from exc
    if not conf.nameservers:
        raise UsageError(f"no nameserver in {resolv_conf}; give @SERVER")
    return conf.nameservers[0]
