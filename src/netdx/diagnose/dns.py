"""DNS rules: does the name resolve, to the address it should, through a working resolver?"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from netdx.diagnose import dns_compare
from netdx.diagnose.facts import echo_text, first, ms, succeeded, tcp_text
from netdx.diagnose.shell import quote
from netdx.model import CheckEvidence, DnsEvidence, DnsServerAnswer, Finding, NssResult
from netdx.model.evidence import DelegatedServer
from netdx.model.finding import Severity

# Server statuses that mean "this server gave no usable answer".
_SERVER_FAILED = frozenset({"timeout", "refused", "error", "servfail"})
# ... and those that mean "this server did not answer at all": a SERVFAIL is an answer (the
# resolver runs, it could not resolve the name: `lame_delegation` looks further).
_SERVER_SILENT = frozenset({"timeout", "refused", "error"})
# Outcomes of a delegated server that answered for its zone (`dns.classify` kinds).
_SERVED = frozenset({"answer", "nxdomain", "nodata", "referral", "cname"})


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
    """Servers that did not answer any query (a SERVFAIL is an answer)."""
    by_server: dict[str, list[DnsServerAnswer]] = {}
    for ans in dns.servers:
        by_server.setdefault(ans.server, []).append(ans)
    return tuple(
        srv
        for srv, answers in by_server.items()
        if all(a.status in _SERVER_SILENT for a in answers)
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
            f"check the spelling and the search domains: dig +search {quote(dns.name)}",
            "ask the authoritative servers, bypassing caches: "
            f"dig +trace {quote(qnames[0].rstrip('.'))}",
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
        f"confirm: dig {_dig_name(dns, ('ok', 'nodata'))} A and dig "
        f"{_dig_name(dns, ('ok', 'nodata'))} AAAA",
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
    """dns.resolver_unreachable: no configured server answered (warn if the name resolved).

    Not for a name /etc/hosts gave (the application never asked DNS for it), nor for a
    server that answered SERVFAIL (it answered: `lame_delegation` says why it failed)."""
    dns = _named(ev)
    if dns is None or dns.source == "hosts":
        return None
    failed = _failed_servers(dns)
    nss = dns.nss
    status = nss.status if nss is not None else None
    all_failed = bool(dns.servers) and len(failed) == len({s.server for s in dns.servers})
    # Without per-server answers only a resolver-level failure (again/timeout) is proof.
    unanswered = all_failed or (not dns.servers and status in ("again", "timeout"))
    if any(s.status == "servfail" for s in dns.servers) and not all_failed:
        return None
    evidence = _answers_text(nss, (s for s in dns.servers if s.server in failed))
    if all_failed and status == "ok" and not ev.addresses:
        # The addresses to probe were to come from the servers named with --dns-server
        # (getaddrinfo's answer is not used then): with none, no layer below can run.
        return _finding(
            "dns.resolver_unreachable",
            summary=f"the server you named did not answer ({', '.join(failed)}): "
            f"no address for {dns.name} to check",
            evidence=evidence,
            fix=(
                f"ask it directly: dig {_dig_name(dns)} @{quote(failed[0].split('#')[0])}",
                "check the address given to --dns-server, and that UDP/TCP 53 to it is allowed",
            ),
        )
    resolved = status == "ok" or bool(ev.addresses)
    if status in ("again", "timeout", "error") and unanswered:
        if not dns.configured_servers:
            evidence.append("no nameserver is configured in /etc/resolv.conf")
        return _finding(
            "dns.resolver_unreachable",
            summary=f"no DNS server answered the lookup of {dns.name}",
            evidence=evidence,
            fix=(
                "check the nameserver lines: cat /etc/resolv.conf (resolvectl status)",
                _ask_directly(dns, failed),
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
                f"ask the failing server directly: dig {_dig_name(dns)} "
                f"@{quote(failed[0].split('#')[0])}",
                "remove or fix the dead nameserver line in /etc/resolv.conf",
            ),
        )
    return None


def _dig_name(dns: DnsEvidence, statuses: tuple[str, ...] | None = None) -> str:
    """The name for a dig that runs as written: the full name a server was asked (with
    `statuses`: one that answered so), else the name with +search (dig applies no search
    list without it: `dig db-server-03 A` asks for `db-server-03.`)."""
    for answer in dns.servers:
        if answer.qname and (statuses is None or answer.status in statuses):
            return quote(answer.qname.rstrip("."))
    return quote(dns.name) if dns.name.endswith(".") else f"+search {quote(dns.name)}"


def _ask_directly(dns: DnsEvidence, failed: Sequence[str]) -> str:
    """A dig that runs as written: the server that failed and the full name it was asked
    (dig applies no search list without +search)."""
    servers = [s.split("#")[0] for s in failed] or list(dns.configured_servers)
    if not servers:
        return "add a nameserver line to /etc/resolv.conf (none is configured)"
    name = _dig_name(dns)
    more = f" (then {', '.join(servers[1:])})" if len(servers) > 1 else ""
    return f"ask the server directly: dig {name} @{quote(servers[0])}{more}"


def lame_delegation(ev: CheckEvidence) -> Finding | None:
    """dns.lame_delegation: a resolver answered SERVFAIL (or served an address that failed),
    and the servers the zone is delegated to, asked directly, do not serve it: they refuse,
    are not authoritative, or stay silent (fail when none serves it, else warn). A resolver
    SERVFAIL whose cause could not be found is `dns.servfail`."""
    dns = _named(ev)
    if dns is None:
        return None
    servfail = [s for s in dns.servers if s.status == "servfail"]
    servers = [s for s in dns.delegation or () if s.zone != "."]
    lame = [s for s in servers if s.lame or s.outcome == "pending"]
    if not any(s.lame for s in servers):
        return _servfail(dns, servfail) if servfail and not _resolved(ev) else None
    zone = lame[0].zone
    broken = not any(s.outcome in _SERVED for s in servers)
    who = ", ".join(_delegated_text(s) for s in lame)
    asked = servfail[0].qname if servfail else dns.name
    summary = (f"no server of {zone} serves it ({who})" if broken else
               f"{len(lame)} of {len(servers)} servers of {zone} do not serve it ({who})")
    if servfail:
        summary = f"{servfail[0].server} answered SERVFAIL for {asked}: {summary}"
    first_lame = lame[0].address or lame[0].ns_name.rstrip(".")
    return _finding(
        "dns.lame_delegation",
        severity="fail" if broken else "warn",
        summary=summary,
        evidence=(*(server_text(s) for s in servfail),
                  *(_delegated_evidence(s) for s in servers)),
        fix=(
            f"ask the server directly: dig @{quote(first_lame)} {quote(asked)} +norecurse",
            f"fix the server, or remove it from the NS records of {zone} and from the "
            "parent zone's delegation",
        ),
    )


def _resolved(ev: CheckEvidence) -> bool:
    return bool(ev.addresses) or (ev.dns is not None and ev.dns.nss is not None
                                  and ev.dns.nss.status == "ok")


def _servfail(dns: DnsEvidence, servfail: list[DnsServerAnswer]) -> Finding:
    name = servfail[0].qname
    return _finding(
        "dns.servfail",
        summary=(f"{servfail[0].server} answered SERVFAIL for {name}: the resolver runs but "
                 "could not resolve the name, and its zone's servers could not be checked"),
        evidence=_answers_text(dns.nss, servfail),
        fix=(f"find where resolution breaks: netdx dns --compare {quote(name)}",
             f"ask the resolver: dig {quote(name)} "
             f"@{quote(servfail[0].server.split('#')[0])}"),
    )


def _delegated_evidence(server: DelegatedServer) -> str:
    """One line per server of the zone asked directly: its outcome, why, and its time."""
    name = server.ns_name.rstrip(".") or "."
    where = f"{name} ({server.address})" if server.address else name
    took = f" after {ms(server.rtt_ms)}" if server.rtt_ms is not None else ""
    why = f": {server.detail}" if server.detail else ""
    return f"{server.zone} server {where}, asked with recursion off: {server.outcome}{why}{took}"


def _delegated_text(server: DelegatedServer) -> str:
    name = server.ns_name.rstrip(".") or "."
    where = f"{name} ({server.address})" if server.address else name
    what = {"pending": "no answer within the check's budget", "timeout": "silent",
            "refused": "REFUSED", "not_authoritative": "not authoritative"}
    return f"{where} {what.get(server.outcome, server.outcome)}"


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
        f"find the line: grep -n {_single_quoted(dns.name)} /etc/hosts, then correct or remove it",
        f"confirm what the application resolves: getent ahosts {quote(dns.name)}",
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


def _single_quoted(text: str) -> str:
    """`text` in single quotes for a shell, whatever it holds (a name from the network may hold
    a quote): the printed line stays `grep -n 'name'` for every ordinary name."""
    return "'" + text.replace("'", "'\"'\"'") + "'"
