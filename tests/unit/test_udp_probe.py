"""The UDP probes on loopback sockets this test opens: a reply, ICMP port unreachable read
from the error queue with its sender, silence, and a DNS server's SERVFAIL."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import TypeVar

from netdx.budget import Deadline
from netdx.probes.udp import dns_service, udp_exchange

LOOPBACK = "127.0.0.1"
T = TypeVar("T")


def _servfail(query: bytes) -> bytes:
    """The query turned into a SERVFAIL response: QR RD RA, rcode 2, the question only
    (the query's trailing 11-byte OPT record dropped)."""
    return query[:2] + b"\x81\x82" + b"\x00\x01" + b"\x00" * 6 + query[12:-11]


async def _serve(answer: Callable[[bytes], bytes | None],
                 probe: Callable[[int], Awaitable[T]]) -> T:
    """Run `probe(port)` while a loopback UDP socket answers each datagram with `answer`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((LOOPBACK, 0))
    sock.setblocking(False)
    loop = asyncio.get_running_loop()

    def on_readable() -> None:
        data, peer = sock.recvfrom(2048)
        reply = answer(data)
        if reply is not None:
            sock.sendto(reply, peer)

    loop.add_reader(sock.fileno(), on_readable)
    try:
        return await probe(sock.getsockname()[1])
    finally:
        loop.remove_reader(sock.fileno())
        sock.close()


def _closed_port() -> int:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((LOOPBACK, 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


def test_reply_is_recorded_with_its_size() -> None:
    """A service that answers: outcome reply, the reply's size, one datagram sent."""
    got = asyncio.run(_serve(lambda data: b"ack " + data, lambda port: udp_exchange(
        LOOPBACK, port, deadline=Deadline.after(5.0))))
    assert got.outcome == "reply" and got.reply_bytes == 4 and got.sent == 1


def test_closed_port_names_the_icmp_sender() -> None:
    """Nothing bound: ICMP port unreachable from the target itself, from the error queue."""
    got = asyncio.run(udp_exchange(LOOPBACK, _closed_port(), deadline=Deadline.after(5.0)))
    assert got.outcome == "closed"
    assert got.icmp is not None and got.icmp.kind == "port-unreachable"
    assert got.icmp.sender == LOOPBACK


def test_silence_is_open_filtered_after_resends() -> None:
    """A bound socket that never answers: open|filtered once the budget ends, after the
    datagram was sent again (one may be lost)."""
    got = asyncio.run(_serve(lambda data: None, lambda port: udp_exchange(
        LOOPBACK, port, deadline=Deadline.after(0.8))))
    assert got.outcome == "open_filtered" and got.sent is not None and got.sent >= 2


def test_dns_servfail_is_a_reply_with_its_rcode() -> None:
    """dns:// through the DNS transport: a SERVFAIL is a reply whose answer says servfail,
    with the server's flags kept (RA: a recursive resolver)."""
    got = asyncio.run(_serve(_servfail, lambda port: dns_service(
        LOOPBACK, port, "www.refused.lab", "A", deadline=Deadline.after(5.0))))
    assert got.outcome == "reply"
    answer = got.dns
    assert answer is not None and answer.exchange is not None
    assert answer.status == "servfail" and answer.message is not None
    assert "ra" in answer.message.flags and answer.server.endswith(f"#{answer.exchange.port}")


def test_dns_to_a_closed_port_is_closed() -> None:
    """dns:// to a port nothing serves: the transport's port unreachable becomes closed."""
    got = asyncio.run(dns_service(LOOPBACK, _closed_port(), "x.lab", "A",
                                  deadline=Deadline.after(5.0)))
    assert got.outcome == "closed" and got.dns is not None and got.dns.status == "error"
