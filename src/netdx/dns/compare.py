"""What each source says for a name, side by side, and what the differences mean.

Sources, in the order the system consults them: /etc/hosts, the system resolver
(getaddrinfo through NSS), each nameserver of resolv.conf, and the authoritative answer from
the trace. A resolver's TTL is what is *left* in its cache; the authoritative TTL is the full
one, so their difference is how long ago the resolver cached the answer.

`judge` is pure (rows in, findings out); `gather` does the I/O, all of it concurrently and
under one deadline.
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from netdx.budget import Deadline, elapsed_ms
from netdx.dns.message import QueryResult, Question
from netdx.dns.query import query
from netdx.dns.trace import TraceResult
from netdx.model.evidence import Family
from netdx.model.report import Finding

SourceKind = Literal["hosts", "system", "server", "authoritative"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolvConf:
    """The parts of resolv.conf that matter here."""

    nameservers: tuple[str, ...] = ()
    search: tuple[str, ...] = ()
    ndots: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceRow:
    """One source's answer for the name."""

    kind: SourceKind
    source: str  # "/etc/hosts", "getaddrinfo", "10.53.0.53", "ns1.example.lab (10.53.0.21)"
    qname: str  # the name this source answered for (a search expansion, maybe)
    status: str  # ok, nxdomain, nodata, timeout, servfail, none, error, ...
    addresses: tuple[str, ...] = ()
    ttl: int | None = None  # for a resolver: what is left in its cache
    elapsed_ms: float = 0.0
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Comparison:
    """The table, the moment it was taken (for expiry times), and the findings."""

    name: str
    rtype: str
    rows: tuple[SourceRow, ...]
    taken_at: datetime
    findings: tuple[Finding, ...] = ()


def parse_resolv_conf(text: str) -> ResolvConf:
    """nameserver, search/domain (the last one wins, as in glibc) and options ndots."""
    servers: list[str] = []
    search: tuple[str, ...] = ()
    ndots = 1
    for raw in text.splitlines():
        fields = raw.split("#", 1)[0].split(";", 1)[0].split()
        if len(fields) < 2:
            continue
        key, values = fields[0], fields[1:]
        if key == "nameserver":
            servers.append(values[0])
        elif key in ("search", "domain"):
            search = tuple(values)
        elif key == "options":
            for opt in values:
                if opt.startswith("ndots:") and opt[6:].isdigit():
                    ndots = min(int(opt[6:]), 15)
    return ResolvConf(nameservers=tuple(servers), search=search, ndots=ndots)


def candidates(name: str, conf: ResolvConf) -> tuple[str, ...]:
    """The names the stub resolver tries for `name`, in its order (glibc res_search)."""
    if name.endswith("."):
        return (name,)
    expanded = tuple(f"{name}.{domain.rstrip('.')}." for domain in conf.search)
    if name.count(".") >= conf.ndots:
        return (f"{name}.", *expanded)
    return (*expanded, f"{name}.")


# --- the judgement (pure) -------------------------------------------------------------------


def judge(rows: tuple[SourceRow, ...], *, name: str, taken_at: datetime) -> tuple[Finding, ...]:
    """Findings from the table: a hosts pin, stale caches, a search-domain surprise."""
    auth = next((r for r in rows if r.kind == "authoritative"), None)
    found: list[Finding] = []
    system = next((r for r in rows if r.kind == "system"), None)
    if auth is not None and auth.status == "ok":
        found += _hosts_override(rows, auth, system)
        same = [r for r in rows if r.kind == "server" and r.qname.lower() == auth.qname.lower()]
        found += [f for r in same if (f := _stale(r, auth, taken_at)) is not None]
    surprise = _search_surprise(rows, name, system)
    if surprise is not None:
        found.append(surprise)
    return tuple(found)


def _hosts_override(rows: tuple[SourceRow, ...], auth: SourceRow,
                    system: SourceRow | None) -> list[Finding]:
    hosts = next((r for r in rows if r.kind == "hosts" and r.addresses), None)
    if hosts is None or set(hosts.addresses) <= set(auth.addresses):
        return []
    used = system is not None and bool(set(system.addresses) & set(hosts.addresses))
    return [Finding(
        cause="dns.hosts_override",
        severity="fail" if used else "warn",
        step="dns",
        summary=(f"/etc/hosts pins {hosts.qname} to {', '.join(hosts.addresses)}; the "
                 f"authoritative answer is {', '.join(auth.addresses)}"
                 + ("; applications get the pinned address" if used else "")),
        evidence=(f"/etc/hosts: {hosts.qname} → {', '.join(hosts.addresses)}",
                  f"{auth.source}: {', '.join(auth.addresses)} (TTL {auth.ttl})",
                  *([f"getaddrinfo → {', '.join(system.addresses)}"] if system else [])),
        fix=(f"find the line: grep -n '{hosts.qname.rstrip('.')}' /etc/hosts, then fix or "
             "remove it",),
    )]


def _stale(row: SourceRow, auth: SourceRow, taken_at: datetime) -> Finding | None:
    if row.status != "ok" or not row.addresses or set(row.addresses) <= set(auth.addresses):
        return None
    left = row.ttl or 0
    expires = (taken_at + timedelta(seconds=left)).strftime("%H:%M:%S UTC")
    age = f", cached about {auth.ttl - left} s ago" if auth.ttl and auth.ttl >= left else ""
    return Finding(
        cause="dns.stale_cache",
        severity="fail",
        step="dns",
        summary=(f"resolver {row.source} still answers {', '.join(row.addresses)} for "
                 f"{row.qname}; the authoritative servers say {', '.join(auth.addresses)}. "
                 f"Its cached record expires in {left} s (at {expires})"),
        evidence=(f"{row.source}: {', '.join(row.addresses)} (TTL left {left} s{age})",
                  f"{auth.source}: {', '.join(auth.addresses)} (TTL {auth.ttl})"),
        fix=(f"flush the name from the resolver: unbound-control flush {row.qname} "
             "(or resolvectl flush-caches / rndc flushname)",
             f"or wait {left} s for the cached record to expire"),
    )


