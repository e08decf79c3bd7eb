"""`netdx dns` output: the finished `DnsReport` as text (dig-like) or JSON (netdx.dns/1).

Renderers only read the report; they compute nothing but layout.
"""

from __future__ import annotations

from typing import Any

from netdx.model.dns import DnsComparison, DnsRecord, DnsServerAnswer
from netdx.model.dns_trace import TraceLevel, TraceResult
from netdx.model.finding import Finding
from netdx.model.record import record
from netdx.model.vantage import THIS_HOST, Vantage, vantage_data

DNS_SCHEMA = "netdx.dns/1"


@record
class DnsReport:
    """Everything one `netdx dns` run found."""

    queries: tuple[DnsServerAnswer, ...] = ()
    trace: TraceResult | None = None
    comparison: DnsComparison | None = None
    findings: tuple[Finding, ...] = ()
    elapsed_ms: float = 0.0
    observed_on: Vantage = THIS_HOST  # where the queries were sent from (this host, a netns)

    @property
    def ok(self) -> bool:
        """No failing finding, and every direct query got a NOERROR answer."""
        if any(f.severity == "fail" for f in self.findings):
            return False
        return all(q.message is not None and q.message.rcode == "NOERROR"
                   for q in self.queries)


# --- JSON -----------------------------------------------------------------------------------


def to_json(report: DnsReport) -> str:
    """The report as one JSON document (schema netdx.dns/1). The top-level question/rcode/
    flags/server/elapsed_ms/sections are those of the first query; `queries` lists all."""
    import json  # the text output needs neither json nor check's JSON renderer

    from netdx.render.json import finding_document

    doc: dict[str, Any] = {"schema": DNS_SCHEMA, "observed_on": vantage_data(report.observed_on)}
    queries = [_query_doc(q) for q in report.queries]
    if queries:
        doc.update(queries[0])
    elif report.trace is not None:
        doc.update(_final_doc(report.trace))
    doc["queries"] = queries
    if report.trace is not None:
        doc["trace"] = [_level_doc(level) for level in report.trace.levels]
        doc["trace_result"] = _trace_result_doc(report.trace)
        doc["lame"] = [
            {"zone": s.zone, "server": s.ns_name, "address": s.address, "reason": s.reason,
             "detail": s.detail} for s in report.trace.lame
        ]
    if report.comparison is not None:
        doc["compare"] = _compare_doc(report.comparison, report.trace)
    doc["findings"] = [finding_document(f) for f in report.findings]
    doc["total_ms"] = report.elapsed_ms
    return json.dumps(doc, indent=2, ensure_ascii=False)


def _records(records: tuple[DnsRecord, ...]) -> list[dict[str, Any]]:
    return [{"name": r.name, "type": r.rtype, "ttl": r.ttl, "value": r.value} for r in records]


def _query_doc(q: DnsServerAnswer) -> dict[str, Any]:
    r = q.message
    x = q.exchange
    return {
        "question": {"name": q.qname, "type": q.rtype, "class": "IN"},
        "server": q.server,
        "port": x.port if x else 53,
        "transport": x.transport if x else "udp",
        # What became of the query: ok when a response came (its rcode says the rest).
        "status": "ok" if r is not None else q.status,
        "error": None if r is not None else q.error,
        "rcode": r.rcode if r else None,
        "flags": list(r.flags) if r else [],
        "elapsed_ms": q.elapsed_ms,
        "size": r.size if r else None,
        "edns_payload": r.edns_payload if r else None,
        "answer": _records(r.answer) if r else [],
        "authority": _records(r.authority) if r else [],
        "additional": _records(r.additional) if r else [],
        "notes": list(x.notes) if x else [],
    }


def _final_doc(trace: TraceResult) -> dict[str, Any]:
    """The top-level fields of a trace-only run: the final authoritative response."""
    r = trace.response
    q = trace.question
    rcode = r.rcode if r else {"answer": "NOERROR", "nodata": "NOERROR",
                               "nxdomain": "NXDOMAIN"}.get(trace.status, "SERVFAIL")
    return {
        "question": {"name": q.name, "type": q.rtype, "class": q.rclass},
        "server": trace.authority[1] if len(trace.authority) > 1 else None,
        "server_name": trace.authority[0] if trace.authority else None,
        "rcode": rcode,
        "flags": list(r.flags) if r else [],
        "elapsed_ms": trace.response_ms,
        "answer": _records(trace.answer),
        "authority": _records(r.authority) if r else [],
        "additional": _records(r.additional) if r else [],
    }


