"""One precise DNS query to one server, over UDP with a TCP retry when the answer is truncated.

This is the only module of `netdx.dns` that opens sockets. Every outcome (a response, a
timeout, garbage, an answer with the wrong ID, ICMP port unreachable) comes back as a
`QueryResult`; nothing here raises for a network outcome, and every wait is bounded by the
caller's `Deadline`.
"""

from __future__ import annotations

import asyncio
import errno
import secrets
import time
from dataclasses import dataclass, field

from netdx.budget import Deadline, elapsed_ms
from netdx.dns.message import (
    DnsResponse,
    QueryResult,
    QueryStatus,
    Question,
    Transport,
    WireError,
    answers_question,
    build_query,
    parse_response,
)

DNS_PORT = 53
_MAX_UDP = 65535


@dataclass(frozen=True, slots=True, kw_only=True)
class QueryOptions:
    """How to ask: recursion desired (off for a trace), UDP first or TCP only."""

    recursion_desired: bool = True
    tcp_only: bool = False
    port: int = DNS_PORT


@dataclass(slots=True)
class _Attempt:
    """What one transport exchange produced (internal, mutable while it runs)."""

    response: DnsResponse | None = None
    status: QueryStatus = "timeout"
    error: str | None = None
    notes: list[str] = field(default_factory=list)


async def query(
    server: str,
    question: Question,
    *,
    deadline: Deadline,
    options: QueryOptions | None = None,
) -> QueryResult:
    """Ask `server` one question and return what happened, within `deadline`."""
    opts = options or QueryOptions()
    msg_id = secrets.randbelow(0x10000)
    wire = build_query(question, msg_id=msg_id, recursion_desired=opts.recursion_desired)
    start = time.monotonic()  # after the first, importing, build: time the network only
    transport: Transport = "tcp" if opts.tcp_only else "udp"
    if opts.tcp_only:
        attempt = await _tcp(server, opts.port, wire, question, msg_id, deadline)
    else:
        attempt = await _udp(server, opts.port, wire, question, msg_id, deadline)
        if attempt.response is not None and attempt.response.tc:
            # Like dig: a truncated UDP answer is asked again over TCP.
            notes = [*attempt.notes, "truncated (TC) over UDP: retried over TCP"]
            attempt = await _tcp(server, opts.port, wire, question, msg_id, deadline)
            attempt.notes[:0] = notes
            transport = "tcp"
    return QueryResult(
        server=server,
        port=opts.port,
        question=question,
        status=attempt.status,
        transport=transport,
        elapsed_ms=elapsed_ms(start),
        response=attempt.response,
        error=attempt.error,
        notes=tuple(attempt.notes),
        recursion_desired=opts.recursion_desired,
    )


class _Datagrams(asyncio.DatagramProtocol):
    """Queue every datagram and every ICMP error the connected UDP socket reports."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | OSError] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.queue.put_nowait(data)

    def error_received(self, exc: Exception) -> None:
        if isinstance(exc, OSError):
            self.queue.put_nowait(exc)


async def _udp(
    server: str, port: int, wire: bytes, question: Question, msg_id: int, deadline: Deadline
) -> _Attempt:
    attempt = _Attempt()
    loop = asyncio.get_running_loop()
    try:
        # A connected socket: the kernel drops datagrams from other sources and hands us
        # the ICMP errors for this flow.
        transport, proto = await loop.create_datagram_endpoint(
            _Datagrams, remote_addr=(server, port)
        )
    except OSError as exc:
        return _Attempt(status="error", error=_os_error(exc))
    try:
        transport.sendto(wire)
        while (remaining := deadline.remaining()) > 0:
            try:
                item = await asyncio.wait_for(proto.queue.get(), remaining)
            except TimeoutError:
                break
            if _judge(item, question, msg_id, attempt):
                return attempt
    finally:
        transport.close()
    return _finish_silent(attempt)


def _judge(item: bytes | OSError, question: Question, msg_id: int, attempt: _Attempt) -> bool:
    """Record one datagram or error in `attempt`; True when it settles the query."""
    if isinstance(item, OSError):
        attempt.status, attempt.error = "error", _os_error(item)
        return True
    try:
        response = parse_response(item)
    except WireError as exc:
        attempt.status, attempt.error = "malformed", f"{len(item)} bytes that do not parse: {exc}"
        return True
    why = answers_question(response, question, msg_id)
    if why is not None:
        # A spoofed or late datagram: note it and keep waiting for the real answer.
        attempt.notes.append(f"ignored a response: {why}")
        attempt.error = why
        return False
    attempt.status, attempt.response, attempt.error = "ok", response, None
    return True


def _finish_silent(attempt: _Attempt) -> _Attempt:
    if attempt.error is not None:
        attempt.status = "bad_id"
        return attempt
    attempt.status, attempt.error = "timeout", "no answer before the deadline"
    return attempt


async def _tcp(
    server: str, port: int, wire: bytes, question: Question, msg_id: int, deadline: Deadline
) -> _Attempt:
    try:
        async with asyncio.timeout(deadline.remaining()):
            return await _tcp_exchange(server, port, wire, question, msg_id)
    except TimeoutError:
        return _Attempt(status="timeout", error="no answer over TCP before the deadline")
    except asyncio.IncompleteReadError as exc:
        got = len(exc.partial)
        return _Attempt(status="malformed", error=f"TCP stream closed after {got} bytes")
    except OSError as exc:
        return _Attempt(status="error", error=f"TCP: {_os_error(exc)}")


async def _tcp_exchange(
    server: str, port: int, wire: bytes, question: Question, msg_id: int
) -> _Attempt:
    reader, writer = await asyncio.open_connection(server, port)
    try:
        writer.write(len(wire).to_bytes(2, "big") + wire)
        await writer.drain()
        attempt = _Attempt()
        # A TCP stream may carry answers to other queries first; read until ours.
        for _ in range(8):
            size = int.from_bytes(await reader.readexactly(2), "big")
            data = await reader.readexactly(size)
            if _judge(data, question, msg_id, attempt):
                return attempt
        attempt.status = "bad_id"
        return attempt
    finally:
        writer.close()


def _os_error(exc: OSError) -> str:
    if exc.errno == errno.ECONNREFUSED:
        return "port unreachable (ECONNREFUSED)"
    name = errno.errorcode.get(exc.errno or 0, "")
    return f"{name}: {exc.strerror}" if name else str(exc)


def reverse_name(address: str) -> str:
    """The PTR name of an IPv4 or IPv6 address (`-x`); `ValueError` for a non-address."""
    import ipaddress

    return ipaddress.ip_address(address).reverse_pointer + "."
