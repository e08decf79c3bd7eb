"""The one DNS transport: one question to one server, over UDP with a TCP retry when the
answer is truncated. `netdx check`'s probe, `netdx dns` and the trace all ask through it.

Every outcome (a response, a timeout, garbage, an answer with the wrong ID, ICMP port
unreachable) comes back as a `DnsServerAnswer` with its `DnsExchange`; nothing here raises
for a network outcome, and every wait is bounded by the caller's `Deadline`.
"""

from __future__ import annotations

import asyncio
import errno
import secrets
import time
from dataclasses import dataclass, field

from netdx.budget import Deadline, elapsed_ms
from netdx.dns.message import (
    WireError,
    answers_question,
    build_query,
    parse_response,
    status_of,
)
from netdx.model.evidence import (
    DnsExchange,
    DnsMessage,
    DnsQuestion,
    DnsRecord,
    DnsServerAnswer,
    DnsStatus,
    DnsTransport,
)
from netdx.model.record import record
from netdx.netlink.errors import os_error_text as _os_error_text

DNS_PORT = 53
FIRST_RETRY_S = 1.0  # UDP is sent again after 1 s of silence, then 2 s, 4 s... (like glibc)


@record
class QueryOptions:
    """How to ask: recursion desired (off for a trace), UDP first or TCP only, the port,
    when to send a silent UDP query again (None: never), and whether to use EDNS0."""

    recursion_desired: bool = True
    tcp_only: bool = False
    port: int = DNS_PORT
    first_retry_s: float | None = FIRST_RETRY_S
    edns: bool = True


@dataclass(slots=True)
class _Attempt:
    """What one transport exchange produced (internal, mutable while it runs)."""

    message: DnsMessage | None = None
    status: DnsStatus = "timeout"
    error: str | None = None
    notes: list[str] = field(default_factory=list)


async def query(
    server: str,
    question: DnsQuestion,
    *,
    deadline: Deadline,
    options: QueryOptions | None = None,
    label: str | None = None,
) -> DnsServerAnswer:
    """Ask `server` one question and return what happened, within `deadline`.

    `label` names the server in the answer (default: the address), e.g. `ADDR#PORT`.
    """
    opts = options or QueryOptions()
    start = time.monotonic()
    msg_id = secrets.randbelow(0x10000)
    transport: DnsTransport = "tcp" if opts.tcp_only else "udp"
    try:
        wire = build_query(question, msg_id=msg_id, recursion_desired=opts.recursion_desired,
                           edns=opts.edns)
    except ValueError as exc:
        attempt = _Attempt(status="error", error=f"invalid name: {exc}")
    else:
        if opts.tcp_only:
            attempt = await _tcp(server, opts.port, wire, question, msg_id, deadline)
        else:
            attempt = await _udp(server, opts, wire, question, msg_id, deadline)
            if attempt.message is not None and attempt.message.tc:
                # Like dig and glibc: a truncated UDP answer is asked again over TCP.
                notes = [*attempt.notes, "truncated (TC) over UDP: retried over TCP"]
                attempt = await _tcp(server, opts.port, wire, question, msg_id, deadline)
                attempt.notes[:0] = notes
                transport = "tcp"
    status, error = attempt.status, attempt.error
    records: tuple[DnsRecord, ...] = ()
    if attempt.message is not None:
        status, error = status_of(attempt.message, question.rtype)
        records = attempt.message.answer
    return DnsServerAnswer(
        server=label or server,
        qname=question.name,
        rtype=question.rtype,
        status=status,
        records=records,
        error=error,
        elapsed_ms=elapsed_ms(start),
        exchange=DnsExchange(port=opts.port, transport=transport,
                             recursion_desired=opts.recursion_desired,
                             message=attempt.message, notes=tuple(attempt.notes)),
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


async def _udp(server: str, opts: QueryOptions, wire: bytes, question: DnsQuestion,
               msg_id: int, deadline: Deadline) -> _Attempt:
    attempt = _Attempt()
    loop = asyncio.get_running_loop()
    try:
        # A connected socket: the kernel drops datagrams from other sources and hands us
        # the ICMP errors for this flow (port unreachable arrives at once).
        transport, proto = await loop.create_datagram_endpoint(
            _Datagrams, remote_addr=(server, opts.port)
        )
    except OSError as exc:
        return _Attempt(status="error", error=os_error_text(exc))
    wait = opts.first_retry_s
    resend_at = time.monotonic() + wait if wait is not None else None
    try:
        transport.sendto(wire)
        while (remaining := deadline.remaining()) > 0:
            if resend_at is not None and wait is not None:
                remaining = min(remaining, max(0.0, resend_at - time.monotonic()))
            try:
                item = await asyncio.wait_for(proto.queue.get(), remaining)
            except TimeoutError:
                if resend_at is not None and wait is not None and not deadline.expired:
                    transport.sendto(wire)  # the query or its answer may have been lost
                    wait *= 2
                    resend_at = time.monotonic() + wait
                continue
            if _judge(item, question, msg_id, attempt):
                return attempt
    finally:
        transport.close()
    return _finish_silent(attempt)


def _judge(item: bytes | OSError, question: DnsQuestion, msg_id: int,
           attempt: _Attempt) -> bool:
    """Record one datagram or error in `attempt`; True when it settles the query."""
    if isinstance(item, OSError):
        attempt.status, attempt.error = "error", os_error_text(item)
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
    attempt.status, attempt.message, attempt.error = "ok", response, None
    return True


def _finish_silent(attempt: _Attempt) -> _Attempt:
    if attempt.error is not None:
        attempt.status = "bad_id"
        return attempt
    attempt.status, attempt.error = "timeout", "no answer before the deadline"
    return attempt


async def _tcp(server: str, port: int, wire: bytes, question: DnsQuestion, msg_id: int,
               deadline: Deadline) -> _Attempt:
    try:
        async with asyncio.timeout(deadline.remaining()):
            return await _tcp_exchange(server, port, wire, question, msg_id)
    except TimeoutError:
        return _Attempt(status="timeout", error="no answer over TCP before the deadline")
    except asyncio.IncompleteReadError as exc:
        got = len(exc.partial)
        return _Attempt(status="malformed", error=f"TCP stream closed after {got} bytes")
    except OSError as exc:
        return _Attempt(status="error", error=f"TCP: {os_error_text(exc)}")


async def _tcp_exchange(server: str, port: int, wire: bytes, question: DnsQuestion,
                        msg_id: int) -> _Attempt:
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


def os_error_text(exc: OSError) -> str:
    """What the network said, for a DNS query: ICMP port unreachable by its usual name,
    anything else in the words of the one errno table (`netlink.errors`)."""
    if exc.errno == errno.ECONNREFUSED:
        return "connection refused (ICMP port unreachable)"
    return _os_error_text(exc)
