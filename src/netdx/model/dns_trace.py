"""A finished delegation walk (`netdx dns --trace`, the authoritative check of `netdx
check`) as plain frozen values: the levels, every server's outcome, the final answer.

`netdx.dns.trace.TraceMachine` produces them; the rules in `netdx.diagnose.dns_trace` read
them. Nothing here does I/O.
"""

from __future__ import annotations

from typing import Literal, get_args

from netdx.model.dns import DnsMessage, DnsQuestion, DnsRecord
from netdx.model.record import record

# Outcomes (`netdx.dns.classify.Kind`) that make a server lame for the zone it was asked
# about (RFC 4697): it does not serve the zone it was delegated.
LameKind = Literal[
    "timeout",
    "refused",
    "servfail",
    "rcode",
    "not_authoritative",
    "bad_referral",
    "malformed",
    "bad_id",
    "error",
]
LAME_KINDS: frozenset[str] = frozenset(get_args(LameKind))

TraceStatus = Literal[
    "answer", "nxdomain", "nodata", "broken", "cname_loop", "cname_too_long", "too_deep",
    "unfinished",
]
LevelOutcome = Literal["referral", "answer", "nxdomain", "nodata", "cname", "broken", "open"]


@record
class NameServer:
    """A name server of a zone and the addresses known for it (glue or hints)."""

    name: str
    addresses: tuple[str, ...] = ()


@record
class ServerAttempt:
    """One server asked at one level, and what it did."""

    ns_name: str
    address: str | None  # None when its address could not be found
    outcome: str  # a classify.Kind, or pending / unresolved
    rtt_ms: float | None = None
    detail: str = ""
    rcode: str | None = None
    flags: tuple[str, ...] = ()

    @property
    def lame(self) -> bool:
        return self.outcome in LAME_KINDS


@record
class TraceLevel:
    """One zone cut: the zone, the name asked there, every server's outcome, the step taken."""

    zone: str
    qname: str
    servers: tuple[NameServer, ...]
    attempts: tuple[ServerAttempt, ...]
    outcome: LevelOutcome
    referral: str | None = None  # the child zone taken (referral), or the CNAME target


@record
class LameServer:
    """A server delegated a zone that did not serve it."""

    zone: str
    ns_name: str
    address: str | None
    reason: str
    detail: str = ""


@record
class TraceResult:
    """The finished walk."""

    question: DnsQuestion
    status: TraceStatus
    levels: tuple[TraceLevel, ...]
    answer: tuple[DnsRecord, ...] = ()  # the final records, CNAME chain first
    authority: tuple[str, ...] = ()  # ns_name/address that gave the final answer
    response: DnsMessage | None = None  # that server's whole response (every section)
    response_ms: float | None = None
    broken_at: str | None = None  # the zone where resolution broke
    detail: str = ""

    @property
    def lame(self) -> tuple[LameServer, ...]:
        """Every lame server met on the walk, once per zone and address."""
        found: dict[tuple[str, str, str | None], LameServer] = {}
        for level in self.levels:
            for a in level.attempts:
                if a.lame:
                    key = (level.zone, a.ns_name, a.address)
                    found.setdefault(key, LameServer(zone=level.zone, ns_name=a.ns_name,
                                                     address=a.address, reason=a.outcome,
                                                     detail=a.detail))
        return tuple(found.values())

    @property
    def addresses(self) -> tuple[str, ...]:
        return tuple(r.value for r in self.answer if r.rtype in ("A", "AAAA"))
