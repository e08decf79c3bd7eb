"""One round of a path trace: a probe per TTL, all sent at once, answers read as they come.

The TCP round is the SYN trace of probes/tcptrace.py (its `hop_for` names the hops) with a
quiet-time end: a round stops when the path's end is known and every TTL below it answered,
when nothing new came for `quiet_s` after the last answer, or at its deadline. UDP and ICMP
are its siblings, sharing the same loop:

- UDP: a connected datagram socket per TTL with IP_RECVERR; time-exceeded names a router,
  port-unreachable from the target means the target answered (the port is closed), data
  from the target means it is open.
- ICMP echo: an ICMP datagram socket per TTL (the unprivileged way, when
  net.ipv4.ping_group_range allows our group) with IP_RECVERR; else, as root, one raw
  socket that matches replies and errors on our identifier, with the TTL as sequence.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from netdx.budget import Deadline, elapsed_ms
from netdx.model.evidence import Family, Hop, HopKind, IcmpError
from netdx.probes.bind import bind_socket
from netdx.probes.icmp import build_echo, parse_dgram_reply, parse_raw_packet
from netdx.probes.recverr import SOL_IP, SOL_IPV6, enable_recverr, read_errqueue, to_icmp_error
from netdx.probes.tcp import finish_connect, local_endpoint, open_socket, start_connect
from netdx.probes.tcptrace import hop_for

Method = Literal["tcp", "udp", "icmp"]
_TERMINAL = ("reached", "unreachable")
_ICMP_PROTO = {4: socket.IPPROTO_ICMP, 6: socket.IPPROTO_ICMPV6}
_UDP_PAYLOAD = b"netdx-trace"


def icmp_hop(ttl: int, target: str, icmp: IcmpError, rtt_ms: float, method: Method) -> Hop:
    """The hop an ICMP error for our probe at `ttl` names (pure).

    Time-exceeded: a router on the way. Port-unreachable from the target to a UDP probe:
    the target itself answered (the port is closed). Any other error ends the path there.
    """
    if icmp.kind == "time-exceeded":
        return Hop(ttl=ttl, kind="time_exceeded", address=icmp.sender, rtt_ms=rtt_ms, icmp=icmp)
    at_target = icmp.sender is not None and _same(icmp.sender, target)
    kind: HopKind = (
        "reached" if method == "udp" and at_target and icmp.kind == "port-unreachable"
        else "unreachable"
    )
    return Hop(ttl=ttl, kind=kind, address=icmp.sender, rtt_ms=rtt_ms, icmp=icmp)


def _same(a: str, b: str) -> bool:
    import ipaddress

    return ipaddress.ip_address(a) == ipaddress.ip_address(b)


def settled(hops: dict[int, Hop], max_hops: int) -> bool:
    """True once the path's end is known and every TTL below it has answered."""
    for ttl in range(1, max_hops + 1):
        hop = hops.get(ttl)
        if hop is None:
            return False
        if hop.kind in _TERMINAL:
            return True
    return True


@dataclass(slots=True)
class _Round:
    """The shared state of one round: the hops found so far and when the last came."""

    target: str
    method: Method
    max_hops: int
    start: float
    hops: dict[int, Hop]
    wake: asyncio.Event
    sent: dict[int, float]
    last_answer: float = 0.0

    def record(self, hop: Hop) -> None:
        if hop.ttl in self.hops:
            return
        self.hops[hop.ttl] = hop
        self.last_answer = time.monotonic()
        self.wake.set()

    def rtt(self, ttl: int) -> float:
        """Milliseconds since the probe of `ttl` left (not since the round began: with
        thirty sockets to open, the last probe leaves a while after the first)."""
        return elapsed_ms(self.sent.get(ttl, self.start))


def _set_ttl(sock: socket.socket, family: Family, ttl: int) -> None:
    if family == 6:
        sock.setsockopt(SOL_IPV6, socket.IPV6_UNICAST_HOPS, ttl)
    else:
        sock.setsockopt(SOL_IP, socket.IP_TTL, ttl)


def _errqueue_hop(sock: socket.socket, ttl: int, state: _Round) -> Hop | None:
    """The hop an error-queue entry names; an ICMP error sent by our own address (a failed
    neighbour resolution) is a local error: unreachable, with no router to name."""
    for entry in read_errqueue(sock):
        icmp = to_icmp_error(entry)
        if icmp is None:
            continue
        local = local_endpoint(sock)
        if local is not None and icmp.sender == local[0]:
            return Hop(ttl=ttl, kind="unreachable", rtt_ms=state.rtt(ttl), icmp=icmp)
        return icmp_hop(ttl, state.target, icmp, state.rtt(ttl), state.method)
    return None


def _on_datagram(sock: socket.socket, ttl: int, state: _Round, family: Family) -> None:
    """Reader of a UDP or ICMP datagram probe socket: an error, or the target's answer."""
    hop = _errqueue_hop(sock, ttl, state)
    if hop is None:
        try:
            data = sock.recv(1500)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            if exc.errno == errno.ECONNREFUSED:  # the target's port-unreachable, queue drained
                hop = Hop(ttl=ttl, kind="reached", address=state.target, rtt_ms=state.rtt(ttl))
            else:
                return
        else:
            if state.method == "icmp" and parse_dgram_reply(family, data) is None:
                return
            hop = Hop(ttl=ttl, kind="reached", address=state.target, rtt_ms=state.rtt(ttl))
    state.record(hop)


def _on_connect(sock: socket.socket, ttl: int, rc: int, state: _Round) -> None:
    local = local_endpoint(sock)
    state.record(hop_for(ttl, state.target, finish_connect(sock, rc, local), state.rtt(ttl)))


