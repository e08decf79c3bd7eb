"""The netlink sock_diag dump: the kernel filters by state and port, this module reads.

The I/O is one small interface, `DumpSource` (send a request, receive a datagram before a
deadline); `NetlinkDumpSource` is the real one and `ReplayDumpSource` replays captured
datagrams in tests. Datagrams are parsed as they arrive (`netlink.diag.parse_datagram`),
so 100k sockets never sit in memory twice.
"""

from __future__ import annotations

import queue
import socket
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

from netdx.budget import Deadline
from netdx.errors import CannotRun
from netdx.netlink import (
    NETLINK_SOCK_DIAG,
    NetlinkIOError,
    NetlinkSocket,
    NetlinkTimeout,
    encode_message,
)
from netdx.netlink.diag import (
    ALL_STATES,
    PROTOCOLS,
    STATE_NUMBERS,
    dump_request,
    ends_dump,
    parse_datagram,
    port_filter,
    state_mask,
)
from netdx.sockets.model import SocketEntry, SocketListing, SocketQuery

# A sock_diag dump datagram is at most 32 KiB; a large buffer means fewer recv calls.
_RECV_SIZE = 1 << 17
_RCVBUF = 1 << 20
_UDP_LISTEN = 1 << STATE_NUMBERS["UNCONN"]
_GRACE = 0.5  # the reader raises NetlinkTimeout at the deadline; wait that long for it


class DumpSource(Protocol):
    """Where dump datagrams come from: a netlink socket, or a replay of captured bytes."""

    def send(self, msg_type: int, flags: int, payload: bytes) -> int | None:
        """Send one request; return its sequence number (None: accept any)."""
        ...

    def receive(self, timeout: float) -> bytes:
        """The next datagram within `timeout` seconds, else raise NetlinkTimeout."""
        ...


