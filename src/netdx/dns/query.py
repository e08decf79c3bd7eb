"""The one DNS transport on asyncio: one question to one server, over UDP with a TCP retry when
the answer is truncated. `netdx check`'s probe, `netdx dns` and --compare ask through it; the
trace asks through the same rules (`netdx.dns.exchange`) on a `selectors` loop
(`netdx.dns.flights`).

Every outcome (a response, a timeout, garbage, an answer with the wrong ID, ICMP port
unreachable) comes back as a `DnsServerAnswer` with its `DnsExchange`; nothing here raises
for a network outcome, and every wait is bounded by the caller's `Deadline`.
"""

from __future__ import annotations

import asyncio
import time

from netdx.budget import Deadline, elapsed_ms
from netdx.dns import exchange as rules
from netdx.dns.exchange import DNS_PORT, FIRST_RETRY_S, QueryOptions, os_error_text
from netdx.model.dns import DnsQuestion, DnsServerAnswer, DnsTransport

__all__ = ["DNS_PORT", "FIRST_RETRY_S", "QueryOptions", "os_error_text", "query"]


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
    msg_id, wire, unsent = rules.encode(question, opts)
    transport: DnsTransport = "tcp" if opts.tcp_only else "udp"
    if unsent is not None:
        attempt = unsent
    else:
        if opts.tcp_only:
            attempt = await _tcp(server, opts.port, wire, question, msg_id, deadline)
        else:
            attempt = await _udp(server, opts, wire, question, msg_id, deadline)
            if rules.truncated(attempt):
                notes = [*attempt.notes, rules.TRUNCATED_NOTE]
                attempt = await _tcp(server, opts.port, wire, question, msg_id, deadline)
                attempt.notes[:0] = notes
                transport = "tcp"
    return rules.answer(label or server, question, opts, attempt, transport=transport,
                        elapsed_ms=elapsed_ms(start))


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
               msg_id: int, deadline: Deadline) -> rules.Attempt:
    attempt = rules.Attempt()
    loop = asyncio.get_running_loop()
    try:
        # A connected socket: the kernel drops datagrams from other sources and hands us
        # the ICMP errors for this flow (port unreachable arrives at once).
        transport, proto = await loop.create_datagram_endpoint(
            _Datagrams, remote_addr=(server, opts.port)
        )
    except OSError as exc:
        return rules.failed(exc, "udp")
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
            if rules.judge(item, question, msg_id, attempt):
                return attempt
    finally:
        transport.close()
    return rules.finish_silent(attempt)


async def _tcp(server: str, port: int, wire: bytes, question: DnsQuestion, msg_id: int,
               deadline: Deadline) -> rules.Attempt:
    try:
        async with asyncio.timeout(deadline.remaining()):
            return await _tcp_exchange(server, port, wire, question, msg_id)
    except TimeoutError:
        return rules.tcp_timeout()
    except asyncio.IncompleteReadError as exc:
        return rules.stream_closed(len(exc.partial))
    except OSError as exc:
        return rules.failed(exc, "tcp")


async def _tcp_exchange(server: str, port: int, wire: bytes, question: DnsQuestion,
                        msg_id: int) -> rules.Attempt:
    reader, writer = await asyncio.open_connection(server, port)
    try:
        writer.write(len(wire).to_bytes(2, "big") + wire)
        await writer.drain()
        attempt = rules.Attempt()
        # A TCP stream may carry answers to other queries first; read until ours.
        for _ in range(rules.TCP_MESSAGES):
            size = int.from_bytes(await reader.readexactly(2), "big")
            data = await reader.readexactly(size)
            if rules.judge(data, question, msg_id, attempt):
                return attempt
        attempt.status = "bad_id"
        return attempt
    finally:
        writer.close()