def _level_doc(level: TraceLevel) -> dict[str, Any]:
    return {
        "zone": level.zone,
        "qname": level.qname,
        "outcome": level.outcome,
        "referral": level.referral,
        "servers": [
            {"name": a.ns_name, "address": a.address, "outcome": a.outcome, "rtt_ms": a.rtt_ms,
             "rcode": a.rcode, "flags": list(a.flags), "detail": a.detail, "lame": a.lame}
            for a in level.attempts
        ],
    }


def _trace_result_doc(trace: TraceResult) -> dict[str, Any]:
    return {"status": trace.status, "answer": _records(trace.answer),
            "authority": list(trace.authority), "broken_at": trace.broken_at,
            "detail": trace.detail}


@record
class _Row:
    """One line of the comparison table (layout only)."""

    kind: str
    source: str
    qname: str
    status: str
    addresses: tuple[str, ...] = ()
    ttl: int | None = None
    elapsed_ms: float = 0.0
    detail: str = ""


def _rows(c: DnsComparison, trace: TraceResult | None) -> list[_Row]:
    """The table in the order the system consults its sources."""
    nss = c.system
    rows = [
        _Row(kind="hosts", source="/etc/hosts", qname=c.name,
             status="ok" if nss.hosts_addresses else "none", addresses=nss.hosts_addresses),
        _Row(kind="system", source="getaddrinfo", qname=c.name, status=nss.status,
             addresses=nss.addresses, elapsed_ms=nss.elapsed_ms, detail=nss.gai_error or ""),
    ]
    for s in c.servers:
        typed = [r for r in s.records if r.rtype == s.rtype]
        rows.append(_Row(kind="server", source=s.server, qname=s.qname, status=s.status,
                         addresses=tuple(r.value for r in typed),
                         ttl=min((r.ttl for r in typed), default=None),
                         elapsed_ms=s.elapsed_ms, detail=s.error or ""))
    if trace is not None:
        typed = [r for r in trace.answer if r.rtype == trace.question.rtype]
        rows.append(_Row(kind="authoritative", source=" ".join(trace.authority) or "authoritative",
                         qname=trace.question.name, status="ok" if typed else trace.status,
                         addresses=tuple(r.value for r in typed),
                         ttl=min((r.ttl for r in typed), default=None), detail=trace.detail))
    return rows


def _taken_at(c: DnsComparison) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(c.checked_at, UTC).isoformat()


def _compare_doc(comparison: DnsComparison, trace: TraceResult | None) -> dict[str, Any]:
    return {
        "name": comparison.name,
        "type": comparison.rtype,
        "taken_at": _taken_at(comparison),
        "sources": [
            {"kind": r.kind, "source": r.source, "qname": r.qname, "status": r.status,
             "addresses": list(r.addresses), "ttl": r.ttl, "elapsed_ms": r.elapsed_ms,
             "detail": r.detail} for r in _rows(comparison, trace)
        ],
    }


# --- text -----------------------------------------------------------------------------------


def to_text(report: DnsReport) -> str:
    """The report as dig-like text: each query's sections, the trace, the table, findings."""
    parts = [_query_text(q) for q in report.queries]
    if len({q.server for q in report.queries}) > 1:
        parts.append(_servers_text(report.queries))
    if report.trace is not None:
        parts.append(_trace_text(report.trace))
    if report.comparison is not None:
        parts.append(_compare_text(report.comparison, report.trace))
    if report.findings:
        parts.append("\n".join(_finding_text(f) for f in report.findings))
    return "\n\n".join(parts) + "\n"


def short_lines(report: DnsReport) -> tuple[list[str], list[str]]:
    """dig +short: (each answer's value, one per line; a line per query that got no answer,
    for stderr). The trace's final answer when there were no direct queries."""
    answers: list[str] = []
    problems: list[str] = []
    for q in report.queries:
        answers += [r.value for r in q.records]
        if q.message is None:
            problems.append(f"{q.qname} {q.rtype} @{q.server}: {q.status}: {q.error}")
        elif q.message.rcode != "NOERROR":
            problems.append(f"{q.qname} {q.rtype} @{q.server}: {q.message.rcode}")
    if not report.queries and report.trace is not None:
        answers += [r.value for r in report.trace.answer]
        if report.trace.status != "answer":
            problems.append(f"trace {report.trace.question.name}: {report.trace.status}")
    return answers, problems


