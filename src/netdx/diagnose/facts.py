"""Small pure questions the rules ask of the evidence, and how they quote it.

Every rule reads the evidence through these helpers so that "the first address", "another
address connected" and the wording of an ICMP error mean the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from netdx.model.finding import Finding

TYPE_CHECKING = False
if TYPE_CHECKING:  # `netdx dns` judges with these helpers and never loads check's evidence
    from netdx.model.evidence import (
        AddressEvidence,
        CheckEvidence,
        IcmpEcho,
        IcmpError,
        TcpConnect,
    )

# ICMP kinds that say "no way to that host" (reachability), as opposed to a firewall's
# "prohibited" kinds, which are a REJECT rule.
UNREACHABLE_KINDS = frozenset(
    {"host-unreachable", "net-unreachable", "addr-unreachable", "no-route"}
)
PROHIBITED_KINDS = frozenset({"admin-prohibited", "host-prohibited", "net-prohibited"})

if TYPE_CHECKING:
    from typing import TypeVar

    X = TypeVar("X")

# Initial TTLs of common stacks (Linux/BSD 64, Windows 128, network gear 255).
_INITIAL_TTLS = (64, 128, 255)


def first(ev: CheckEvidence) -> AddressEvidence | None:
    """The address the application tries first, if any."""
    return ev.addresses[0] if ev.addresses else None


def tcp_of(a: AddressEvidence | None) -> TcpConnect | None:
    """The TCP connect to the target port for one address."""
    return a.tcp if a is not None else None


def connected(a: AddressEvidence | None) -> bool:
    """True when this address accepted the TCP connection."""
    tcp = tcp_of(a)
    return tcp is not None and tcp.outcome == "connected"


def used_address(ev: CheckEvidence) -> AddressEvidence | None:
    """The address the client ends up on: the first that accepted the TCP connection (the
    one whose service exchange, HTTP, protocol or TLS, the rules read)."""
    return next((a for a in ev.addresses if connected(a)), None)


def used_exchange(
    ev: CheckEvidence, part: Callable[[AddressEvidence], X | None]
) -> tuple[AddressEvidence, X] | None:
    """The address the client ends up on and its exchange `part` (its HTTP, protocol or TLS
    exchange); None when no address connected or that one has no such exchange."""
    used = used_address(ev)
    if used is None:
        return None
    exchange = part(used)
    return None if exchange is None else (used, exchange)


def alive(a: AddressEvidence | None) -> bool:
    """True when the host answered anything: an echo reply or any TCP answer (a reset too)."""
    if a is None:
        return False
    if a.echo is not None and a.echo.status == "reply":
        return True
    return any(t.outcome in ("connected", "refused") for t in a.liveness)


def succeeded(ev: CheckEvidence, a: AddressEvidence | None) -> bool:
    """Did this address do what the check asks: connect to the port, or answer at all."""
    return alive(a) if ev.port is None else connected(a)


def fallback(ev: CheckEvidence) -> AddressEvidence | None:
    """A later address that succeeded, which a client falls back to after the first."""
    return next((a for a in ev.addresses[1:] if succeeded(ev, a)), None)


def family_fallback(ev: CheckEvidence) -> AddressEvidence | None:
    """A later address of the other family that connected while the first failed.

    This is the IPv6-first/IPv4-only (or mirror) service mismatch; it outranks the port
    findings of the first address.
    """
    head = first(ev)
    tcp = tcp_of(head)
    if ev.port is None or head is None or tcp is None:
        return None
    if tcp.outcome not in ("refused", "timeout", "icmp_error"):
        return None
    return next((a for a in ev.addresses[1:] if a.family != head.family and connected(a)), None)


def hop_distance(reply_ttl: int | None) -> int | None:
    """Hops to the target from the TTL of its echo reply (the target is at TTL=distance)."""
    if reply_ttl is None or reply_ttl < 1:
        return None
    initial = next((t for t in _INITIAL_TTLS if t >= reply_ttl), None)
    return None if initial is None else initial - reply_ttl + 1


def endpoint(address: str, port: int | None) -> str:
    """addr:port with IPv6 in brackets, or the bare address without a port."""
    if port is None:
        return address
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def ms(value: float | None) -> str:
    """A duration for humans: 0.42 ms, 12.3 ms, 1000 ms."""
    if value is None:
        return "? ms"
    if value < 10:
        return f"{value:.2f} ms"
    if value < 100:
        return f"{value:.1f} ms"
    return f"{value:.0f} ms"


def icmp_text(icmp: IcmpError) -> str:
    """ICMP type/code/kind and its sender, e.g. 'ICMP type 3 code 13 (admin-prohibited)
    from 10.0.0.1'."""
    proto = "ICMPv6" if icmp.family == 6 else "ICMP"
    sender = icmp.sender or "an unknown sender"
    errno = f", {icmp.errno}" if icmp.errno else ""
    return f"{proto} type {icmp.icmp_type} code {icmp.icmp_code} ({icmp.kind}{errno}) from {sender}"


