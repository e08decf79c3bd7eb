"""DNS rules: does the name resolve, to the address it should, through a working resolver?"""

from __future__ import annotations

from collections.abc import Iterable

from netdx.diagnose import dns_compare
from netdx.diagnose.facts import echo_text, first, ms, succeeded, tcp_text
from netdx.model import CheckEvidence, DnsEvidence, DnsServerAnswer, Finding, NssResult
from netdx.model.finding import Severity

# Server statuses that mean "this server gave no usable answer".
_SERVER_FAILED = frozenset({"timeout", "refused", "error", "servfail"})


def _named(ev: CheckEvidence) -> DnsEvidence | None:
    """The DNS evidence of a name target (None for IP literals or when DNS was not run)."""
    if ev.dns is None or ev.dns.source == "literal":
        return None
    return ev.dns


def nss_text(nss: NssResult) -> str:
    """One line quoting getaddrinfo's result."""
    gai = f" ({nss.gai_error})" if nss.gai_error else ""
    if nss.status == "ok":
        return f"getaddrinfo({nss.name}) → {', '.join(nss.addresses)} in {ms(nss.elapsed_ms)}"
    return f"getaddrinfo({nss.name}): {nss.status}{gai} after {ms(nss.elapsed_ms)}"


def server_text(ans: DnsServerAnswer) -> str:
    """One line quoting one server's answer for one query."""
    head = f"DNS server {ans.server}: {ans.rtype} {ans.qname} → "
    if ans.status == "ok" and ans.addresses:
        values = ", ".join(f"{r.value} (TTL {r.ttl})" for r in ans.records if r.rtype == ans.rtype)
        return f"{head}{values or ', '.join(ans.addresses)} in {ms(ans.elapsed_ms)}"
    if ans.status in ("ok", "nodata"):
        cnames = [f"{r.name} CNAME {r.value}" for r in ans.records if r.rtype == "CNAME"]
        extra = f" ({'; '.join(cnames)})" if cnames else ""
        return f"{head}NOERROR, no {ans.rtype} record{extra} in {ms(ans.elapsed_ms)}"
    if ans.status == "timeout":
        return f"{head}timed out after {ms(ans.elapsed_ms)}"
    err = f" ({ans.error})" if ans.error else ""
    return f"{head}{ans.status.upper()}{err} in {ms(ans.elapsed_ms)}"


def _qnames(dns: DnsEvidence) -> tuple[str, ...]:
    """The names actually asked, in order, without repeats."""
    return tuple(dict.fromkeys(s.qname for s in dns.servers))


def _failed_servers(dns: DnsEvidence) -> tuple[str, ...]:
    """Servers that gave no usable answer to any query."""
    by_server: dict[str, list[DnsServerAnswer]] = {}
    for ans in dns.servers:
        by_server.setdefault(ans.server, []).append(ans)
    return tuple(
        srv
        for srv, answers in by_server.items()
        if all(a.status in _SERVER_FAILED for a in answers)
    )


def _answers_text(nss: NssResult | None, servers: Iterable[DnsServerAnswer]) -> list[str]:
    """Evidence lines quoting getaddrinfo's result (when it ran), then each server's answer."""
    return ([nss_text(nss)] if nss is not None else []) + [server_text(s) for s in servers]


def _finding(
    cause: str,
    *,
    severity: Severity = "fail",
    summary: str,
    evidence: Iterable[str],
    fix: Iterable[str],
) -> Finding:
    """A finding of the dns step."""
    return Finding(
        cause=cause,
        severity=severity,
        step="dns",
        summary=summary,
        evidence=tuple(evidence),
        fix=tuple(fix),
    )


def nxdomain(ev: CheckEvidence) -> Finding | None:
    """dns.nxdomain: getaddrinfo (or, without it, every server) says the name does not exist."""
    dns = _named(ev)
    if dns is None:
        return None
    nss_says = dns.nss is not None and dns.nss.status == "nxdomain"
    servers_say = (
        dns.nss is None and bool(dns.servers) and all(s.status == "nxdomain" for s in dns.servers)
    )
    if not (nss_says or servers_say):
        return None
    qnames = _qnames(dns) or (dns.name,)
    evidence = _answers_text(dns.nss, dns.servers)
    evidence.append(f"names tried: {', '.join(qnames)}")
    if dns.search:
        evidence.append(f"search domains in /etc/resolv.conf: {' '.join(dns.search)}")
    return _finding(
        "dns.nxdomain",
        summary=f"the name {dns.name} does not exist (NXDOMAIN)",
        evidence=evidence,
        fix=(
            f"check the spelling and the search domains: dig +search {dns.name}",
            f"ask the authoritative servers, bypassing caches: dig +trace {dns.name}",
            "if the record was just created, add it to the zone or wait for the negative TTL",
        ),
    )


def _names_without_address(dns: DnsEvidence) -> bool:
    """The servers answered, the name exists, and no answer carries an address."""
    answered = [s for s in dns.servers if s.status not in _SERVER_FAILED]
    return bool(answered) and all(
        s.status in ("ok", "nodata") and not s.addresses for s in answered
    )