class NetlinkDumpSource:
    """A NETLINK_SOCK_DIAG socket in the current network namespace: `netlink.NetlinkSocket`
    without extended acks (`ends_dump` expects a bare NLMSG_DONE) and with large buffers."""

    def __init__(self) -> None:
        try:
            self._sock = NetlinkSocket(
                NETLINK_SOCK_DIAG, ack_options=False, rcvbuf=_RCVBUF, recv_size=_RECV_SIZE
            )
        except NetlinkIOError as exc:
            raise CannotRun(f"cannot open a sock_diag netlink socket: {exc}") from exc

    def send(self, msg_type: int, flags: int, payload: bytes) -> int | None:
        """Send one request with a fresh sequence number."""
        return self._sock.send(msg_type, flags, payload)

    def receive(self, timeout: float) -> bytes:
        """One datagram, or NetlinkTimeout."""
        return self._sock.receive(timeout)

    def close(self) -> None:
        """Close the netlink socket."""
        self._sock.close()

    def __enter__(self) -> NetlinkDumpSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class ReplayDumpSource:
    """Replays captured datagrams: one list per request, in order; records the requests."""

    def __init__(self, replies: Sequence[Sequence[bytes]]) -> None:
        self._replies = [list(r) for r in replies]
        self._current: list[bytes] = []
        self.sent: list[bytes] = []

    def send(self, msg_type: int, flags: int, payload: bytes) -> int | None:
        """Record the request and queue its captured reply."""
        self.sent.append(encode_message(msg_type, flags, 0, payload))
        if not self._replies:
            raise AssertionError("ReplayDumpSource: no captured reply left for this request")
        self._current = self._replies.pop(0)
        return None

    def receive(self, timeout: float) -> bytes:
        """The next captured datagram; an exhausted reply is a kernel that went silent."""
        if not self._current:
            raise NetlinkTimeout()
        return self._current.pop(0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """One dump the kernel will run: a family and protocol with its filters."""

    family: int
    proto: str
    states: int
    bytecode: bytes | None


def plan(query: SocketQuery) -> tuple[Request, ...]:
    """The dumps that answer `query` (one per protocol and family), filters included."""
    code = port_filter(query.ports, remote=not query.local_port_only) if query.ports else None
    out = []
    for proto in query.protocols:
        states = _states(query, proto)
        if states == 0:
            continue
        for fam in query.families:
            family = socket.AF_INET if fam == 4 else socket.AF_INET6
            out.append(Request(family=family, proto=proto, states=states, bytecode=code))
    return tuple(out)


def _states(query: SocketQuery, proto: str) -> int:
    mask = ALL_STATES
    if query.listen:
        mask = state_mask(("LISTEN",)) if proto == "tcp" else _UDP_LISTEN
    if query.states:
        mask &= state_mask(query.states)
    if proto == "udp":  # a UDP socket is only ever UNCONN or ESTAB
        mask &= _UDP_LISTEN | state_mask(("ESTAB",))
    return mask


@dataclass(slots=True)
class _Outcome:
    sockets: list[SocketEntry]
    notes: list[str]
    interrupted: bool = False


def _dump_one(source: DumpSource, request: Request, deadline: Deadline, out: _Outcome) -> None:
    kind, flags, payload = dump_request(
        request.family, PROTOCOLS[request.proto], states=request.states, bytecode=request.bytecode
    )
    seq = source.send(kind, flags, payload)
    for datagram in _received(source, seq, deadline):
        chunk = parse_datagram(datagram, request.proto, seq=seq)
        out.sockets += chunk.sockets
        out.interrupted |= chunk.interrupted
        if chunk.done:
            if chunk.error is not None:
                fam = "IPv4" if request.family == socket.AF_INET else "IPv6"
                out.notes.append(
                    f"the {request.proto} {fam} dump failed: {chunk.error.name}"
                    + (f" ({chunk.error.message})" if chunk.error.message else "")
                )
            return


def _received(source: DumpSource, seq: int | None, deadline: Deadline) -> Iterator[bytes]:
    """The datagrams of one reply. A helper thread receives the next datagram while the
    caller parses this one: the kernel builds each part of a dump inside recv(), so on a
    busy host the two overlap (recv releases the GIL). The thread stops at the end of the
    reply (`ends_dump`), on an error (handed over and raised here), or at the deadline."""
    box: queue.SimpleQueue[bytes | Exception] = queue.SimpleQueue()

    def reader() -> None:
        try:
            while True:
                data = source.receive(deadline.remaining())
                box.put(data)
                if ends_dump(data, seq):
                    return
        except Exception as exc:  # handed to the caller, which raises it
            box.put(exc)

    threading.Thread(target=reader, name="netdx-sockdiag", daemon=True).start()
    while True:
        try:
            item = box.get(timeout=deadline.remaining() + _GRACE)
        except queue.Empty as exc:
            raise NetlinkTimeout() from exc
        if isinstance(item, Exception):
            raise item
        yield item


def list_sockets(
    query: SocketQuery, *, deadline: Deadline, source: DumpSource | None = None
) -> SocketListing:
    """Dump the sockets `query` asks for (without owners). A dump that times out or fails
    becomes a note in the listing, with the sockets read so far."""
    out = _Outcome(sockets=[], notes=[])
    own = NetlinkDumpSource() if source is None else None
    src: DumpSource = own if own is not None else source  # type: ignore[assignment]
    try:
        for request in plan(query):
            try:
                _dump_one(src, request, deadline, out)
            except NetlinkTimeout:
                out.notes.append(f"the {request.proto} dump did not finish in time: partial list")
                break
            except NetlinkIOError as exc:
                out.notes.append(f"the {request.proto} dump failed: {exc}")
    finally:
        if own is not None:
            own.close()
    if out.interrupted:
        out.notes.append("sockets changed while the dump was read (NLM_F_DUMP_INTR)")
    return SocketListing(
        sockets=tuple(out.sockets), notes=tuple(out.notes), interrupted=out.interrupted
    )
