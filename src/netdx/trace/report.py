"""Rounds of hops into mtr's report, read the way the method says (pure).

Per TTL: the address that answered (most often; others listed for ECMP), sent/received,
loss, and last/avg/best/worst/stdev of the round trips. Loss at a middle hop that does not
carry on to later hops is that router's ICMP rate limit (or a router that never sends
time-exceeded), not loss on the path: such a hop is flagged, not blamed.
"""

from __future__ import annotations

import statistics
from collections import Counter

from netdx.model.evidence import Hop
from netdx.model.record import record

_TERMINAL = ("reached", "unreachable")
SCHEMA = "netdx.trace/1"


@record
class HopStats:
    ttl: int
    address: str | None
    others: tuple[str, ...]
    kind: str  # time_exceeded / reached / unreachable / silent (the most common answer)
    icmp: str | None  # the ICMP error that ended the path here, named with its sender
    sent: int
    received: int
    loss_pct: float
    last_ms: float | None
    avg_ms: float | None
    best_ms: float | None
    worst_ms: float | None
    stdev_ms: float | None
    rate_limited: bool  # loss here that later hops do not show


@record
class TraceReport:
    schema: str
    target: str
    method: str
    port: int | None
    rounds: int
    raw_socket: bool
    hops: tuple[HopStats, ...]
    reached: bool
    end: str  # reached / unreachable / silent
    summary: str
    notes: tuple[str, ...]
    elapsed_ms: float
    source: str | None = None  # --source: the address the probes were bound to
    interface: str | None = None  # --interface: the device they were bound to


def path_length(rounds: list[dict[int, Hop]], max_hops: int) -> tuple[int, bool]:
    """How many TTLs the report shows, and whether the path has a known end: up to the first
    TTL any round saw end the path; else up to the last answering TTL plus one silent."""
    ends = [min((t for t, h in r.items() if h.kind in _TERMINAL), default=0) for r in rounds]
    known = [e for e in ends if e]
    if known:
        return min(known), True
    answered = [t for r in rounds for t in r]
    return min(max(answered, default=0) + 1, max_hops), False


def _stats(ttl: int, hops: list[Hop | None]) -> HopStats:
    got = [h for h in hops if h is not None]
    rtts = [h.rtt_ms for h in got if h.rtt_ms is not None]
    addresses = Counter(h.address for h in got if h.address)
    kinds = Counter(h.kind for h in got)
    address = addresses.most_common(1)[0][0] if addresses else None
    kind = kinds.most_common(1)[0][0] if kinds else "silent"
    icmp = None
    ended = [h for h in got if h.kind == "unreachable" and h.icmp is not None]
    if ended and ended[-1].icmp is not None:
        icmp = f"{ended[-1].icmp.kind} from {ended[-1].icmp.sender}"
    elif kind == "unreachable":
        icmp = "local error (no route or no neighbour)"
    sent = len(hops)
    return HopStats(
        ttl=ttl,
        address=address,
        others=tuple(a for a in addresses if a != address),
        kind=kind,
        icmp=icmp,
        sent=sent,
        received=len(got),
        loss_pct=round(100.0 * (sent - len(got)) / sent, 1) if sent else 0.0,
        last_ms=_last(hops),
        avg_ms=round(statistics.fmean(rtts), 3) if rtts else None,
        best_ms=round(min(rtts), 3) if rtts else None,
        worst_ms=round(max(rtts), 3) if rtts else None,
        stdev_ms=round(statistics.pstdev(rtts), 3) if len(rtts) > 1 else (0.0 if rtts else None),
        rate_limited=False,
    )


def _last(hops: list[Hop | None]) -> float | None:
    for hop in reversed(hops):
        if hop is not None and hop.rtt_ms is not None:
            return round(hop.rtt_ms, 3)
    return None


def _flag_rate_limits(rows: list[HopStats]) -> list[HopStats]:
    """A hop's loss is its own ICMP rate limit when a later hop lost less."""
    out = []
    for index, row in enumerate(rows):
        later = rows[index + 1 :]
        limited = row.loss_pct > 0 and any(r.loss_pct < row.loss_pct for r in later)
        out.append(row if not limited else _replace(row, rate_limited=True))
    return out


def _replace(row: HopStats, *, rate_limited: bool) -> HopStats:
    import dataclasses

    return dataclasses.replace(row, rate_limited=rate_limited)


def build_report(
    rounds: list[dict[int, Hop]],
    *,
    target: str,
    method: str,
    port: int | None,
    max_hops: int,
    raw_socket: bool,
    elapsed_ms: float,
) -> TraceReport:
    """The report of `rounds` (one dict TTL -> Hop per round; a missing TTL was silent)."""
    length, known_end = path_length(rounds, max_hops)
    rows = _flag_rate_limits(
        [_stats(ttl, [r.get(ttl) for r in rounds]) for ttl in range(1, length + 1)]
    )
    notes = []
    for row in rows:
        if row.rate_limited:
            what = "never answers" if row.received == 0 else f"answers {row.received}/{row.sent}"
            notes.append(
                f"hop {row.ttl} ({row.address or '?'}) {what}, but later hops lose less: "
                "that router rate-limits (or does not send) ICMP, this is not loss on the path"
            )
    service = f"{method}/{port}" if port is not None else method
    last = rows[-1] if rows else None
    reached = bool(last and last.kind == "reached")
    if reached and last is not None:
        end, summary = "reached", f"{target} answers {service} at hop {last.ttl}"
        if last.loss_pct > 0:
            summary += f" ({last.loss_pct:g}% of rounds lost)"
    elif known_end and last is not None:
        end = "unreachable"
        summary = f"the path to {target} ends at hop {last.ttl}: {last.icmp}"
    else:
        end = "silent"
        answered = [r for r in rows if r.received]
        if answered:
            hop = answered[-1]
            summary = (
                f"the path stops after hop {hop.ttl} ({hop.address}): nothing answers beyond "
                f"it for {service} — dropped at or just after that hop"
            )
        else:
            summary = f"nothing answers on the way to {target} for {service}"
    return TraceReport(
        schema=SCHEMA,
        target=target,
        method=method,
        port=port,
        rounds=len(rounds),
        raw_socket=raw_socket,
        hops=tuple(rows),
        reached=reached,
        end=end,
        summary=summary,
        notes=tuple(notes),
        elapsed_ms=round(elapsed_ms, 1),
    )