def no_address(ev: CheckEvidence) -> Finding | None:
    """dns.no_address: the name exists but has no address (of the requested family)."""
    dns = _named(ev)
    if dns is None:
        return None
    nss = dns.nss
    nss_says = nss is not None and nss.status == "no_address"
    servers_say = (nss is None or nss.status not in ("ok", "nxdomain")) and _names_without_address(
        dns
    )
    filtered_out = (
        ev.family_filter is not None and nss is not None and nss.status == "ok" and not ev.addresses
    )
    if not (nss_says or servers_say or filtered_out):
        return None
    family = f"IPv{ev.family_filter} " if ev.family_filter is not None else ""
    evidence = _answers_text(nss, dns.servers)
    if ev.family_filter is not None:
        evidence.append(
            f"only IPv{ev.family_filter} addresses were asked for (-{ev.family_filter})"
        )
    fix = [
        f"confirm: dig {dns.name} A and dig {dns.name} AAAA",
        "add the missing A/AAAA record to the zone",
    ]
    if ev.family_filter is not None:
        fix.append(f"or drop -{ev.family_filter} to use the other family")
    return _finding(
        "dns.no_address",
        summary=f"{dns.name} exists but has no {family}address",
        evidence=evidence,
        fix=fix,
    )


def resolver_unreachable(ev: CheckEvidence) -> Finding | None:
    """dns.resolver_unreachable: no configured server answered (warn if the name resolved)."""
    dns = _named(ev)
    if dns is None:
        return None
    failed = _failed_servers(dns)
    nss = dns.nss
    status = nss.status if nss is not None else None
    all_failed = bool(dns.servers) and len(failed) == len({s.server for s in dns.servers})
    # Without per-server answers only a resolver-level failure (again/timeout) is proof.
    unanswered = all_failed or (not dns.servers and status in ("again", "timeout"))
    resolved = status == "ok" or bool(ev.addresses)
    evidence = _answers_text(nss, (s for s in dns.servers if s.server in failed))
    if status in ("again", "timeout", "error") and unanswered:
        if not dns.configured_servers:
            evidence.append("no nameserver is configured in /etc/resolv.conf")
        return _finding(
            "dns.resolver_unreachable",
            summary=f"no DNS server answered the lookup of {dns.name}",
            evidence=evidence,
            fix=(
                "check the nameserver lines: cat /etc/resolv.conf (resolvectl status)",
                f"ask each server directly: dig {dns.name} @SERVER",
                "check that UDP/TCP 53 to the server is allowed and the server runs",
            ),
        )
    if resolved and failed:
        total = len({s.server for s in dns.servers})
        return _finding(
            "dns.resolver_unreachable",
            severity="warn",
            summary=(
                f"{len(failed)} of {total} DNS servers did not answer ({', '.join(failed)}); "
                "the name still resolved, but lookups wait on the failing server"
            ),
            evidence=tuple(evidence),
            fix=(
                f"ask the failing server directly: dig {dns.name} @{failed[0]}",
                "remove or fix the dead nameserver line in /etc/resolv.conf",
            ),
        )
    return None


def _dns_addresses(dns: DnsEvidence) -> tuple[str, ...]:
    """Every address the configured servers answered."""
    return tuple(dict.fromkeys(a for s in dns.servers if s.status == "ok" for a in s.addresses))


def hosts_override(ev: CheckEvidence) -> Finding | None:
    """dns.hosts_override: /etc/hosts pins an address DNS no longer gives (fail if it is dead)."""
    dns = _named(ev)
    head = first(ev)
    if dns is None or dns.source != "hosts" or head is None:
        return None
    served = _dns_addresses(dns)
    if not served or head.address in served:
        return None
    works = succeeded(ev, head)
    if ev.port is not None:
        tested = head.tcp is not None
    else:
        tested = (head.echo is not None and head.echo.status != "unknown") or bool(head.liveness)
    evidence = [
        f"/etc/hosts pins {dns.name} → {head.address}",
        *(server_text(s) for s in dns.servers if s.status == "ok" and s.addresses),
    ]
    if ev.port is not None and head.tcp is not None:
        evidence.append(tcp_text(head.tcp))
    elif ev.port is None:
        evidence.append(echo_text(head.echo))
    fix = (
        f"find the line: grep -n '{dns.name}' /etc/hosts, then correct or remove it",
        f"confirm what the application resolves: getent ahosts {dns.name}",
    )
    if works or not tested:
        now = "it answers now" if works else "whether it answers was not tested"
        return _finding(
            "dns.hosts_override",
            severity="warn",
            summary=(
                f"/etc/hosts pins {dns.name} to {head.address}, which DNS does not give "
                f"({', '.join(served)}); {now}, but the pin will go stale"
            ),
            evidence=evidence,
            fix=fix,
        )
    return _finding(
        "dns.hosts_override",
        summary=(
            f"/etc/hosts pins {dns.name} to {head.address}, which does not answer; "
            f"DNS says {', '.join(served)}"
        ),
        evidence=evidence,
        fix=fix,
    )


def stale_cache(ev: CheckEvidence) -> Finding | None:
    """dns.stale_cache: a resolver still serves an address the authoritative servers no
    longer give (its cached record outlived a change), and the connection to it failed."""
    dns = ev.dns
    if dns is None or dns.authoritative is None or dns.checked_at is None:
        return None
    return dns_compare.stale_cache(dns.servers, dns.authoritative, checked_at=dns.checked_at)
