"""TCP-SYN traceroute without root: one connect per TTL, all sent at once.

Each socket carries its own TTL (IP_TTL / IPV6_UNICAST_HOPS) and IP_RECVERR. A SYN that dies
on the way makes the router send ICMP time-exceeded, which aborts that connect and lands on
its error queue with the router's address; the SYN that reaches the target is answered with
SYN-ACK or a reset. Because the probes are real SYNs to the real port, the trace shows where
a firewall that filters this port (and not ICMP or UDP) cuts the path.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import time
from dataclasses import dataclass

from netdx.budget import Deadline, elapsed_ms
from netdx.model.evidence import Family, Hop, HopKind, PathTrace
from netdx.probes.recverr import SOL_IP, SOL_IPV6, enable_recverr
from netdx.probes.tcp import (
    ConnectResult,
    address_family,
    finish_connect,
    local_endpoint,
    open_socket,
    start_connect,
    writable,
)

_TERMINAL = ("reached", "unreachable")


@dataclass(slots=True)
class _Probe:
    """One TTL's socket and where its connect stands."""

    ttl: int
    sock: socket.socket
    rc: int
    local: tuple[str, int] | None
    hop: Hop | None = None


def hop_for(ttl: int, target: str, result: ConnectResult, rtt_ms: float) -> Hop:
    """The hop a finished connect at `ttl` reveals.

    Connected or reset: the target answered. ICMP time-exceeded: a router on the way.
    Any other ICMP error: the path ends there (unreachable, with the error and sender).
    A local error (no route, failed neighbour resolution): unreachable with no address.
    """
    if result.outcome in ("connected", "refused"):
        return Hop(ttl=ttl, kind="reached", address=target, rtt_ms=rtt_ms)
    icmp = result.icmp
    if result.outcome == "icmp_error" and icmp is not None:
        kind: HopKind = "time_exceeded" if icmp.kind == "time-exceeded" else "unreachable"
        return Hop(ttl=ttl, kind=kind, address=icmp.sender, rtt_ms=rtt_ms, icmp=icmp)
    return Hop(ttl=ttl, kind="unreachable", address=None, rtt_ms=rtt_ms)


def truncate(hops: list[Hop]) -> tuple[Hop, ...]:
    """Hops up to and including the first that ends the path (reached or unreachable):
    every higher TTL only repeats that answer."""
    for index, hop in enumerate(hops):
        if hop.kind in _TERMINAL:
            return tuple(hops[: index + 1])
    return tuple(hops)


def _settled(probes: list[_Probe]) -> bool:
    """True once the path's end is known and every TTL below it has answered."""
    for probe in probes:
        if probe.hop is None:
            return False
        if probe.hop.kind in _TERMINAL:
            return True
    return True


def _set_ttl(sock: socket.socket, family: Family, ttl: int) -> None:
    if family == 6:
        sock.setsockopt(SOL_IPV6, socket.IPV6_UNICAST_HOPS, ttl)
    else:
        sock.setsockopt(SOL_IP, socket.IP_TTL, ttl)


def _launch(family: Family, address: str, port: int, ttl: int) -> _Probe:
    sock = open_socket(family, socket.SOCK_STREAM)
    enable_recverr(sock, family)
    _set_ttl(sock, family, ttl)
    rc = start_connect(sock, address, port)
    return _Probe(ttl=ttl, sock=sock, rc=rc, local=local_endpoint(sock))


async def _collect(probes: list[_Probe], address: str, start: float, deadline: Deadline) -> None:
    """Wait for the connects to end, turning each into its hop, until settled or deadline."""
    with contextlib.ExitStack() as stack:
        waiting: dict[asyncio.Future[None], _Probe] = {}
        for probe in probes:
            if probe.rc != errno.EINPROGRESS:  # ended at once (0 or a local error)
                _finish(probe, address, start)
            else:
                waiting[stack.enter_context(writable(probe.sock))] = probe
        while waiting and not _settled(probes) and not deadline.expired:
            done, _ = await asyncio.wait(
                waiting, timeout=deadline.remaining(), return_when=asyncio.FIRST_COMPLETED
            )
            for fut in done:
                _finish(waiting.pop(fut), address, start)


def _finish(probe: _Probe, address: str, start: float) -> None:
    result = finish_connect(probe.sock, probe.rc, probe.local)
    probe.hop = hop_for(probe.ttl, address, result, elapsed_ms(start))


async def tcp_trace(
    address: str, port: int, *, deadline: Deadline, max_hops: int = 16
) -> PathTrace:
    """Trace the path of a SYN to address:port, TTL 1..max_hops all at once, no root needed.

    Returns when the end of the path is known and every TTL before it answered, or at
    `deadline` (TTLs still unanswered are "silent"). Hops stop at the first that reached
    the target or reported it unreachable. Every socket is closed before returning.
    """
    family = address_family(address)
    start = time.monotonic()
    probes: list[_Probe] = []
    try:
        for ttl in range(1, max_hops + 1):
            probes.append(_launch(family, address, port, ttl))
        await _collect(probes, address, start, deadline)
    finally:
        for probe in probes:
            probe.sock.close()
    hops = [p.hop or Hop(ttl=p.ttl, kind="silent") for p in probes]
    trimmed = truncate(hops)
    return PathTrace(
        address=address,
        port=port,
        hops=trimmed,
        reached=any(h.kind == "reached" for h in trimmed),
        elapsed_ms=elapsed_ms(start),
    )
