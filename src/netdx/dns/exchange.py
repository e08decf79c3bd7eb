"""The one DNS transport's rules, without I/O and without an event loop.

What a query looks like on the wire, which datagram settles it (and which is a spoofed or
late one to note and ignore), what silence means, and how the outcome reads as a
`DnsServerAnswer`. Two thin drivers move the bytes: `netdx.dns.query` on asyncio (check's
probes, `netdx dns` direct queries, --compare) and `netdx.dns.flights` on one `selectors`
loop (the trace: asyncio's import alone costs ~50 ms of CPU, ten times the whole walk).
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field

from netdx.dns.message import WireError, answers_question, build_query, parse_response, status_of
from netdx.model.dns import (
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
TCP_MESSAGES = 8  # a TCP stream may carry answers to other queries first: read this many
TRUNCATED_NOTE = "truncated (TC) over UDP: retried over TCP"


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
class Attempt:
    """What one transport exchange produced (internal, mutable while it runs)."""

    message: DnsMessage | None = None
    status: DnsStatus = "timeout"
    error: str | None = None
    notes: list[str] = field(default_factory=list)


def new_id() -> int:
    """A random message ID (RFC 5452: unpredictable, against spoofed answers)."""
    return int.from_bytes(os.urandom(2), "big")


def encode(question: DnsQuestion, opts: QueryOptions) -> tuple[int, bytes, Attempt | None]:
    """A fresh message ID and the query on the wire; for a name that cannot be sent, no
    bytes and the attempt it ends in already (an error, before any packet)."""
    msg_id = new_id()
    try:
        wire = build_query(question, msg_id=msg_id, recursion_desired=opts.recursion_desired,
                           edns=opts.edns)
    except ValueError as exc:
        return msg_id, b"", Attempt(status="error", error=f"invalid name: {exc}")
    return msg_id, wire, None


def judge(item: bytes | OSError, question: DnsQuestion, msg_id: int, attempt: Attempt) -> bool:
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


def finish_silent(attempt: Attempt) -> Attempt:
    """`attempt` once the deadline came with no answer that settled it."""
    if attempt.error is not None:
        attempt.status = "bad_id"
        return attempt
    attempt.status, attempt.error = "timeout", "no answer before the deadline"
    return attempt


def truncated(attempt: Attempt) -> bool:
    """Like dig and glibc: a truncated UDP answer is asked again over TCP."""
    return attempt.message is not None and attempt.message.tc


def failed(exc: OSError, transport: DnsTransport) -> Attempt:
    """An exchange the network ended with an error; over TCP the words say so (the UDP
    query before it was answered, truncated)."""
    text = os_error_text(exc)
    return Attempt(status="error", error=f"TCP: {text}" if transport == "tcp" else text)


def tcp_timeout() -> Attempt:
    """A TCP exchange still unanswered at the deadline."""
    return Attempt(status="timeout", error="no answer over TCP before the deadline")


def stream_closed(got: int) -> Attempt:
    """A TCP stream that ended `got` bytes into the length or message it was reading."""
    return Attempt(status="malformed", error=f"TCP stream closed after {got} bytes")


def answer(server: str, question: DnsQuestion, opts: QueryOptions, attempt: Attempt, *,
           transport: DnsTransport, elapsed_ms: float) -> DnsServerAnswer:
    """The outcome of one exchange, as every caller reads it."""
    status, error = attempt.status, attempt.error
    records: tuple[DnsRecord, ...] = ()
    if attempt.message is not None:
        status, error = status_of(attempt.message, question.rtype)
        records = attempt.message.answer
    return DnsServerAnswer(
        server=server,
        qname=question.name,
        rtype=question.rtype,
        status=status,
        records=records,
        error=error,
        elapsed_ms=elapsed_ms,
        exchange=DnsExchange(port=opts.port, transport=transport,
                             recursion_desired=opts.recursion_desired,
                             message=attempt.message, notes=tuple(attempt.notes)),
    )


def os_error_text(exc: OSError) -> str:
    """What the network said, for a DNS query: ICMP port unreachable by its usual name,
    anything else in the words of the one errno table (`netlink.errors`)."""
    if exc.errno == errno.ECONNREFUSED:
        return "connection refused (ICMP port unreachable)"
    return _os_error_text(exc)
