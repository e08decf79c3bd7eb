"""Many DNS queries in flight at once on one `selectors` loop, without asyncio: the trace's
driver.

`netdx dns --trace` asks every server of a level at once, as the asyncio transport
(`netdx.dns.query`) would; importing asyncio (with ssl, concurrent.futures and logging)
costs about 50 ms of CPU, ten times the whole walk on a LAN. What a datagram means, when a
silent UDP query is sent again, when a truncated answer is asked again over TCP and how the
outcome reads are the one transport's rules (`netdx.dns.exchange`); this module only moves
the bytes: connected UDP sockets (the kernel hands each one its ICMP errors) and
non-blocking TCP, each query bounded by its own `Deadline`.
"""

from __future__ import annotations

import contextlib
import errno
import selectors
import socket
import time
from dataclasses import dataclass, field

from netdx.budget import Deadline, elapsed_ms
from netdx.dns import exchange as rules
from netdx.dns.exchange import QueryOptions
from netdx.model.dns import DnsQuestion, DnsServerAnswer, DnsTransport
from netdx.netlink.errors import errno_name

_READ_SIZE = 65535  # one datagram of any size; TCP in chunks


@dataclass(slots=True, eq=False)
class _Flight:
    """One query while it runs (mutable, private)."""

    key: int
    server: str
    question: DnsQuestion
    opts: QueryOptions
    deadline: Deadline
    msg_id: int
    wire: bytes
    start: float
    attempt: rules.Attempt = field(default_factory=rules.Attempt)
    transport: DnsTransport = "udp"
    sock: socket.socket | None = None
    wait: float | None = None  # UDP: the next resend interval
    resend_at: float | None = None
    notes: list[str] = field(default_factory=list)  # UDP's notes, ahead of TCP's
    connecting: bool = False  # TCP: the connect has not completed yet
    outgoing: bytes = b""  # TCP: what is left to send
    incoming: bytearray = field(default_factory=bytearray)  # TCP: what came, unread
    messages: int = 0  # TCP: messages read


