"""`netdx dns --compare`: ask every source about a name at once (the I/O). The judgement
is `netdx.diagnose.dns_compare`; the table is drawn by `netdx.dns.render`.

Sources, in the order the system consults them: /etc/hosts and the system resolver
(getaddrinfo through NSS, `probes.dns.system_resolve`), each nameserver of resolv.conf
walking the search list the way the stub resolver does (`probes.dns.walk_search_lists`, the
check's walk: a name that answered as is skips the expansions), and the authoritative
answer for the name the resolver settled on (`settled_name`), found by `netdx.dns.verify`.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from netdx.budget import Deadline
from netdx.dns.resolvconf import search_candidates
from netdx.model.dns import DnsComparison, DnsServerAnswer
from netdx.probes.dns import (
    awaited_in_thread,
    pick_answer,
    read_resolv_conf,
    system_resolve,
    walk_search_lists,
)


async def gather(name: str, rtype: str, *, deadline: Deadline,
                 hosts_path: Path = Path("/etc/hosts"),
                 resolv_path: Path = Path("/etc/resolv.conf")) -> DnsComparison:
    """Ask getaddrinfo and every server about `name`, all at once, before `deadline`
    (`authoritative` is left for the caller to fill)."""
    conf = read_resolv_conf(str(resolv_path))
    names = search_candidates(name, search=conf.search, ndots=conf.ndots)

    def walks() -> list[tuple[DnsServerAnswer, ...]]:
        return walk_search_lists(conf.nameservers, names, (rtype,), deadline=deadline,
                                 edns=conf.edns0)

    system, walked = await asyncio.gather(
        system_resolve(name, family=6 if rtype == "AAAA" else 4, deadline=deadline,
                       hosts_path=str(hosts_path)),
        awaited_in_thread(walks, "netdx-dns-servers"),
    )
    servers: tuple[DnsServerAnswer, ...] = tuple(a for walk in walked for a in walk)
    return DnsComparison(name=name, rtype=rtype, system=system, servers=servers,
                         checked_at=time.time())


def settled_name(comparison: DnsComparison) -> str:
    """The name the first resolver settled on after the search list (the name as given
    when no resolver answered): the name whose authoritative answer matters."""
    if not comparison.servers:
        return comparison.name
    first = comparison.servers[0].server
    return pick_answer([s for s in comparison.servers if s.server == first]).qname
