"""`netdx dns --compare`: ask every source about a name at once (the I/O). The judgement
is `netdx.diagnose.dns_compare`; the table is drawn by `netdx.dns.render`.

Sources, in the order the system consults them: /etc/hosts and the system resolver
(getaddrinfo through NSS, `probes.dns.system_resolve`), each nameserver of resolv.conf for
each name of the search list (read by `dns.resolvconf`, glibc's way), and the authoritative
answer from the trace.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from netdx.budget import Deadline
from netdx.dns.query import query
from netdx.dns.resolvconf import search_candidates
from netdx.dns.verify import from_trace
from netdx.model.dns_trace import TraceResult
from netdx.model.evidence import DnsComparison, DnsQuestion, DnsServerAnswer
from netdx.probes.dns import read_resolv_conf, system_resolve


async def gather(name: str, rtype: str, trace: TraceResult | None, *, deadline: Deadline,
                 hosts_path: Path = Path("/etc/hosts"),
                 resolv_path: Path = Path("/etc/resolv.conf")) -> DnsComparison:
    """Ask getaddrinfo and every server about `name`, all at once, before `deadline`."""
    conf = read_resolv_conf(str(resolv_path))
    names = search_candidates(name, search=conf.search, ndots=conf.ndots)
    jobs = [(server, f"{qname}.") for server in conf.nameservers for qname in names]
    system, answers = await asyncio.gather(
        system_resolve(name, family=6 if rtype == "AAAA" else 4, deadline=deadline,
                       hosts_path=str(hosts_path)),
        asyncio.gather(*(query(server, DnsQuestion(name=qname, rtype=rtype), deadline=deadline)
                         for server, qname in jobs)),
    )
    servers: tuple[DnsServerAnswer, ...] = tuple(answers)
    return DnsComparison(name=name, rtype=rtype, system=system, servers=servers,
                         authoritative=from_trace(trace) if trace is not None else None,
                         checked_at=time.time())