class Flights:
    """Queries in flight: `start` them, `wait` for those that finish, `close` the rest."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._flights: dict[int, _Flight] = {}
        self._done: list[tuple[int, DnsServerAnswer]] = []

    def __len__(self) -> int:
        """Queries whose answer `wait` has not handed out yet: in flight, or ended already
        (a name that cannot be sent, a socket the kernel refused at once)."""
        return len(self._flights) + len(self._done)

    def start(self, key: int, server: str, question: DnsQuestion, *, deadline: Deadline,
              options: QueryOptions | None = None) -> None:
        """Send `question` to `server` (an IP address); its answer comes out of `wait` under
        `key`, within `deadline`."""
        opts = options or QueryOptions()
        msg_id, wire, unsent = rules.encode(question, opts)
        flight = _Flight(key=key, server=server, question=question, opts=opts,
                         deadline=deadline, msg_id=msg_id, wire=wire, start=time.monotonic())
        if unsent is not None:
            self._finish(flight, unsent)
            return
        self._flights[key] = flight
        if opts.tcp_only:
            self._open_tcp(flight)
        else:
            self._open_udp(flight)

    def wait(self, limit: Deadline) -> list[tuple[int, DnsServerAnswer]]:
        """The queries finished since the last call; waits until at least one is, or until
        `limit` (then possibly none)."""
        while not self._done and self._flights:
            now = time.monotonic()
            wake = min(limit.at, *(self._wake(f) for f in self._flights.values()))
            if wake > now:
                for key, events in self._selector.select(wake - now):
                    flight = self._flights.get(key.data)
                    if flight is not None:
                        self._ready(flight, events)
            self._timers()
            if limit.expired:
                break
        done, self._done = self._done, []
        return done

    def close(self) -> None:
        """Give up every query still in flight (nothing more is recorded) and free the
        sockets."""
        for flight in list(self._flights.values()):
            self._drop(flight)
        self._flights.clear()
        self._selector.close()

    # --- UDP ----------------------------------------------------------------------------------

    def _open_udp(self, flight: _Flight) -> None:
        try:
            # A connected socket: the kernel drops datagrams from other sources and hands us
            # the ICMP errors for this flow (port unreachable arrives at once).
            sock = self._socket(flight, socket.SOCK_DGRAM)
            sock.connect((flight.server, flight.opts.port))
        except OSError as exc:
            self._finish(flight, rules.failed(exc, "udp"))
            return
        flight.wait = flight.opts.first_retry_s
        if flight.wait is not None:
            flight.resend_at = time.monotonic() + flight.wait
        self._selector.register(sock, selectors.EVENT_READ, flight.key)
        self._send_datagram(flight)

    def _send_datagram(self, flight: _Flight) -> None:
        assert flight.sock is not None
        try:
            flight.sock.send(flight.wire)
        except (BlockingIOError, InterruptedError):
            return  # as lost as a datagram the network drops: the resend covers both
        except OSError as exc:
            self._take_datagram(flight, exc)

    def _read_datagrams(self, flight: _Flight) -> None:
        while flight.sock is not None and flight.transport == "udp":
            try:
                data: bytes | OSError = flight.sock.recv(_READ_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                data = exc
            self._take_datagram(flight, data)

    def _take_datagram(self, flight: _Flight, item: bytes | OSError) -> None:
        if not rules.judge(item, flight.question, flight.msg_id, flight.attempt):
            return
        if rules.truncated(flight.attempt):
            flight.notes = [*flight.attempt.notes, rules.TRUNCATED_NOTE]
            self._drop(flight)
            self._open_tcp(flight)
        else:
            self._finish(flight, flight.attempt)

    # --- TCP ----------------------------------------------------------------------------------

    def _open_tcp(self, flight: _Flight) -> None:
        flight.transport, flight.attempt = "tcp", rules.Attempt()
        flight.resend_at = None
        try:
            sock = self._socket(flight, socket.SOCK_STREAM)
            code = sock.connect_ex((flight.server, flight.opts.port))
            if code not in (0, errno.EINPROGRESS):
                raise OSError(code, errno_name(code))
        except OSError as exc:
            self._finish(flight, rules.failed(exc, "tcp"))
            return
        flight.connecting = True
        flight.outgoing = len(flight.wire).to_bytes(2, "big") + flight.wire
        self._selector.register(sock, selectors.EVENT_WRITE, flight.key)

    def _write_stream(self, flight: _Flight) -> None:
        sock = flight.sock
        assert sock is not None
        try:
            if flight.connecting:
                code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if code:
                    raise OSError(code, errno_name(code))
                flight.connecting = False
            sent = sock.send(flight.outgoing)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._finish(flight, rules.failed(exc, "tcp"))
            return
        flight.outgoing = flight.outgoing[sent:]
        if not flight.outgoing:
            self._selector.modify(sock, selectors.EVENT_READ, flight.key)

    def _read_stream(self, flight: _Flight) -> None:
        assert flight.sock is not None
        try:
            data = flight.sock.recv(_READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._finish(flight, rules.failed(exc, "tcp"))
            return
        buffer = flight.incoming
        buffer += data
        # Each message: a 2-byte length, then the message. A stream may carry answers to
        # other queries first; read until ours, at most TCP_MESSAGES.
        while len(buffer) >= 2 and len(buffer) >= 2 + (size := int.from_bytes(buffer[:2])):
            message = bytes(buffer[2:2 + size])
            del buffer[:2 + size]
            flight.messages += 1
            if rules.judge(message, flight.question, flight.msg_id, flight.attempt):
                self._finish(flight, flight.attempt)
                return
            if flight.messages >= rules.TCP_MESSAGES:
                flight.attempt.status = "bad_id"
                self._finish(flight, flight.attempt)
                return
        if not data:  # the peer closed: the bytes of the length or message it had begun
            self._finish(flight, rules.stream_closed(len(buffer) if len(buffer) < 2
                                                     else len(buffer) - 2))

    # --- the loop's parts --------------------------------------------------------------------

    def _socket(self, flight: _Flight, kind: int) -> socket.socket:
        family = socket.AF_INET6 if ":" in flight.server else socket.AF_INET
        sock = socket.socket(family, kind)
        sock.setblocking(False)
        flight.sock = sock
        return sock

    def _ready(self, flight: _Flight, events: int) -> None:
        # By the flight's state, not the event: epoll reports an error or a hang-up as both
        # readable and writable, and a reset stream must be read (its error), not written.
        del events
        if flight.transport == "udp":
            self._read_datagrams(flight)
        elif flight.connecting or flight.outgoing:
            self._write_stream(flight)
        else:
            self._read_stream(flight)

    def _wake(self, flight: _Flight) -> float:
        """When `flight` needs the loop without a socket event: a resend or its deadline."""
        if flight.resend_at is not None:
            return min(flight.resend_at, flight.deadline.at)
        return flight.deadline.at

    def _timers(self) -> None:
        now = time.monotonic()
        for flight in list(self._flights.values()):
            if flight.deadline.expired:
                if flight.transport == "udp":
                    self._finish(flight, rules.finish_silent(flight.attempt))
                else:
                    self._finish(flight, rules.tcp_timeout())
            elif (flight.resend_at is not None and flight.wait is not None
                  and now >= flight.resend_at):
                self._send_datagram(flight)  # the query or its answer may have been lost
                flight.wait *= 2
                flight.resend_at = time.monotonic() + flight.wait

    def _drop(self, flight: _Flight) -> None:
        sock, flight.sock = flight.sock, None
        if sock is None:
            return
        with contextlib.suppress(KeyError):  # its connect failed before it was registered
            self._selector.unregister(sock)
        sock.close()

    def _finish(self, flight: _Flight, attempt: rules.Attempt) -> None:
        self._drop(flight)
        self._flights.pop(flight.key, None)
        attempt.notes[:0] = flight.notes
        self._done.append((flight.key, rules.answer(flight.server, flight.question, flight.opts,
                                                    attempt, transport=flight.transport,
                                                    elapsed_ms=elapsed_ms(flight.start))))
