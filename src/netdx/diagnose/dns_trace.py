"""`netdx dns` rules: what a finished trace and direct queries mean, as `Finding`s. Pure:
reads a `TraceResult`, `DnsServerAnswer`s and the comparison, no I/O.

Causes (the public vocabulary):
- dns.lame_delegation   a zone's delegated servers do not serve it (warn while another
                        server of the zone answers, fail when none does)
- dns.nxdomain          the authoritative servers say the name does not exist
- dns.dangling_cname    a CNAME points at a name that does not exist (or has no record)
- dns.cname_loop        a CNAME chain comes back to a name already seen
- dns.cname_chain_too_long  a chain longer than the walk allows
- dns.referral_loop     more zone cuts than the walk allows
- dns.trace_incomplete  the deadline ended the walk
For direct queries: dns.resolver_unreachable, dns.malformed_answer, dns.servfail,
dns.refused, dns.nxdomain.
"""

from __future__ import annotations

from shlex import quote

from netdx.diagnose.dns_compare import compare_findings
from netdx.diagnose.facts import failure
from netdx.model.dns import DnsComparison, DnsServerAnswer
from netdx.model.dns_trace import LameServer, TraceLevel, TraceResult
from netdx.model.finding import Finding


def dns_findings(queries: tuple[DnsServerAnswer, ...], trace: TraceResult | None,
                 comparison: DnsComparison | None) -> tuple[Finding, ...]:
    """Every finding of one `netdx dns` run: direct queries, then the trace, then the
    comparison. When the comparison finds the name only through the search list, that
    says it better than the NXDOMAIN of the name as typed, which is dropped."""
    findings = query_findings(queries)
    if trace is not None:
        findings += trace_findings(trace)
    if comparison is None:
        return findings
    compared = compare_findings(comparison)
    if any(f.cause == "dns.search_domain" for f in compared):
        findings = tuple(f for f in findings if f.cause != "dns.nxdomain")
    # A resolver of resolv.conf that never answered is the first thing to say, as for a
    # direct query (the table alone shows it only as a row).
    silent = tuple(s for s in comparison.servers if s.status in ("timeout", "error"))
    known = {f.cause for f in findings}
    unreachable = tuple(f for f in query_findings(silent) if f.cause not in known)
    return findings + unreachable + compared


def trace_findings(trace: TraceResult) -> tuple[Finding, ...]:
    """Every finding a trace supports: lame servers per zone, then how the walk ended.
    The root servers come from hints, not from a delegation: when none of them answers,
    what the root says is unknown from here (`dns.trace_incomplete`: the walk gave no
    answer), and no root server is called lame (one silent root beside answering ones
    still is)."""
    if trace.status in ("broken", "unfinished") and trace.broken_at == ".":
        return (_roots_unknown(trace),)
    found = [f for level in _zones(trace) if (f := _lame(trace, level)) is not None]
    end = _ending(trace)
    if end is not None:
        found.append(end)
    if trace.status == "broken" and not any(f.severity == "fail" for f in found):
        # Broken without a lame server: no name server address could even be found.
        found.append(_fail("dns.lame_delegation",
                           f"resolution of {trace.question.name} broke at {trace.broken_at}: "
                           f"{trace.detail}", (), ("check the NS records and their glue",)))
    return tuple(found)


def _roots_unknown(trace: TraceResult) -> Finding:
    attempts = trace.levels[0].attempts if trace.levels else ()
    why = sorted({a.detail or a.outcome for a in attempts})
    return _fail("dns.trace_incomplete",
                 f"no root server answered from here ({len(attempts)} asked): the walk for "
                 f"{trace.question.name} learned nothing, so its zone's servers are unknown",
                 tuple(f"{a.ns_name} ({a.address}): {a.outcome} ({a.detail})"
                       for a in attempts[:4]) + tuple(f"why: {w}" for w in why[:2]),
                 (f"find the zone's servers through the resolver: netdx dns --compare "
                  f"{quote(trace.question.name)}",
                  "or give the root of your own hierarchy: --root-hints FILE"))


def _zones(trace: TraceResult) -> list[TraceLevel]:
    """One level per zone (a CNAME restart may visit a zone twice: keep the last)."""
    by_zone: dict[str, TraceLevel] = {}
    for level in trace.levels:
        by_zone[level.zone] = level
    return list(by_zone.values())


def _lame(trace: TraceResult, level: TraceLevel) -> Finding | None:
    lame = [s for s in trace.lame if s.zone == level.zone]
    if not lame:
        return None
    broken = level.outcome == "broken"
    asked = len({(a.ns_name, a.address) for a in level.attempts})
    names = ", ".join(_who(s) for s in lame)
    summary = (
        f"no server of {level.zone} answers for it: {names}"
        if broken
        else f"{len(lame)} of {asked} servers of {level.zone} are lame ({names}); "
        "the others answered, but resolvers waste time on the lame ones"
    )
    fix = [
        f"ask each server directly: dig @{quote(lame[0].address or lame[0].ns_name)} "
        f"{quote(level.qname)} "
        f"+norecurse",
        f"fix the server or remove it from the NS records of {level.zone} (and from the "
        "parent zone's delegation)",
    ]
    return Finding(
        cause="dns.lame_delegation",
        severity="fail" if broken else "warn",
        step="dns",
        summary=summary,
        evidence=tuple(f"{level.zone}: {_who(s)}: {s.reason} ({s.detail})" for s in lame),
        fix=tuple(fix),
    )