def _on_raw(sock: socket.socket, ident: int, state: _Round, family: Family) -> None:
    """Reader of the raw ICMP socket: every ICMP packet of the namespace, matched strictly
    on our identifier and target; the echo's sequence number is the TTL it was sent with."""
    while True:
        try:
            data, sender = sock.recvfrom(1500)
        except (BlockingIOError, InterruptedError):
            return
        packet = parse_raw_packet(family, data, str(sender[0]), state.target, ident)
        if packet is None or not 1 <= packet.seq <= state.max_hops:
            continue
        if packet.error is None:
            hop = Hop(ttl=packet.seq, kind="reached", address=state.target,
                      rtt_ms=state.rtt(packet.seq))
        else:
            hop = icmp_hop(packet.seq, state.target, packet.error, state.rtt(packet.seq), "icmp")
        state.record(hop)


def _open_icmp_dgram(family: Family) -> socket.socket | None:
    af = socket.AF_INET6 if family == 6 else socket.AF_INET
    try:
        sock = socket.socket(af, socket.SOCK_DGRAM, _ICMP_PROTO[family])
    except OSError:
        return None  # ping_group_range excludes us: the raw way, or no way
    sock.setblocking(False)
    return sock


def _icmp_dgram_allowed(family: Family) -> bool:
    probe = _open_icmp_dgram(family)
    if probe is None:
        return False
    probe.close()
    return True


def _launch(
    stack: contextlib.ExitStack, state: _Round, family: Family, port: int, ttl: int
) -> None:
    loop = asyncio.get_running_loop()
    kind = socket.SOCK_STREAM if state.method == "tcp" else socket.SOCK_DGRAM
    if state.method == "icmp":
        made = _open_icmp_dgram(family)
        if made is None:
            raise PermissionError("no ICMP datagram socket")
        sock = made
        bind_socket(sock)  # open_socket binds the TCP/UDP ones
    else:
        sock = open_socket(family, kind)
    stack.callback(sock.close)
    enable_recverr(sock, family)
    _set_ttl(sock, family, ttl)
    fd = sock.fileno()
    state.sent[ttl] = time.monotonic()
    if state.method == "tcp":
        rc = start_connect(sock, state.target, port)
        if rc != errno.EINPROGRESS:
            _on_connect(sock, ttl, rc, state)
            return
        loop.add_writer(fd, _once, loop, fd, True, lambda: _on_connect(sock, ttl, rc, state))
        stack.callback(loop.remove_writer, fd)
        return
    loop.add_reader(fd, _on_datagram, sock, ttl, state, family)
    stack.callback(loop.remove_reader, fd)
    try:
        if state.method == "udp":
            sock.connect((state.target, port))
            sock.send(_UDP_PAYLOAD)
        else:
            sock.sendto(build_echo(family, 0, ttl), (state.target, 0))
    except OSError:  # no route, or the like: the path ends here, locally
        state.record(Hop(ttl=ttl, kind="unreachable", rtt_ms=state.rtt(ttl)))


def _once(
    loop: asyncio.AbstractEventLoop, fd: int, writer: bool, then: Callable[[], None]
) -> None:
    (loop.remove_writer if writer else loop.remove_reader)(fd)
    then()


def _launch_raw(stack: contextlib.ExitStack, state: _Round, family: Family) -> None:
    af = socket.AF_INET6 if family == 6 else socket.AF_INET
    sock = socket.socket(af, socket.SOCK_RAW, _ICMP_PROTO[family])
    stack.callback(sock.close)
    bind_socket(sock)  # --source / --interface: the echoes leave as asked
    sock.setblocking(False)
    ident = (os.getpid() ^ id(state)) & 0xFFFF
    loop = asyncio.get_running_loop()
    loop.add_reader(sock.fileno(), _on_raw, sock, ident, state, family)
    stack.callback(loop.remove_reader, sock.fileno())
    for ttl in range(1, state.max_hops + 1):
        _set_ttl(sock, family, ttl)
        state.sent[ttl] = time.monotonic()
        try:
            sock.sendto(build_echo(family, ident, ttl), (state.target, 0))
        except OSError:
            state.record(Hop(ttl=ttl, kind="unreachable", rtt_ms=state.rtt(ttl)))


async def run_round(
    target: str,
    method: Method,
    *,
    family: Family,
    port: int,
    max_hops: int,
    deadline: Deadline,
    quiet_s: float,
) -> tuple[dict[int, Hop], bool]:
    """Probe TTL 1..max_hops at once; the hops that answered by TTL, and whether the raw
    ICMP socket was used. Stops when settled, after `quiet_s` without a new answer (once
    one came), or at `deadline`. Every socket is closed before returning.

    Raises PermissionError when ICMP can be sent neither way.
    """
    state = _Round(target=target, method=method, max_hops=max_hops, start=time.monotonic(),
                   hops={}, wake=asyncio.Event(), sent={})
    raw = False
    with contextlib.ExitStack() as stack:
        if method == "icmp" and not _icmp_dgram_allowed(family):
            _launch_raw(stack, state, family)
            raw = True
        else:
            for ttl in range(1, max_hops + 1):
                _launch(stack, state, family, port, ttl)
                # Let the loop read answers between launches: an answer read late would
                # count the launches after it into its round trip.
                await asyncio.sleep(0)
        while not settled(state.hops, max_hops) and not deadline.expired:
            wait = deadline.remaining()
            if state.last_answer:
                wait = min(wait, state.last_answer + quiet_s - time.monotonic())
            if wait <= 0:
                break
            state.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(state.wake.wait(), timeout=wait)
    return state.hops, raw
