"""DNS rules that compare sources: /etc/hosts, getaddrinfo, each resolver, the authoritative
answer. Pure: evidence in, findings out.

Shared by `netdx dns --compare` (`compare_findings`) and `netdx check`'s stale-cache rule
(`stale_cache`): one judgement of "a resolver still serves what the zone no longer says".
"""

from __future__ import annotations

from netdx.diagnose.facts import failure
from netdx.model.dns import DnsComparison, DnsServerAnswer, NssResult
from netdx.model.finding import Finding


def fold(name: str) -> str:
    """A name as compared and shown: lower case, absolute."""
    return name.rstrip(".").lower() + "."


def typed_records(answer: DnsServerAnswer) -> tuple[tuple[str, ...], int | None]:
    """The values of the records of the asked type, and their smallest TTL."""
    records = [r for r in answer.records if r.rtype == answer.rtype]
    return tuple(r.value for r in records), min((r.ttl for r in records), default=None)


def compare_findings(c: DnsComparison) -> tuple[Finding, ...]:
    """Findings from the side-by-side table: a hosts pin, stale caches, a search-domain
    surprise."""
    found: list[Finding] = []
    auth = c.authoritative
    if auth is not None and _usable(auth):
        pin = _hosts_override(c.name, c.system, auth)
        found += [pin] if pin is not None else []
        found += [f for s in c.servers if _same_name(s, auth)
                  and (f := _stale(s, auth, c.checked_at)) is not None]
    surprise = _search_surprise(c)
    if surprise is not None:
        found.append(surprise)
    return tuple(found)


def stale_cache(servers: tuple[DnsServerAnswer, ...], authoritative: DnsServerAnswer, *,
                checked_at: float) -> Finding | None:
    """dns.stale_cache: the first server whose answer for the authoritative name and type
    is not what the zone says now."""
    if not _usable(authoritative):
        return None
    for server in servers:
        if server.rtype == authoritative.rtype and _same_name(server, authoritative):
            finding = _stale(server, authoritative, checked_at)
            if finding is not None:
                return finding
    return None


def _usable(auth: DnsServerAnswer) -> bool:
    return auth.status == "ok" and bool(typed_records(auth)[0])


def _same_name(a: DnsServerAnswer, b: DnsServerAnswer) -> bool:
    return fold(a.qname) == fold(b.qname)


def _hosts_override(name: str, system: NssResult, auth: DnsServerAnswer) -> Finding | None:
    pinned = system.hosts_addresses
    auth_addresses, auth_ttl = typed_records(auth)
    if not pinned or set(pinned) <= set(auth_addresses):
        return None
    used = bool(set(system.addresses) & set(pinned))
    return Finding(
        cause="dns.hosts_override",
        severity="fail" if used else "warn",
        step="dns",
        summary=(f"/etc/hosts pins {name} to {', '.join(pinned)}; the "
                 f"authoritative answer is {', '.join(auth_addresses)}"
                 + ("; applications get the pinned address" if used else "")),
        evidence=(f"/etc/hosts: {name} → {', '.join(pinned)}",
                  f"{auth.server}: {', '.join(auth_addresses)} (TTL {auth_ttl})",
                  f"getaddrinfo → {', '.join(system.addresses)}"),
        fix=(f"find the line: grep -n '{name.rstrip('.')}' /etc/hosts, then fix or "
             "remove it",),
    )


def _stale(row: DnsServerAnswer, auth: DnsServerAnswer, checked_at: float) -> Finding | None:
    addresses, ttl = typed_records(row)
    auth_addresses, auth_ttl = typed_records(auth)
    if row.status != "ok" or not addresses or set(addresses) <= set(auth_addresses):
        return None
    left = ttl or 0
    from datetime import UTC, datetime, timedelta  # a stale answer only: 1.5 ms to import

    taken_at = datetime.fromtimestamp(checked_at, UTC)
    expires = (taken_at + timedelta(seconds=left)).strftime("%H:%M:%S UTC")
    age = f", cached about {auth_ttl - left} s ago" if auth_ttl and auth_ttl >= left else ""
    qname = fold(row.qname)
    return failure(
        cause="dns.stale_cache",
        summary=(f"resolver {row.server} still answers {', '.join(addresses)} for "
                 f"{qname}; the authoritative servers say {', '.join(auth_addresses)}. "
                 f"Its cached record expires in {left} s (at {expires})"),
        evidence=(f"{row.server}: {', '.join(addresses)} (TTL left {left} s{age})",
                  f"{auth.server}: {', '.join(auth_addresses)} (TTL {auth_ttl})"),
        fix=(f"flush the name from the resolver: unbound-control flush {qname} "
             "(or resolvectl flush-caches / rndc flushname)",
             f"or wait {left} s for the cached record to expire"),
    )


def _search_surprise(c: DnsComparison) -> Finding | None:
    system = c.system
    if c.name.endswith(".") or system.status != "ok":
        return None
    hit = next((s for s in c.servers if s.status == "ok"
                and set(typed_records(s)[0]) & set(system.addresses)), None)
    if hit is None or fold(hit.qname) == fold(c.name):
        return None
    addresses = ", ".join(typed_records(hit)[0])
    return Finding(
        cause="dns.search_domain",
        severity="warn",
        step="dns",
        summary=(f"{c.name} resolved only through the search list, as {fold(hit.qname)} "
                 f"({addresses}): is that the host you meant?"),
        evidence=(f"getaddrinfo({c.name}) → {', '.join(system.addresses)}",
                  f"{hit.server}: {fold(hit.qname)} → {addresses}"),
        fix=(f"use the full name with a trailing dot to be sure: {c.name}.",
             "check the search line of /etc/resolv.conf"),
    )
