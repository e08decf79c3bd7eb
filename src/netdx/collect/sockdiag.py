"""The sock_diag dump: the kernel filters by state and port, this module reads.

The I/O is the one netlink seam, `netlink.sock.Transport` (send a request, receive a
datagram before a deadline): `NetlinkDumpSource` opens its socket through a `Host`,
`netlink.fake.ReplayTransport` replays captured datagrams in tests. Datagrams are parsed as
they arrive (`netlink.diag.parse_datagram`), so 100k sockets never sit in memory twice.
`netdx.sockets.dump` is the typed face of this module inside netdx.
"""

from __future__ import annotations

import _queue as queue  # SimpleQueue and Empty are _queue's: no queue.py on the check path
import threading
from collections.abc import Callable, Iterator, Sequence

from netdx.netlink import (
    NETLINK_SOCK_DIAG,
    NetlinkIOError,
    NetlinkSocket,
    NetlinkTimeout,
)
from netdx.netlink import csocket as socket  # socket.py without its enums (csocket says why)
from netdx.netlink._compat import dataclass, field, value
from netdx.netlink.diag import (
    ALL_STATES,
    PROTOCOLS,
    DiagSocket,
    DumpChunk,
    dump_request,
    ends_dump,
    parse_datagram,
    port_filter,
    state_mask,
)
from netdx.netlink.sock import Transport
from netdx.netlink.tables import STATE_NUMBERS

from .system import Budget, Host

# A sock_diag dump datagram is at most 32 KiB; a large buffer means fewer recv calls.
_RECV_SIZE = 1 << 17
_RCVBUF = 1 << 20
_UDP_LISTEN = 1 << STATE_NUMBERS["UNCONN"]
_GRACE = 0.5  # the reader raises NetlinkTimeout at the deadline; wait that long for it
_AHEAD = 8  # datagrams the reader may receive ahead of the caller (32 KiB each)


# The dump is written against the one netlink seam: send a request, receive datagrams.
DumpSource = Transport


class NetlinkDumpSource(NetlinkSocket):
    """A NETLINK_SOCK_DIAG socket in the host's network namespace: `netlink.NetlinkSocket`
    without extended acks (`ends_dump` expects a bare NLMSG_DONE) and with large buffers;
    its `send` and `receive` are the `DumpSource` interface. Raises NetlinkIOError when the
    socket cannot be opened."""

    def __init__(self, host: Host) -> None:
        try:
            sock = host.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
        except OSError as exc:
            raise NetlinkIOError(f"netlink socket: {exc}", errno_code=exc.errno or 0) from exc
        super().__init__(
            NETLINK_SOCK_DIAG, ack_options=False, rcvbuf=_RCVBUF, recv_size=_RECV_SIZE, sock=sock
        )


@dataclass(frozen=True)
class Request:
    """One dump the kernel will run: a family and protocol with its filters."""

    family: int
    proto: str
    states: int
    bytecode: bytes | None


TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Literal

    Proto = Literal["tcp", "udp"]
else:  # only annotations name it (typing's Literal would cost a check 5-10 ms)
    Proto = str


@value
class Selection:
    """Which sockets to dump, in the words of `ss`: `states` are ss names (ESTAB,
    CLOSE-WAIT...); `listen` means LISTEN for TCP and UNCONN for UDP (as `ss -l`); `ports`
    match the local or the remote port (only the local one with `local_port_only`). Empty
    tuples mean "all". Inside netdx it is `netdx.sockets.SocketQuery`, the same class."""

    protocols: tuple[Proto, ...] = ("tcp", "udp")
    families: tuple[int, ...] = (4, 6)
    states: tuple[str, ...] = ()
    listen: bool = False
    ports: tuple[int, ...] = ()
    local_port_only: bool = False


@dataclass
class Dump:
    """What one dump read: the sockets, short notes for the user, and NLM_F_DUMP_INTR."""

    sockets: list[DiagSocket] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False


def plan(selection: Selection) -> tuple[Request, ...]:
    """The dumps that answer `selection` (one per protocol and family), filters included."""
    code = None
    if selection.ports:
        code = port_filter(selection.ports, remote=not selection.local_port_only)
    out = []
    for proto in selection.protocols:
        states = _states(selection, proto)
        if states == 0:
            continue
        for fam in selection.families:
            family = socket.AF_INET if fam == 4 else socket.AF_INET6
            out.append(Request(family=family, proto=proto, states=states, bytecode=code))
    return tuple(out)


def one_walk(requests: Sequence[Request]) -> tuple[Request, ...]:
    """`requests` with each TCP pair of an IPv4 and an IPv6 dump (same states and filter)
    made one dump of both families (AF_UNSPEC): one walk of the kernel's TCP hash tables,
    not two (each walk visits every bucket of the established table: ~2 ms on a large
    host, however few sockets match). Its sockets come interleaved: `by_family` puts them
    back in the two dumps' order."""
    out: list[Request] = []
    for request in requests:
        merged = Request(family=socket.AF_UNSPEC, proto=request.proto, states=request.states,
                         bytecode=request.bytecode)
        if (request.proto == "tcp" and request.family == socket.AF_INET6 and out
                and out[-1] == Request(family=socket.AF_INET, proto="tcp",
                                       states=request.states, bytecode=request.bytecode)):
            out[-1] = merged
        else:
            out.append(request)
    return tuple(out)