def _search_surprise(rows: tuple[SourceRow, ...], name: str,
                     system: SourceRow | None) -> Finding | None:
    if name.endswith(".") or system is None or system.status != "ok":
        return None
    servers = [r for r in rows if r.kind == "server" and r.status == "ok" and r.addresses]
    hit = next((r for r in servers if set(r.addresses) & set(system.addresses)), None)
    if hit is None or hit.qname.rstrip(".").lower() == name.rstrip(".").lower():
        return None
    return Finding(
        cause="dns.search_domain",
        severity="warn",
        step="dns",
        summary=(f"{name} resolved only through the search list, as {hit.qname} "
                 f"({', '.join(hit.addresses)}): is that the host you meant?"),
        evidence=(f"getaddrinfo({name}) → {', '.join(system.addresses)}",
                  f"{hit.source}: {hit.qname} → {', '.join(hit.addresses)}"),
        fix=(f"use the full name with a trailing dot to be sure: {name}.",
             "check the search line of /etc/resolv.conf"),
    )


# --- gathering (I/O) -------------------------------------------------------------------------


def server_row(result: QueryResult, qname: str) -> SourceRow:
    """A table row from one resolver's answer."""
    rtype = result.question.rtype
    response = result.response
    if result.status != "ok" or response is None:
        return SourceRow(kind="server", source=result.server, qname=qname, status=result.status,
                         elapsed_ms=result.elapsed_ms, detail=result.error or "")
    records = [r for r in response.answer if r.rtype == rtype]
    status = response.rcode.lower() if response.rcode != "NOERROR" else (
        "ok" if records else "nodata")
    return SourceRow(kind="server", source=result.server, qname=qname, status=status,
                     addresses=tuple(r.value for r in records),
                     ttl=min((r.ttl for r in records), default=None),
                     elapsed_ms=result.elapsed_ms)


def authoritative_row(trace: TraceResult) -> SourceRow:
    """A table row from the trace's final answer."""
    records = [r for r in trace.answer if r.rtype == trace.question.rtype]
    source = " ".join(trace.authority) or "authoritative"
    status = "ok" if records else trace.status
    return SourceRow(kind="authoritative", source=source, qname=trace.question.name,
                     status=status, addresses=tuple(r.value for r in records),
                     ttl=min((r.ttl for r in records), default=None), detail=trace.detail)


def hosts_row(name: str, rtype: str, hosts_text: str) -> SourceRow:
    """The /etc/hosts row (glibc's rules, via `netdx.probes.hostsfile`)."""
    from netdx.probes.hostsfile import lookup

    family: Family = 6 if rtype == "AAAA" else 4
    found = lookup(hosts_text, name.rstrip("."), family=family)
    return SourceRow(kind="hosts", source="/etc/hosts", qname=name,
                     status="ok" if found else "none", addresses=found)


async def system_row(name: str, rtype: str, deadline: Deadline) -> SourceRow:
    """What getaddrinfo gives (NSS: files, then dns), bounded by `deadline`."""
    start = time.monotonic()
    family = socket.AF_INET6 if rtype == "AAAA" else socket.AF_INET
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(name, None, family=family, type=socket.SOCK_STREAM),
            deadline.remaining())
    except TimeoutError:
        return SourceRow(kind="system", source="getaddrinfo", qname=name, status="timeout",
                         elapsed_ms=elapsed_ms(start))
    except socket.gaierror as exc:
        status = "nxdomain" if exc.errno == socket.EAI_NONAME else "error"
        return SourceRow(kind="system", source="getaddrinfo", qname=name, status=status,
                         elapsed_ms=elapsed_ms(start), detail=str(exc))
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
    return SourceRow(kind="system", source="getaddrinfo", qname=name, status="ok",
                     addresses=addresses, elapsed_ms=elapsed_ms(start))


async def gather(name: str, rtype: str, trace: TraceResult | None, *, deadline: Deadline,
                 hosts_path: Path = Path("/etc/hosts"),
                 resolv_path: Path = Path("/etc/resolv.conf")) -> Comparison:
    """Ask every source about `name` at once and judge the table."""
    conf = parse_resolv_conf(_read(resolv_path))
    names = candidates(name, conf)
    jobs = [(server, qname) for server in conf.nameservers for qname in names]
    system, server_answers = await asyncio.gather(
        system_row(name, rtype, deadline),
        asyncio.gather(*(query(server, Question(name=q, rtype=rtype), deadline=deadline)
                         for server, q in jobs)),
    )
    rows: list[SourceRow] = [hosts_row(name, rtype, _read(hosts_path)), system]
    rows += [server_row(result, qname)
             for (_server, qname), result in zip(jobs, server_answers, strict=True)]
    if trace is not None:
        rows.append(authoritative_row(trace))
    taken = datetime.now(UTC)
    table = tuple(rows)
    return Comparison(name=name, rtype=rtype, rows=table, taken_at=taken,
                      findings=judge(table, name=name, taken_at=taken))


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""
