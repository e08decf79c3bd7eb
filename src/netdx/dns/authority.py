"""When `netdx check` asks the authoritative servers, and for which question. Pure.

The check's plan (`netdx.plan.machine`) asks this module rather than deciding itself, so
the DNS judgement of "what would the zone say?" stays in one place:
- the addresses came from a resolver (a cache) and the first one failed: a stale cache?
- a resolver answered SERVFAIL: it answered, but could not resolve: a lame delegation?
The name asked is the one the resolver answered for, after the search list (`moved` asked
as `moved.corp.example` when that is what the resolver resolved), not the name as typed.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from netdx.model import CheckEvidence, DnsEvidence, DnsServerAnswer
from netdx.model.dns import AuthoritativeCheck

AddressType = Literal["A", "AAAA"]


def authoritative_question(ev: CheckEvidence) -> tuple[str, AddressType] | None:
    """The (absolute name, type) to ask the authoritative servers, or None when their
    answer would not change the verdict."""
    dns = ev.dns
    if dns is None or dns.source not in ("dns", "nss") or not dns.servers:
        return None
    if ev.addresses:
        head = ev.addresses[0]
        failed = (head.tcp.outcome != "connected" if head.tcp is not None
                  else head.echo is None or head.echo.status != "reply")
        if not failed:
            return None
        rtype: AddressType = "AAAA" if head.family == 6 else "A"
        given = _gave(dns, head.address, rtype)
        return _fold(given.qname if given is not None else dns.name), rtype
    servfail = next((s for s in dns.servers if s.status == "servfail"), None)
    if servfail is None or (dns.nss is not None and dns.nss.status == "ok"):
        return None
    return _fold(servfail.qname), "AAAA" if servfail.rtype == "AAAA" else "A"


def _fold(name: str) -> str:
    """`dns.classify.fold`, imported only once there is a question: dns.classify and the
    trace vocabulary it loads cost ~5 ms of a check's start, and a check that connected,
    or got NXDOMAIN, asks none."""
    from netdx.dns.classify import fold

    return fold(name)


def _gave(dns: DnsEvidence, address: str, rtype: str) -> DnsServerAnswer | None:
    """The server answer that carried `address` (else the first that answered `rtype`)."""
    for answer in dns.servers:
        if address in answer.addresses:
            return answer
    return next((a for a in dns.servers if a.status == "ok" and a.rtype == rtype), None)


def with_authoritative(dns: DnsEvidence, checked: AuthoritativeCheck) -> DnsEvidence:
    """`dns` with what the authoritative check found: the answer and the servers asked."""
    return dataclasses.replace(dns, authoritative=checked.answer,
                               delegation=checked.servers or None)