def by_family(sockets: Sequence[DiagSocket]) -> list[DiagSocket]:
    """The IPv4 sockets, then the IPv6 ones, each in the kernel's order: what the dumps of
    one family after the other return (a dump of both interleaves them)."""
    return [*(s for s in sockets if s.family == socket.AF_INET),
            *(s for s in sockets if s.family != socket.AF_INET)]


def _states(selection: Selection, proto: str) -> int:
    mask = ALL_STATES
    if selection.listen:
        mask = state_mask(("LISTEN",)) if proto == "tcp" else _UDP_LISTEN
    if selection.states:
        mask &= state_mask(selection.states)
    if proto == "udp":  # a UDP socket is only ever UNCONN or ESTAB
        mask &= _UDP_LISTEN | state_mask(("ESTAB",))
    return mask


# Reads one datagram of a request's reply (its sequence number: None accepts any): the
# default parses it into DiagSockets (`parse_datagram`), a streaming writer prints it.
# (A string: the alias is evaluated at import, and `int | None` needs Python 3.10.)
Reader = Callable[["Request", bytes, "int | None"], DumpChunk]


def _parse(request: Request, datagram: bytes, seq: int | None) -> DumpChunk:
    return parse_datagram(datagram, request.proto, seq=seq)


def dump(
    requests: Sequence[Request],
    source: DumpSource,
    deadline: Budget,
    read: Reader = _parse,
    *,
    ahead: bool = True,
) -> Dump:
    """Run `requests` in order. A dump that times out or fails becomes a note, with the
    sockets read so far; a timeout ends the whole dump (no time is left for the rest).
    `read` takes each datagram as it arrives; the sockets of the chunks it returns are
    kept in the Dump (a streaming reader returns none and writes them itself). `ahead`:
    a reader thread receives the next datagram meanwhile (`_received`); without it each
    datagram is received in turn (less CPU, nothing overlaps)."""
    out = Dump()
    for request in requests:
        try:
            _dump_one(source, request, deadline, out, read, ahead)
        except NetlinkTimeout:
            out.notes.append(f"the {request.proto} dump did not finish in time: partial list")
            break
        except NetlinkIOError as exc:
            out.notes.append(f"the {request.proto} dump failed: {exc}")
    if out.interrupted:
        out.notes.append("sockets changed while the dump was read (NLM_F_DUMP_INTR)")
    return out


def dump_host(requests: Sequence[Request], host: Host, deadline: Budget) -> Dump:
    """`dump` through a sock_diag socket opened by `host`; raises NetlinkIOError when the
    socket cannot be opened."""
    with NetlinkDumpSource(host) as source:
        return dump(requests, source, deadline)


def _dump_one(
    source: DumpSource, request: Request, deadline: Budget, out: Dump, read: Reader, ahead: bool
) -> None:
    kind, flags, payload = dump_request(
        request.family, PROTOCOLS[request.proto], states=request.states, bytecode=request.bytecode
    )
    seq = source.send(kind, flags, payload)
    for datagram in (_received if ahead else _in_turn)(source, seq, deadline):
        chunk = read(request, datagram, seq)
        out.sockets += chunk.sockets
        out.interrupted |= chunk.interrupted
        if chunk.done:
            if chunk.error is not None:
                fam = _FAMILY_NAMES.get(request.family, "IPv6")
                out.notes.append(
                    f"the {request.proto} {fam} dump failed: {chunk.error.name}"
                    + (f" ({chunk.error.message})" if chunk.error.message else "")
                )
            return


BOTH_FAMILIES = "IPv4/IPv6"  # how a note names a dump of both (a `one_walk` request)
_FAMILY_NAMES: dict[int, str] = {socket.AF_INET: "IPv4", socket.AF_UNSPEC: BOTH_FAMILIES}


def _in_turn(source: DumpSource, seq: int | None, deadline: Budget) -> Iterator[bytes]:
    """The datagrams of one reply, each received when the caller asks for it."""
    while True:
        data = source.receive(deadline.remaining())
        yield data
        if ends_dump(data, seq):
            return


def _received(source: DumpSource, seq: int | None, deadline: Budget) -> Iterator[bytes]:
    """The datagrams of one reply. A helper thread receives the next datagram while the
    caller parses this one: the kernel builds each part of a dump inside recv(), so on a
    busy host the two overlap (recv releases the GIL). The thread stops at the end of the
    reply (`ends_dump`), on an error (handed over and raised here), or at the deadline."""
    # Bounded: a reader faster than the caller waits for room instead of holding the whole
    # dump. Two C-level SimpleQueues (the datagrams, and one token per free place) rather
    # than a queue.Queue, whose Python-level conditions cost 5-10% of a 200k-socket listing.
    box: queue.SimpleQueue[bytes | Exception] = queue.SimpleQueue()
    room: queue.SimpleQueue[None] = queue.SimpleQueue()
    for _ in range(_AHEAD):
        room.put(None)

    def reader() -> None:
        try:
            while True:
                room.get(timeout=max(deadline.remaining(), 0.0) + _GRACE)
                data = source.receive(deadline.remaining())
                box.put(data)
                if ends_dump(data, seq):
                    return
        except queue.Empty:
            return  # the caller gave up on this dump (timed out or raised)
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
        room.put(None)
        yield item
