"""Finding a zone's authoritative servers the way an engineer does when the public root is out
of reach (internal zones, split horizon): ask the configured resolver.

    dig corp.example NS            (and each ancestor: the deepest that answers is the zone,
                                    or, when the zone itself fails, its parent)
    dig ns1.corp.example A         (the server names, through the same resolver)
    dig @ns1.corp.example db.corp.example +norecurse

The last step is the delegation walk (`netdx.dns.trace.TraceMachine`) started at that zone
with those servers instead of at the root: when the zone is the name's own, its servers are
asked directly; when the resolver could not give the zone (SERVFAIL: a lame delegation), the
walk starts at the nearest ancestor that answered, follows its referral and asks each
delegated server, so the ones that refuse, are not authoritative or stay silent are named.

`zone_candidates`, `nearest_zone` and `name_servers` are pure; `find_servers` is the I/O.
"""

from __future__ import annotations

import asyncio

from netdx.budget import Deadline
from netdx.dns.classify import fold
from netdx.dns.query import QueryOptions, query
from netdx.model.dns import DnsQuestion, DnsServerAnswer
from netdx.model.dns_trace import NameServer
from netdx.model.record import record

# The resolver has the answers in its cache or finds them in a few round trips; the
# discovery may use this share of what the authoritative check has left, the walk the rest.
DISCOVERY_SHARE = 0.4


@record
class ZoneServers:
    """The deepest zone holding the name whose servers the resolver could give, and how far
    down the resolver could not go (`failed`: the zones it answered SERVFAIL/nothing for)."""

    zone: str
    servers: tuple[NameServer, ...]
    resolver: str
    failed: tuple[str, ...] = ()


def zone_candidates(name: str) -> tuple[str, ...]:
    """`name` and each of its ancestors, deepest first, the root last."""
    labels = fold(name).rstrip(".").split(".")
    found = tuple(".".join(labels[i:]) + "." for i in range(len(labels)) if labels[i:] != [""])
    return (*found, ".")


def nearest_zone(answers: dict[str, DnsServerAnswer]) -> tuple[str, tuple[str, ...]] | None:
    """The deepest candidate whose NS query the resolver answered with its NS set, and
    those NS names; None when no candidate did."""
    for zone in sorted(answers, key=lambda z: -len(z.rstrip(".").split(".")) if z != "." else 1):
        answer = answers[zone]
        names = tuple(dict.fromkeys(
            fold(r.value) for r in answer.records if r.rtype == "NS" and fold(r.name) == zone))
        if answer.status == "ok" and names:
            return zone, names
    return None


def name_servers(names: tuple[str, ...], ns_answer: DnsServerAnswer,
                 lookups: dict[str, DnsServerAnswer]) -> tuple[NameServer, ...]:
    """The NS names with their addresses: what the resolver answered for each name, or the
    A records the NS answer carried in its additional section."""
    extra = ns_answer.message.additional if ns_answer.message is not None else ()
    out = []
    for name in names:
        found = lookups.get(name)
        addresses = tuple(found.addresses) if found is not None else ()
        if not addresses:
            addresses = tuple(r.value for r in extra if r.rtype == "A" and fold(r.name) == name)
        out.append(NameServer(name=name, addresses=addresses))
    return tuple(out)


async def find_servers(name: str, resolvers: tuple[tuple[str, int], ...], *,
                       deadline: Deadline) -> ZoneServers | None:
    """Ask the first resolver that answers for the NS sets of `name` and its ancestors, all
    at once, then for the addresses of those servers; the deepest zone with a server that
    has an address wins. None when no resolver gave any NS set."""
    share = deadline.share(DISCOVERY_SHARE)
    for address, port in resolvers:
        options = QueryOptions(port=port)
        candidates = zone_candidates(name)
        ns = await asyncio.gather(*(
            query(address, DnsQuestion(name=z, rtype="NS"), deadline=share, options=options)
            for z in candidates))
        answers = dict(zip(candidates, ns, strict=True))
        if all(a.message is None for a in ns):
            continue  # this resolver is silent: try the next one, like the stub resolver
        found = await _with_addresses(address, options, answers, share)
        if found is not None:
            zone, servers = found
            depth = candidates.index(zone)
            return ZoneServers(zone=zone, servers=servers, resolver=address,
                               failed=candidates[:depth])
    return None


async def _with_addresses(
    address: str, options: QueryOptions, answers: dict[str, DnsServerAnswer], deadline: Deadline
) -> tuple[str, tuple[NameServer, ...]] | None:
    """Resolve the NS names of every zone that answered; the deepest with an address wins."""
    remaining = dict(answers)
    sets: list[tuple[str, tuple[str, ...]]] = []
    while (hit := nearest_zone(remaining)) is not None:
        sets.append(hit)
        del remaining[hit[0]]
    wanted = tuple(dict.fromkeys(n for _, names in sets for n in names))
    lookups = await asyncio.gather(*(
        query(address, DnsQuestion(name=n, rtype="A"), deadline=deadline, options=options)
        for n in wanted))
    by_name = dict(zip(wanted, lookups, strict=True))
    for zone, names in sets:
        servers = name_servers(names, answers[zone], by_name)
        if any(s.addresses for s in servers):
            return zone, servers
    return None
