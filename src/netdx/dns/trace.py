"""The `+trace` walk as a state machine: it says what to ask next and is fed what came back.

No I/O happens here (the thin async loop in `netdx.dns.tracer` sends the queries), so the
whole walk is unit-tested with hand-built responses.

How the walk goes, and why:
- Each level is one zone cut. All the zone's servers are asked at once and the first useful
  response (an authoritative answer or a referral further down) settles the level: one dead
  server then costs nothing, where `dig +trace` waits out its timeout. The other servers'
  outcomes are still recorded as they arrive, so lame servers are named.
- Referrals are followed with in-bailiwick glue; name servers without glue are resolved by a
  child walk (a nested machine) from the closest zone already known.
- CNAMEs restart the walk at their target; chains longer than `max_cname` and loops end
  the walk with a finding instead of running on.
- A level where every server is lame ends the walk as `broken` at that zone.
Each limit (levels, CNAME steps, nesting, servers per level) bounds a hostile hierarchy.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from netdx.dns.classify import FINAL_KINDS, Classified, classify, fold, is_subdomain
from netdx.model.dns import DnsQuestion, DnsRecord, DnsServerAnswer
from netdx.model.dns_trace import (
    LevelOutcome,
    NameServer,
    ServerAttempt,
    TraceLevel,
    TraceResult,
    TraceStatus,
)
from netdx.model.record import record as model_record


@model_record
class TraceLimits:
    """Bounds that keep a hostile hierarchy from running the walk on forever."""

    max_levels: int = 32
    max_cname: int = 16
    max_depth: int = 3  # nesting of child walks for glueless name servers
    max_servers: int = 16  # addresses asked per level
    use_ipv6: bool = False
    allow_loopback: bool = False


@model_record
class TraceQuery:
    """One query the driver must send: `id` ties the result back to the walk."""

    id: int
    server: str
    ns_name: str
    zone: str
    question: DnsQuestion


@dataclass(slots=True)
class _Level:
    """A level while the walk runs (mutable, private)."""

    zone: str
    qname: str
    servers: list[NameServer]
    attempts: dict[int, ServerAttempt] = field(default_factory=dict)
    unresolved: dict[str, str] = field(default_factory=dict)  # ns name -> why
    children: dict[str, TraceMachine] = field(default_factory=dict)
    asked: set[str] = field(default_factory=set)
    outcome: LevelOutcome = "open"
    referral: str | None = None

    def freeze(self) -> TraceLevel:
        attempts = [*self.attempts.values()]
        attempts += [ServerAttempt(ns_name=n, address=None, outcome="unresolved", detail=why)
                     for n, why in self.unresolved.items()]
        return TraceLevel(zone=self.zone, qname=self.qname, servers=tuple(self.servers),
                          attempts=tuple(attempts), outcome=self.outcome, referral=self.referral)


def _usable(address: str, limits: TraceLimits) -> bool:
    """False for addresses a hostile referral could use to aim queries at this host or at
    nobody (like unbound's do-not-query-localhost and do-not-query-address)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.is_unspecified or ip.is_multicast:
        return False
    return limits.allow_loopback or not ip.is_loopback


class TraceMachine:
    """The delegation walk for one question. Drive it with `next_queries` and `feed`."""

    def __init__(
        self,
        question: DnsQuestion,
        roots: tuple[NameServer, ...],
        *,
        limits: TraceLimits | None = None,
        start_zone: str = ".",
        _ids: Iterator[int] | None = None,
        _cache: dict[str, tuple[NameServer, ...]] | None = None,
        _depth: int = 0,
        _resolving: frozenset[str] = frozenset(),
    ) -> None:
        self.question = replace(question, name=fold(question.name))
        self.limits = limits or TraceLimits()
        self._ids = _ids if _ids is not None else itertools.count(1)
        self._cache = _cache if _cache is not None else {}
        # `roots` serve `start_zone`: the root hints, or (for an internal zone whose servers
        # were found through the resolver, `netdx.dns.internal`) that zone's own servers.
        self.start_zone = fold(start_zone)
        self._cache.setdefault(self.start_zone, tuple(roots))
        self._depth = _depth
        self._resolving = _resolving | {self.question.name}
        self._levels: list[_Level] = []
        self._owner: dict[int, _Level] = {}  # query id -> level that asked it
        self._child_of: dict[int, TraceMachine] = {}  # query id -> child walk that asked it
        self._outbox: list[TraceQuery] = []
        self._chain: list[DnsRecord] = []
        self._seen_names = {self.question.name}
        self._result: TraceResult | None = None
        zone = self._closest_zone(self.question.name)
        if zone is None:
            self._finish("unfinished", detail=f"{self.question.name} is outside the zones this "
                         f"walk knows servers for ({', '.join(sorted(self._cache))})")
        else:
            self._start_level(zone, self.question.name)

    # --- the driver's interface ------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self._result is not None

    def next_queries(self) -> list[TraceQuery]:
        """The queries to send now; each is returned once. Empty once the walk is done."""
        self._sweep_children()
        if self.done:
            self._outbox.clear()
            return []
        for level in self._levels:
            for child in level.children.values():
                for q in child.next_queries():
                    self._child_of[q.id] = child
                    self._outbox.append(q)
        self._sweep_children()  # a child may have finished without sending anything
        out, self._outbox = self._outbox, []
        return out

    def feed(self, query_id: int, result: DnsServerAnswer) -> None:
        """Hand the walk the result of query `query_id` (late results are recorded too)."""
        child = self._child_of.pop(query_id, None)
        if child is not None:
            child.feed(query_id, result)
            self._sweep_children()
            return
        level = self._owner.pop(query_id, None)
        if level is None:
            return
        verdict = classify(result, zone=level.zone)
        prior = level.attempts[query_id]
        level.attempts[query_id] = replace(
            prior, outcome=verdict.kind, rtt_ms=result.elapsed_ms, detail=verdict.detail,
            rcode=result.message.rcode if result.message else None,
            flags=result.message.flags if result.message else (),
        )
        if level.outcome == "open" and not self.done:
            self._settle(level, verdict, prior, result)

    def result(self) -> TraceResult:
        """The walk so far: final once `done`, else marked `unfinished` (deadline reached)."""
        if self._result is not None:
            return replace(self._result, levels=self._frozen_levels())
        last = self._levels[-1]
        return TraceResult(question=self.question, status="unfinished",
                           levels=self._frozen_levels(), broken_at=last.zone,
                           detail=f"no server for {last.zone} answered before the deadline")

    def pending(self) -> int:
        """How many queries are in flight (their results would still be recorded)."""
        return len(self._owner) + len(self._child_of)

    # --- the walk --------------------------------------------------------------------------

    def _frozen_levels(self) -> tuple[TraceLevel, ...]:
        return tuple(level.freeze() for level in self._levels)

    def _closest_zone(self, name: str) -> str | None:
        """The deepest zone with known servers that holds `name` (None: no such zone, for a
        walk that started below the root)."""
        zones = [z for z in self._cache if is_subdomain(name, z)]
        if not zones:
            return None
        return max(zones, key=lambda z: len(z.rstrip(".").split(".")) if z != "." else 0)

    def _start_level(self, zone: str, qname: str) -> None:
        if len(self._levels) >= self.limits.max_levels:
            self._finish("too_deep", broken_at=zone,
                         detail=f"more than {self.limits.max_levels} zone cuts: a referral loop")
            return
        level = _Level(zone=zone, qname=qname, servers=list(self._cache[zone]))
        self._levels.append(level)
        for server in level.servers:
            self._ask(level, server)
        self._check_broken(level)

    def _ask(self, level: _Level, server: NameServer) -> None:
        """Query every usable address of `server`, or start a child walk to find one."""
        usable = [a for a in server.addresses if _usable(a, self.limits)]
        addresses = [a for a in usable if self.limits.use_ipv6 or ":" not in a]
        if not addresses:
            if usable:
                level.unresolved[server.name] = "only IPv6 addresses (not used)"
            elif server.addresses:
                level.unresolved[server.name] = (
                    f"unusable address {', '.join(server.addresses)} (loopback, unspecified "
                    "or multicast: never queried)")
            else:
                self._resolve(level, server.name)
            return
        for address in addresses:
            if address in level.asked or len(level.asked) >= self.limits.max_servers:
                continue
            level.asked.add(address)
            qid = next(self._ids)
            question = DnsQuestion(name=level.qname, rtype=self.question.rtype)
            query = TraceQuery(id=qid, server=address, ns_name=server.name, zone=level.zone,
                               question=question)
            self._owner[qid] = level
            level.attempts[qid] = ServerAttempt(ns_name=server.name, address=address,
                                                outcome="pending")
            self._outbox.append(query)

    def _resolve(self, level: _Level, ns_name: str) -> None:
        if ns_name in self._resolving:
            level.unresolved[ns_name] = "its address depends on itself (cyclic glueless NS)"
        elif self._depth >= self.limits.max_depth:
            level.unresolved[ns_name] = "too many nested lookups for name server addresses"
        else:
            level.children[ns_name] = TraceMachine(
                DnsQuestion(name=ns_name, rtype="A"), self._cache[self.start_zone],
                limits=self.limits, start_zone=self.start_zone, _ids=self._ids,
                _cache=self._cache, _depth=self._depth + 1,
                _resolving=self._resolving,
            )

    def _sweep_children(self) -> None:
        """Use the addresses found by finished child walks (or record why there are none)."""
        for level in self._levels:
            for ns_name, child in list(level.children.items()):
                if self.done or level.outcome != "open":
                    return
                if not child.done:
                    continue
                del level.children[ns_name]
                found = child.result()
                if found.addresses:
                    self._ask(level, NameServer(name=ns_name, addresses=found.addresses))
                else:
                    level.unresolved[ns_name] = f"no address: {found.status} {found.detail}"
                self._check_broken(level)

    def _settle(self, level: _Level, verdict: Classified, prior: ServerAttempt,
                result: DnsServerAnswer) -> None:
        if verdict.kind == "referral":
            self._take_referral(level, verdict)
        elif verdict.kind == "cname":
            self._follow_cname(level, verdict)
        elif verdict.kind in FINAL_KINDS:
            level.outcome = verdict.kind  # type: ignore[assignment]
            self._chain.extend(verdict.records)
            if self._cname_steps() > self.limits.max_cname:
                # A server may hand the whole chain over in one answer: same limit.
                self._finish("cname_too_long", broken_at=level.zone,
                             detail=f"CNAME chain longer than {self.limits.max_cname} steps")
                return
            status: TraceStatus = verdict.kind  # type: ignore[assignment]
            self._finish(status, authority=(prior.ns_name, prior.address or ""),
                         detail=verdict.detail)
            if self._result is not None:
                self._result = replace(self._result, response=result.message,
                                       response_ms=result.elapsed_ms)
        else:
            self._check_broken(level)

    def _take_referral(self, level: _Level, verdict: Classified) -> None:
        child = verdict.child_zone or "."
        level.outcome, level.referral = "referral", child
        glue: dict[str, list[str]] = {}
        for record in verdict.glue:
            glue.setdefault(fold(record.name), []).append(record.value)
        servers = tuple(NameServer(name=n, addresses=tuple(glue.get(n, ())))
                        for n in verdict.ns_names)
        self._cache[child] = servers
        level.children.clear()
        self._start_level(child, level.qname)

    def _follow_cname(self, level: _Level, verdict: Classified) -> None:
        target = verdict.target or "."
        level.outcome, level.referral = "cname", target
        level.children.clear()
        self._chain.extend(verdict.records)
        steps = self._cname_steps()
        if target in self._seen_names:
            self._finish("cname_loop", broken_at=level.zone, detail=f"CNAME loop back to {target}")
        elif steps > self.limits.max_cname:
            self._finish("cname_too_long", broken_at=level.zone,
                         detail=f"CNAME chain longer than {self.limits.max_cname} steps")
        elif (zone := self._closest_zone(target)) is None:
            self._finish("unfinished", broken_at=level.zone,
                         detail=f"the CNAME target {target} is outside the zones this walk "
                         "knows servers for")
        else:
            self._seen_names.add(target)
            self._start_level(zone, target)

    def _cname_steps(self) -> int:
        return sum(1 for r in self._chain if r.rtype == "CNAME")

    def _check_broken(self, level: _Level) -> None:
        """End the walk when no server of `level` can still give a useful answer."""
        if self.done or level.outcome != "open" or level.children:
            return
        if any(a.outcome == "pending" for a in level.attempts.values()):
            return
        level.outcome = "broken"
        lame = sum(1 for a in level.attempts.values() if a.lame)
        total = len(level.attempts) + len(level.unresolved)
        why = f"none of the {total} servers of {level.zone} answered usefully ({lame} lame"
        why += f", {len(level.unresolved)} without an address)" if level.unresolved else ")"
        self._finish("broken", broken_at=level.zone, detail=why)

    def _finish(self, status: TraceStatus, *, broken_at: str | None = None,
                authority: tuple[str, ...] = (), detail: str = "") -> None:
        for level in self._levels:
            level.children.clear()
        self._child_of.clear()
        self._result = TraceResult(question=self.question, status=status, levels=(),
                                   answer=tuple(self._chain), authority=authority,
                                   broken_at=broken_at, detail=detail)