def _who(server: LameServer) -> str:
    name = server.ns_name.rstrip(".") or "."
    return f"{name} ({server.address})" if server.address else name


def _chain_text(trace: TraceResult) -> str:
    return " → ".join(
        [trace.question.name, *(r.value for r in trace.answer if r.rtype == "CNAME")]
    )


def _ending(trace: TraceResult) -> Finding | None:
    q = trace.question
    cnames = [r for r in trace.answer if r.rtype == "CNAME"]
    who = f"authoritative server {' '.join(trace.authority)}" if trace.authority else ""
    if trace.status in ("nxdomain", "nodata") and cnames:
        end = cnames[-1].value
        what = "does not exist" if trace.status == "nxdomain" else f"has no {q.rtype} record"
        return _fail("dns.dangling_cname",
                     f"{q.name} is a CNAME chain to {end}, which {what}",
                     (f"chain: {_chain_text(trace)}", f"{who}: {trace.status.upper()}"),
                     (f"fix the CNAME target or create {end}",
                      f"confirm: dig {quote(end)} {quote(q.rtype)}"))
    if trace.status == "nxdomain":
        return _fail("dns.nxdomain", f"the authoritative servers say {q.name} does not exist",
                     (f"{who}: NXDOMAIN",),
                     (f"check the spelling; confirm: dig +trace {quote(q.name)}",
                      "create the record in the zone if it should exist"))
    if trace.status == "cname_loop":
        return _fail("dns.cname_loop", f"the CNAMEs of {q.name} form a loop",
                     (f"chain: {_chain_text(trace)}", trace.detail),
                     ("break the loop: one name in the chain must have the address record",))
    if trace.status == "cname_too_long":
        return _fail("dns.cname_chain_too_long", f"{q.name}: {trace.detail}",
                     (f"chain starts: {_chain_text(trace)[:200]}",),
                     ("point the name at its final target with one CNAME",))
    if trace.status == "too_deep":
        return _fail("dns.referral_loop", f"{q.name}: {trace.detail}",
                     (f"zones walked: {' → '.join(lv.zone for lv in trace.levels[:12])}",),
                     ("check the NS records of the zones above: each must delegate downwards",))
    if trace.status == "unfinished":
        return _fail("dns.trace_incomplete", f"the walk for {q.name} did not finish: "
                     f"{trace.detail}", (), ("raise --timeout, or ask the servers one by one",))
    return None


def _fail(cause: str, summary: str, evidence: tuple[str, ...], fix: tuple[str, ...]) -> Finding:
    return failure(cause=cause, step="dns", summary=summary, evidence=evidence, fix=fix)


def query_findings(results: tuple[DnsServerAnswer, ...]) -> tuple[Finding, ...]:
    """Findings for direct queries: a server that is silent, refuses, fails or sends garbage,
    and a name that does not exist."""
    found: list[Finding] = []
    for q in results:
        finding = _query_finding(q)
        if finding is not None and finding.cause not in {f.cause for f in found}:
            found.append(finding)
    nodata = _no_address(results)
    if nodata is not None and not found:
        found.append(nodata)
    return tuple(found)


def _no_address(results: tuple[DnsServerAnswer, ...]) -> Finding | None:
    """dns.no_address: every address query (A/AAAA) got NODATA: the name exists and has
    no address. One family missing (an IPv4-only name) is normal, not a finding."""
    asked = [q for q in results if q.rtype in ("A", "AAAA")]
    if not asked or any(q.status != "nodata" for q in asked):
        return None
    q = asked[0]
    types = " and ".join(dict.fromkeys(a.rtype for a in asked))
    return _fail("dns.no_address",
                 f"{q.qname} exists but has no {types} record (NODATA from {q.server})",
                 tuple(f"{a.qname} {a.rtype} @{a.server}: NOERROR, no {a.rtype} record"
                       for a in asked),
                 (f"confirm: dig @{q.server.split('#')[0]} {q.qname} {q.rtype}",
                  "add the missing A/AAAA record to the zone"))


def _query_finding(q: DnsServerAnswer) -> Finding | None:
    asked = f"{q.qname} {q.rtype} @{q.server}"
    confirm = (f"confirm: dig @{quote(q.server)} {quote(q.qname)} {quote(q.rtype)}",)
    notes = q.exchange.notes if q.exchange is not None else ()
    message = q.message
    if q.status in ("malformed", "bad_id"):
        return _fail("dns.malformed_answer", f"{q.server} sent an answer that is not valid DNS "
                     f"for the query ({q.status})", (f"{asked}: {q.error}", *notes), confirm)
    if message is None:
        return _fail("dns.resolver_unreachable", f"{q.server} did not answer ({q.status})",
                     (f"{asked}: {q.error} after {q.elapsed_ms:g} ms",), confirm)
    if message.rcode == "NXDOMAIN":
        return _fail("dns.nxdomain", f"{q.server} says {q.qname} does not exist",
                     (f"{asked}: NXDOMAIN",),
                     (*confirm, f"ask the authoritative servers: dig +trace {quote(q.qname)}"))
    if message.rcode in ("SERVFAIL", "REFUSED"):
        return _fail("dns.servfail" if message.rcode == "SERVFAIL" else "dns.refused",
                     f"{q.server} answered {message.rcode} for {q.qname}",
                     (f"{asked}: {message.rcode}",),
                     (*confirm,
                      f"find where resolution breaks: netdx dns --trace {quote(q.qname)}"))
    return None
