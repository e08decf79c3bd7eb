"""UDP probes: one datagram exchange with address:port (`udp://`), and a DNS query as a
service check (`dns://`), each as a `UdpExchange`.

UDP has no handshake, so a port says only what comes back. A datagram from the port: it
answered. ICMP port-unreachable from the target itself: nothing listens (Linux answers a
closed UDP port that way, as does a firewall REJECT with that ICMP). Any other ICMP error
names its sender (a router without a path, an admin-prohibited REJECT). Silence until the
budget ends is `open_filtered`, as nmap says it: an open port whose service ignores our
datagram and a firewall that drops it look the same, and the probe does not pretend
otherwise. The ICMP errors come from the socket's error queue (IP_RECVERR, with the sender),
read before recv(), whose ECONNREFUSED alone would not say who sent it.

A silent datagram is sent again after `FIRST_RESEND_S`, then twice as long, like the DNS
transport: a datagram or its answer may be lost, and routers rate-limit their ICMP.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import time

from netdx.budget import Deadline, elapsed_ms
from netdx.model.evidence import (
    DnsQuestion,
    DnsServerAnswer,
    IcmpError,
    UdpExchange,
    UdpOutcome,
)
from netdx.netlink.errors import errno_name
from netdx.probes.recverr import enable_recverr, read_errqueue, to_icmp_error
from netdx.probes.tcp import address_family, local_endpoint

FIRST_RESEND_S = 0.5
_MAX_DATAGRAM = 65535


async def udp_exchange(
    address: str, port: int, *, deadline: Deadline, payload: bytes = b""
) -> UdpExchange:
    """Send `payload` to address:port over a connected UDP socket and report what came back
    before `deadline` (see the module docstring for the outcomes)."""
    start = time.monotonic()
    budget_ms = round(max(0.0, deadline.remaining()) * 1000.0, 1)
    family = address_family(address)
    sock = socket.socket(socket.AF_INET6 if family == 6 else socket.AF_INET, socket.SOCK_DGRAM)
    with contextlib.closing(sock):
        sock.setblocking(False)
        enable_recverr(sock, family)
        try:
            from netdx.probes.bind import bind_socket

            bind_socket(sock)  # --source / --interface, when given
            # connect() on UDP only picks the route and the source: it filters datagrams
            # from other peers and ties the ICMP errors of this flow to the socket.
            sock.connect((address, port))
        except OSError as exc:
            return _local_error(address, port, exc, start, budget_ms, sent=0)
        return await _exchange(sock, address, port, payload, deadline, start, budget_ms)


async def _exchange(
    sock: socket.socket,
    address: str,
    port: int,
    payload: bytes,
    deadline: Deadline,
    start: float,
    budget_ms: float,
) -> UdpExchange:
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()
    loop.add_reader(sock.fileno(), ready.set)
    sent, wait = 0, FIRST_RESEND_S
    try:
        while not deadline.expired:
            try:
                sock.send(payload)
                sent += 1
            except OSError as exc:
                if exc.errno != errno.ECONNREFUSED:  # an earlier ICMP error, read below
                    return _local_error(address, port, exc, start, budget_ms, sent=sent)
                ready.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ready.wait(), min(wait, max(0.0, deadline.remaining())))
            ready.clear()
            done = _read(sock, address, port, start, budget_ms, sent)
            if done is not None:
                return done
            wait *= 2
    finally:
        loop.remove_reader(sock.fileno())
    return UdpExchange(address=address, port=port, outcome="open_filtered",
                       elapsed_ms=elapsed_ms(start), budget_ms=budget_ms, sent=sent)


def _read(
    sock: socket.socket, address: str, port: int, start: float, budget_ms: float, sent: int
) -> UdpExchange | None:
    """What the socket holds now: an ICMP error (error queue first), a datagram, or None."""
    for entry in read_errqueue(sock):
        icmp = to_icmp_error(entry)
        if icmp is not None:
            return _icmp_outcome(sock, address, port, icmp, start, budget_ms, sent)
    try:
        data = sock.recv(_MAX_DATAGRAM)
    except (BlockingIOError, InterruptedError):
        return None
    except OSError as exc:
        if exc.errno == errno.ECONNREFUSED:  # port-unreachable whose queue entry was read
            return UdpExchange(address=address, port=port, outcome="closed",
                               elapsed_ms=elapsed_ms(start), budget_ms=budget_ms, sent=sent,
                               errno="ECONNREFUSED")
        return _local_error(address, port, exc, start, budget_ms, sent=sent)
    return UdpExchange(address=address, port=port, outcome="reply", elapsed_ms=elapsed_ms(start),
                       budget_ms=budget_ms, sent=sent, reply_bytes=len(data))


def _icmp_outcome(
    sock: socket.socket,
    address: str,
    port: int,
    icmp: IcmpError,
    start: float,
    budget_ms: float,
    sent: int,
) -> UdpExchange:
    """Port-unreachable from the target (or from this host, for its own address) is a
    closed port; an error this host sent itself about another host is a local failure (its
    neighbour did not answer); anything else is an ICMP error naming its sender."""
    local = local_endpoint(sock)
    mine = local is not None and icmp.sender == local[0]
    closed = icmp.kind == "port-unreachable" and (icmp.sender == address or mine)
    outcome: UdpOutcome = "closed" if closed else "error" if mine else "icmp_error"
    return UdpExchange(address=address, port=port, outcome=outcome,
                       elapsed_ms=elapsed_ms(start), budget_ms=budget_ms, sent=sent, icmp=icmp,
                       errno=icmp.errno)


def _local_error(
    address: str, port: int, exc: OSError, start: float, budget_ms: float, *, sent: int
) -> UdpExchange:
    name = errno_name(exc.errno) if exc.errno else type(exc).__name__
    return UdpExchange(address=address, port=port, outcome="error", elapsed_ms=elapsed_ms(start),
                       budget_ms=budget_ms, sent=sent, errno=name)


# --- dns:// ------------------------------------------------------------------------------


async def dns_service(
    address: str, port: int, name: str, rtype: str, *, deadline: Deadline
) -> UdpExchange:
    """Ask the DNS server at address:port one question through the one DNS transport
    (`netdx.dns.query`: UDP, TCP again when the answer is truncated) and record the answer
    as a UDP exchange: an answer of any rcode is a reply; port-unreachable is a closed
    port; silence until the deadline is open|filtered."""
    from netdx.dns.query import QueryOptions, query

    start = time.monotonic()
    budget_ms = round(max(0.0, deadline.remaining()) * 1000.0, 1)
    label = address if port == 53 else f"{address}#{port}"
    answer = await query(address, DnsQuestion(name=name, rtype=rtype), deadline=deadline,
                         options=QueryOptions(port=port), label=label)
    return _from_answer(address, port, answer, start, budget_ms)


def port_unreachable_text() -> str:
    """How the DNS transport words an ICMP port-unreachable (its one errno wording)."""
    from netdx.dns.query import os_error_text

    return os_error_text(OSError(errno.ECONNREFUSED, "refused"))


def _from_answer(
    address: str, port: int, answer: DnsServerAnswer, start: float, budget_ms: float
) -> UdpExchange:
    message = answer.message
    size = message.size if message is not None else None
    outcome: UdpOutcome
    if message is not None or answer.status in ("malformed", "bad_id"):
        outcome = "reply"  # a datagram came from the port, DNS or not
    elif answer.status == "error" and answer.error == port_unreachable_text():
        outcome = "closed"
    elif answer.status == "timeout":
        outcome = "open_filtered"
    else:
        outcome = "error"
    return UdpExchange(address=address, port=port, outcome=outcome,
                       elapsed_ms=elapsed_ms(start), budget_ms=budget_ms, reply_bytes=size,
                       dns=answer)