def sender_role(icmp: IcmpError, target: str) -> str:
    """Who sent an ICMP error: the target itself, a router on the way, or unknown."""
    if icmp.sender is None:
        return "an unknown sender"
    if icmp.sender == target:
        return f"the target {target} itself"
    return f"router {icmp.sender} on the way to {target}"


def tcp_text(tcp: TcpConnect) -> str:
    """One line quoting a TCP connect outcome with its concrete facts."""
    where = f"TCP connect to {endpoint(tcp.address, tcp.port)}"
    if tcp.outcome == "connected":
        local = f" from {tcp.local}" if tcp.local else ""
        return f"{where}: connected in {ms(tcp.elapsed_ms)}{local}"
    if tcp.outcome == "refused":
        return f"{where}: refused (TCP reset) after {ms(tcp.elapsed_ms)}"
    if tcp.outcome == "timeout":
        return f"{where}: no answer within {ms(tcp.timeout_ms)} ({timeout_basis(tcp)})"
    if tcp.outcome == "icmp_error" and tcp.icmp is not None:
        return f"{where}: {icmp_text(tcp.icmp)} after {ms(tcp.elapsed_ms)}"
    return f"{where}: failed with {tcp.errno or 'an unknown error'} after {ms(tcp.elapsed_ms)}"


def connected_text(a: AddressEvidence) -> str:
    """The connect of an address that connected (the one whose service exchange a rule
    quotes), as `tcp_text` words it."""
    return tcp_text(a.tcp) if a.tcp is not None else "TCP connected"


def timeout_basis(tcp: TcpConnect) -> str:
    """Why the connect timeout was that long: sized from a round trip or from --timeout."""
    if tcp.timeout_basis == "rtt" and tcp.rtt_ms is not None:
        return f"timeout sized from a measured round trip of {ms(tcp.rtt_ms)}"
    if tcp.timeout_basis == "rtt":
        return "timeout sized from a measured round trip"
    if tcp.timeout_basis == "neighbour":
        return "stopped early: the next hop left ARP/ND unanswered for a second"
    return "timeout is a share of --timeout"


def echo_text(echo: IcmpEcho | None) -> str:
    """One line quoting the ICMP echo result, or saying it is unknown and why."""
    if echo is None:
        return "ICMP echo: not sent"
    if echo.status == "reply":
        hops = hop_distance(echo.reply_ttl)
        ttl = f", reply TTL {echo.reply_ttl}" if echo.reply_ttl is not None else ""
        dist = f" ({hops} hop{'s' if hops != 1 else ''} away)" if hops is not None else ""
        return (
            f"ICMP echo to {echo.address}: reply in {ms(echo.rtt_ms)}{ttl}{dist}, "
            f"{echo.received}/{echo.sent} answered"
        )
    if echo.status == "timeout":
        return f"ICMP echo to {echo.address}: no reply to {echo.sent} request(s)"
    if echo.status == "icmp_error" and echo.error is not None:
        return f"ICMP echo to {echo.address}: {icmp_text(echo.error)}"
    reason = f" ({echo.reason})" if echo.reason else ""
    return f"ICMP echo to {echo.address}: unknown{reason}"


def liveness_text(a: AddressEvidence) -> str | None:
    """One line summing up the liveness TCP connects of a host-only check."""
    if not a.liveness:
        return None
    parts = [f"{t.port} {t.outcome}" for t in a.liveness]
    return f"TCP liveness probes to {a.address}: " + ", ".join(parts)


def family_name(family: int) -> str:
    """IPv4 / IPv6."""
    return f"IPv{family}"


def failure(
    *,
    cause: str,
    summary: str,
    evidence: Sequence[str] = (),
    fix: Sequence[str] = (),
    step: str | None = None,
) -> Finding:
    """A finding of severity "fail" (the rules' most common kind), in the step of its
    cause's layer unless `step` names another (an app.* cause belongs to the service step)."""
    return Finding(
        cause=cause,
        severity="fail",
        step=step or cause.split(".", 1)[0],
        summary=summary,
        evidence=tuple(evidence),
        fix=tuple(fix),
    )


def fallback_finding(
    ev: CheckEvidence,
    *,
    cause: str,
    step: str,
    summary: str,
    evidence: Sequence[str],
    fix: Sequence[str],
    warn_summary: Callable[[str], str] | None = None,
    note: str | None = "answered",
) -> Finding:
    """A failure of the first address: "fail", or "warn" when a later address connected
    (the client falls back to it). `warn_summary(other)` words the warning (default: the
    summary plus the fallback); `note` adds "OTHER <note>" to the evidence."""
    other = fallback(ev)
    if other is None:
        return failure(cause=cause, step=step, summary=summary, evidence=evidence, fix=fix)
    worded = (
        warn_summary(other.address)
        if warn_summary is not None
        else f"{summary}; the client falls back to {other.address}"
    )
    extra = (f"{other.address} {note}",) if note else ()
    return Finding(
        cause=cause,
        severity="warn",
        step=step,
        summary=worded,
        evidence=(*evidence, *extra),
        fix=tuple(fix),
    )