def _servers_text(queries: tuple[DnsServerAnswer, ...]) -> str:
    """Several @SERVERs side by side: one row per server and type."""
    lines = [f"{'SERVER':<28} {'TYPE':<6} {'STATUS':<9} {'TIME':>9}  ANSWER"]
    for q in queries:
        status = q.message.rcode if q.message is not None else q.status.upper()
        values = ", ".join(r.value for r in q.records if r.rtype == q.rtype)
        lines.append(f"{q.server[:28]:<28} {q.rtype:<6} {status:<9} "
                     f"{q.elapsed_ms:>6.1f} ms  {values or '-'}")
    return "\n".join(lines)


def _record_line(r: DnsRecord) -> str:
    return f"{r.name:<31} {r.ttl:<7} IN  {r.rtype:<6} {r.value}"


def _query_text(q: DnsServerAnswer) -> str:
    x = q.exchange
    port, transport = (x.port, x.transport) if x else (53, "udp")
    lines = [f";; {q.qname} {q.rtype} @{q.server}#{port} ({transport})"]
    lines += [f";; note: {n}" for n in (x.notes if x else ())]
    r = q.message
    if r is None:
        lines.append(f";; {q.status.upper()}: {q.error} after {q.elapsed_ms:g} ms")
        return "\n".join(lines)
    lines.append(f";; status: {r.rcode}, id: {r.id}, flags: {' '.join(r.flags)}; "
                 f"ANSWER: {len(r.answer)}, AUTHORITY: {len(r.authority)}, "
                 f"ADDITIONAL: {len(r.additional)}")
    for title, records in (("ANSWER", r.answer), ("AUTHORITY", r.authority),
                           ("ADDITIONAL", r.additional)):
        if records:
            lines.append(f";; {title} SECTION:")
            lines += [_record_line(rec) for rec in records]
    edns = f", EDNS udp {r.edns_payload}" if r.edns_payload is not None else ""
    lines.append(f";; Query time: {q.elapsed_ms:g} ms, {r.size} bytes{edns}")
    return "\n".join(lines)


def _trace_text(trace: TraceResult) -> str:
    lines = [f";; trace {trace.question.name} {trace.question.rtype}"]
    for level in trace.levels:
        step = f"→ {level.referral}" if level.referral else ""
        lines.append(f"{level.zone:<20} {level.qname}  [{level.outcome}] {step}".rstrip())
        for a in level.attempts:
            rtt = f"{a.rtt_ms:g} ms" if a.rtt_ms is not None else "-"
            lame = "  LAME" if a.lame else ""
            addr = a.address or "?"
            lines.append(f"    {a.ns_name:<24} {addr:<16} {a.outcome:<17} {rtt:>10}{lame}")
    lines.append(f";; result: {trace.status}" + (f" ({trace.detail})" if trace.detail else ""))
    lines += [_record_line(r) for r in trace.answer]
    if trace.authority:
        lines.append(f";; from {' '.join(trace.authority)}")
    return "\n".join(lines)


def _compare_text(comparison: DnsComparison, trace: TraceResult | None) -> str:
    lines = [f";; compare {comparison.name} {comparison.rtype}",
             ";; TTL: what is left in a resolver's cache; the full TTL for the authoritative row",
             f"{'SOURCE':<34} {'NAME':<28} {'STATUS':<9} {'TTL':>7}  ADDRESSES"]
    for r in _rows(comparison, trace):
        ttl = "-" if r.ttl is None else str(r.ttl)
        lines.append(f"{r.source[:34]:<34} {r.qname[:28]:<28} {r.status:<9} {ttl:>7}  "
                     f"{', '.join(r.addresses) or '-'}")
    return "\n".join(lines)


def _finding_text(f: Finding) -> str:
    mark = "FAIL" if f.severity == "fail" else "WARN"
    lines = [f"{mark} {f.cause}: {f.summary}"]
    lines += [f"  evidence: {e}" for e in f.evidence]
    lines += [f"  fix: {x}" for x in f.fix]
    return "\n".join(lines)
