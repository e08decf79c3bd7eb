"""Reachability rules: does the host answer at all, or does the path to it end?"""

from __future__ import annotations

from netdx.diagnose.facts import (
    UNREACHABLE_KINDS,
    alive,
    echo_text,
    fallback_finding,
    first,
    liveness_text,
    ms,
    sender_role,
    tcp_text,
)
from netdx.diagnose.port import path_text, path_unreachable
from netdx.diagnose.shell import quote
from netdx.model import AddressEvidence, CheckEvidence, Finding, IcmpError

_DEAD_NEIGHBOUR = frozenset({"FAILED", "INCOMPLETE"})


def _unreachable_icmp(ev: CheckEvidence, a: AddressEvidence) -> IcmpError | None:
    """The ICMP unreachable (not prohibited) that came back for our probe, if any."""
    candidates: list[IcmpError | None] = []
    if ev.port is not None and a.tcp is not None and a.tcp.outcome == "icmp_error":
        candidates.append(a.tcp.icmp)
    if ev.port is None:
        if a.echo is not None and a.echo.status == "icmp_error":
            candidates.append(a.echo.error)
        candidates += [t.icmp for t in a.liveness if t.outcome == "icmp_error"]
    return next((i for i in candidates if i is not None and i.kind in UNREACHABLE_KINDS), None)


def _local_ehostunreach(ev: CheckEvidence, a: AddressEvidence) -> bool:
    """This host's own stack said EHOSTUNREACH (no ICMP came back: ARP/ND failed)."""
    tcps = [a.tcp] if ev.port is not None else list(a.liveness)
    return any(
        t is not None and t.outcome == "error" and t.errno == "EHOSTUNREACH" and t.icmp is None
        for t in tcps
    )


def _silent_dead_neighbour(ev: CheckEvidence, a: AddressEvidence) -> bool:
    """The next hop never answered ARP/ND while the probe got no answer."""
    if a.route is None or a.route.neighbour_state not in _DEAD_NEIGHBOUR:
        return False
    if ev.port is not None:
        return a.tcp is not None and a.tcp.outcome == "timeout"
    return not alive(a) and a.echo is not None and a.echo.status in ("timeout", "icmp_error")


def host_unreachable(ev: CheckEvidence) -> Finding | None:
    """reach.host_unreachable: an ICMP unreachable, a local EHOSTUNREACH, or a dead next hop."""
    head = first(ev)
    if head is None:
        return None
    icmp = _unreachable_icmp(ev, head)
    trace_hop = path_unreachable(ev, head) if icmp is None else None
    icmp = trace_hop.icmp if trace_hop is not None else icmp
    local = icmp is None and _local_ehostunreach(ev, head)
    neighbour = icmp is None and not local and _silent_dead_neighbour(ev, head)
    if icmp is None and not local and not neighbour:
        return None
    evidence = _probe_lines(ev, head)
    if trace_hop is not None and icmp is not None and head.path is not None:
        evidence.append(path_text(head.path))
        who = sender_role(icmp, head.address)
        summary = (f"{head.address} is unreachable: {who} answered {icmp.kind} to the SYN "
                   f"with TTL {trace_hop.ttl}: it has a route there, but the host does not "
                   "answer it")
        fix = [f"is {head.address} up? on router {icmp.sender}: ip neigh show {head.address}",
               f"confirm: traceroute -T -p {ev.port} -n {head.address}"]
    elif icmp is not None:
        who = sender_role(icmp, head.address)
        summary = f"{head.address} is unreachable: {who} answered {icmp.kind}"
        fix = [f"trace the path: traceroute -n {quote(head.address)}"]
        if icmp.sender and icmp.sender != head.address:
            fix.insert(0, f"on router {icmp.sender}, check its route: "
                          f"ip route get {quote(head.address)}")
    else:
        route = head.route
        hop = route.gateway if route is not None and route.gateway else head.address
        state = route.neighbour_state if route is not None else None
        if state:
            evidence.append(f"neighbour {hop}: {state} (no ARP/ND answer)")
        summary = f"{head.address} is unreachable: the next hop {hop} does not answer ARP/ND"
        fix = [f"check the neighbour entry: ip neigh show {quote(hop)}",
               f"is {hop} up and on this link?"]
    return fallback_finding(
        ev,
        cause="reach.host_unreachable",
        step="reach",
        summary=summary,
        evidence=evidence,
        fix=fix,
    )


def _probe_lines(ev: CheckEvidence, a: AddressEvidence) -> list[str]:
    """The lines quoting what was sent to the address and what came back."""
    lines = []
    if ev.port is not None and a.tcp is not None:
        lines.append(tcp_text(a.tcp))
    if ev.port is None or a.echo is not None:
        lines.append(echo_text(a.echo))
    live = liveness_text(a)
    if live is not None:
        lines.append(live)
    return lines


def no_reply(ev: CheckEvidence) -> Finding | None:
    """reach.no_reply: a host-only target sent no echo reply and no TCP answer."""
    head = first(ev)
    if ev.port is not None or head is None or alive(head):
        return None
    if _unreachable_icmp(ev, head) is not None or _local_ehostunreach(ev, head):
        return None  # reach.host_unreachable names that one
    echo = head.echo
    echo_failed = echo is not None and echo.status in ("timeout", "icmp_error")
    # Without an echo verdict, only liveness probes that were all sent and unanswered count.
    if not (echo_failed or head.liveness):
        return None
    evidence = _probe_lines(ev, head)
    if echo is not None and echo.status == "icmp_error" and echo.error is not None:
        evidence.append(f"the echo was rejected by {sender_role(echo.error, head.address)}")
    timeouts = [t for t in head.liveness if t.outcome == "timeout"]
    if timeouts:
        evidence.append(f"liveness connects waited {ms(max(t.timeout_ms for t in timeouts))}")
    summary = (
        f"{head.address} sent no echo reply and no TCP answer: it is down, or a firewall "
        "drops everything (ICMP may be filtered)"
    )
    fix = (
        f"check a port you know is open: netdx check {_bracketed(head.address)}:PORT",
        f"on the host or its hypervisor: is it up? ip addr show | grep {quote(head.address)}",
        f"trace the path: traceroute -n {quote(head.address)}",
    )
    return fallback_finding(
        ev,
        cause="reach.no_reply",
        step="reach",
        summary=summary,
        evidence=evidence,
        fix=fix,
        warn_summary=lambda other: f"{head.address} (tried first) does not answer; {other} does",
        note=None,
    )


def _bracketed(address: str) -> str:
    """An address as `netdx check` takes it before `:PORT` (IPv6 in brackets), quoted for a
    shell."""
    return quote(f"[{address}]" if ":" in address else address)
