"""ICMP echo probe: a few echoes, the best round trip, the reply TTL, or the ICMP error.

Tries an unprivileged ICMP datagram socket first (allowed when the sysctl
net.ipv4.ping_group_range covers our group), then a raw socket (CAP_NET_RAW). On a datagram
socket the kernel picks the echo identifier, filters replies for us and queues ICMP errors on
the error queue; a raw socket sees every ICMP packet of the namespace, so replies and errors
are matched strictly on our identifier, the target address and the quoted destination.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import select
import struct
import time

from netdx.budget import Deadline
from netdx.model.evidence import EchoStatus, Family, IcmpEcho, IcmpError
from netdx.model.record import record
from netdx.netlink import csocket as socket  # socket.py without its enums (csocket says why)
from netdx.netlink.errors import errno_name
from netdx.probes.recverr import (
    IP_RECVTTL,
    SOL_IP,
    SOL_IPV6,
    enable_recverr,
    icmp_kind,
    read_errqueue,
    to_icmp_error,
)
from netdx.probes.tcp import address_family, sockaddr

# No asyncio at import: the CLI's check echoes from a thread (`icmp_echo_sync`). mypy
# reads any name TYPE_CHECKING as typing's.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable, Generator
    from typing import Literal

    from netdx.drive import SyncSteering

    Method = Literal["dgram", "raw"]

_ECHO_REQUEST = {4: 8, 6: 128}
_ECHO_REPLY = {4: 0, 6: 129}
_ERROR_TYPES = {4: (3, 11), 6: (1, 2, 3)}
_PROTO = {4: socket.IPPROTO_ICMP, 6: socket.IPPROTO_ICMPV6}
_IP_TTL_CMSG = 2  # IP_TTL: the reply's TTL, with IP_RECVTTL set
_IPV6_HOPLIMIT_CMSG = 52
_PAYLOAD = b"netdx-echo-probe"
_RECV_SIZE = 1500
_CMSG_SPACE = 256


@record
class EchoPacket:
    """One received packet that concerns our echoes: a reply or an ICMP error."""

    seq: int
    error: IcmpError | None = None
    ttl: int | None = None


def inet_checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of `data`."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return int(~total & 0xFFFF)


def build_echo(family: Family, ident: int, seq: int) -> bytes:
    """An echo request; the v4 checksum is ours, the kernel fills in the ICMPv6 one."""
    body = struct.pack("!HH", ident, seq) + _PAYLOAD
    header = struct.pack("!BBH", _ECHO_REQUEST[family], 0, 0)
    if family == 6:
        return header + body
    csum = inet_checksum(header + body)
    return struct.pack("!BBH", _ECHO_REQUEST[family], 0, csum) + body


def reply_ttl(ancdata: list[tuple[int, int, bytes]]) -> int | None:
    """The TTL / hop limit carried by IP_RECVTTL / IPV6_RECVHOPLIMIT control messages."""
    for level, ctype, data in ancdata:
        wanted = (level, ctype) in ((SOL_IP, _IP_TTL_CMSG), (SOL_IPV6, _IPV6_HOPLIMIT_CMSG))
        if wanted and len(data) >= 4:
            return int(struct.unpack_from("=i", data)[0])
    return None


def parse_dgram_reply(family: Family, data: bytes) -> int | None:
    """The sequence number of an echo reply read from a datagram ICMP socket (no IP header;
    the kernel already matched the identifier), or None for anything else."""
    if len(data) < 8 or data[0] != _ECHO_REPLY[family]:
        return None
    return int(struct.unpack_from("!H", data, 6)[0])


def parse_raw_packet(
    family: Family, data: bytes, sender: str, target: str, ident: int
) -> EchoPacket | None:
    """Match one packet from a raw ICMP socket to our echoes.

    `data` starts with the IPv4 header for v4 and with the ICMPv6 header for v6 (that is
    what the kernel hands a raw socket). A reply must come from `target` with our identifier;
    an error must quote an echo of ours to `target`. Anything else is None.
    """
    ttl: int | None = None
    icmp = data
    if family == 4:
        if len(data) < 20:
            return None
        ttl = data[8]
        icmp = data[(data[0] & 0x0F) * 4 :]
    if len(icmp) < 8:
        return None
    icmp_type, icmp_code = icmp[0], icmp[1]
    if icmp_type == _ECHO_REPLY[family]:
        rid, seq = struct.unpack_from("!HH", icmp, 4)
        matches = rid == ident and _same(sender, target)
        return EchoPacket(seq=seq, ttl=ttl) if matches else None
    if icmp_type not in _ERROR_TYPES[family]:
        return None
    seq_quoted = _quoted_echo_seq(family, icmp[8:], target, ident)
    if seq_quoted is None:
        return None
    error = IcmpError(
        family=family,
        icmp_type=icmp_type,
        icmp_code=icmp_code,
        kind=icmp_kind(family, icmp_type, icmp_code),
        sender=sender,
    )
    return EchoPacket(seq=seq_quoted, error=error, ttl=ttl)


def _quoted_echo_seq(family: Family, quoted: bytes, target: str, ident: int) -> int | None:
    """The seq of our echo request quoted in an ICMP error, or None when it is not ours."""
    if family == 4:
        if len(quoted) < 20 or quoted[9] != socket.IPPROTO_ICMP:
            return None
        destination = str(ipaddress.IPv4Address(quoted[16:20]))
        inner = quoted[(quoted[0] & 0x0F) * 4 :]
    else:
        if len(quoted) < 40 or quoted[6] != socket.IPPROTO_ICMPV6:
            return None  # extension headers before ICMPv6 are not followed: not our echo
        destination = str(ipaddress.IPv6Address(quoted[24:40]))
        inner = quoted[40:]
    if len(inner) < 8 or inner[0] != _ECHO_REQUEST[family] or not _same(destination, target):
        return None
    qid, seq = struct.unpack_from("!HH", inner, 4)
    return int(seq) if qid == ident else None


def errqueue_echo_seq(family: Family, payload: bytes) -> int | None:
    """The seq of the echo request an error-queue entry hands back (our packet as sent)."""
    if len(payload) < 8 or payload[0] != _ECHO_REQUEST[family]:
        return None
    return int(struct.unpack_from("!H", payload, 6)[0])


def _same(a: str, b: str) -> bool:
    # Without the scope: a raw socket names a link-local sender with or without its
    # interface (fe80::1 / fe80::1%eth0), and the echo was sent out of that interface.
    return ipaddress.ip_address(a.partition("%")[0]) == ipaddress.ip_address(b.partition("%")[0])


def _open_dgram(family: Family) -> socket.socket:
    af = socket.AF_INET6 if family == 6 else socket.AF_INET
    sock = socket.socket(af, socket.SOCK_DGRAM, _PROTO[family])
    enable_recverr(sock, family)  # a datagram ICMP socket gets errors only this way
    return sock


def _open_raw(family: Family) -> socket.socket:
    af = socket.AF_INET6 if family == 6 else socket.AF_INET
    return socket.socket(af, socket.SOCK_RAW, _PROTO[family])


def open_echo_socket(family: Family) -> tuple[socket.socket, Method] | str:
    """A datagram ICMP socket, else a raw one; or the reason neither could be opened."""
    method: Method = "dgram"
    try:
        sock = _open_dgram(family)
    except OSError:
        method = "raw"
        try:
            sock = _open_raw(family)
        except PermissionError:
            gid = os.getgid()
            return (
                "ICMP echo needs root/CAP_NET_RAW, or sysctl net.ipv4.ping_group_range "
                f"to include gid {gid}"
            )
    try:
        from netdx.probes.bind import bind_socket

        bind_socket(sock)  # --source / --interface, when given
    except OSError as exc:
        sock.close()
        return f"cannot bind the echo socket: {exc.strerror}"
    sock.setblocking(False)
    if family == 6:
        sock.setsockopt(SOL_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
    else:
        sock.setsockopt(SOL_IP, IP_RECVTTL, 1)
    return sock, method


class _EchoState:
    """What the echoes have produced so far (mutated only by the reader). A plain class: a
    dataclass would cost the check path `dataclasses`."""

    __slots__ = ("ended", "errors", "family", "ident", "method", "rtts", "sent_at", "settle",
                 "target", "ttl", "wake")

    def __init__(self, *, family: Family, target: str, ident: int, method: Method) -> None:
        self.family, self.target, self.ident, self.method = family, target, ident, method
        self.sent_at: dict[int, float] = {}
        self.rtts: dict[int, float] = {}
        self.errors: dict[int, IcmpError] = {}
        self.ttl: int | None = None
        self.settle = False  # told to end at the first answer
        self.ended = False  # told to end now (the driver gave up on the echo)
        self.wake: Callable[[], None] | None = None  # wakes the waiting coroutine

    def record(self, packet: EchoPacket, at: float) -> None:
        sent = self.sent_at.get(packet.seq)
        if sent is None:
            return  # not one we sent (yet): never count it
        if packet.error is not None:
            self.errors.setdefault(packet.seq, packet.error)
        elif packet.seq not in self.rtts:
            self.rtts[packet.seq] = (at - sent) * 1000.0
            if packet.ttl is not None:
                self.ttl = packet.ttl
        if self.wake is not None:
            self.wake()

    def settled(self, count: int) -> bool:
        """All echoes answered, or an ICMP error with no reply at all (decisive already), or
        any answer once told to settle (or told to end)."""
        if self.ended or len(self.rtts) + len(self.errors) >= count:
            return True
        if self.settle and (self.rtts or self.errors):
            return True
        return bool(self.errors) and not self.rtts


def _on_readable(sock: socket.socket, state: _EchoState) -> None:
    """Drain every queued packet and error-queue entry into `state`."""
    while True:
        try:
            data, anc, _flags, addr = sock.recvmsg(_RECV_SIZE, _CMSG_SPACE)
        except (BlockingIOError, InterruptedError):
            break
        except OSError:
            # A datagram socket reports a queued ICMP error as the recv errno; the details
            # (type, code, sender) are on the error queue, read below.
            break
        now = time.monotonic()
        packet = _parse_packet(state, data, str(addr[0]), anc)
        if packet is not None:
            state.record(packet, now)
    if state.method == "dgram":
        for entry in read_errqueue(sock):
            error = to_icmp_error(entry)
            seq = errqueue_echo_seq(state.family, entry.payload)
            if error is not None and seq is not None:
                state.record(EchoPacket(seq=seq, error=error), time.monotonic())


def _parse_packet(
    state: _EchoState, data: bytes, sender: str, anc: list[tuple[int, int, bytes]]
) -> EchoPacket | None:
    if state.method == "dgram":
        seq = parse_dgram_reply(state.family, data)
        return None if seq is None else EchoPacket(seq=seq, ttl=reply_ttl(anc))
    packet = parse_raw_packet(state.family, data, sender, state.target, state.ident)
    if packet is not None and packet.ttl is None:
        packet = EchoPacket(seq=packet.seq, error=packet.error, ttl=reply_ttl(anc))
    return packet


def _echo_steps(
    sock: socket.socket, state: _EchoState, deadline: Deadline, count: int, interval: float
) -> Generator[float, None, str | None]:
    """Send the echoes `interval` apart and wait for the answers, without the waiting: yields
    how long to wait next (until a packet wakes it); returns a local send error's errno
    name, if sending failed. Both waits (`icmp_echo`'s event, `icmp_echo_sync`'s poll) run
    these steps."""
    for seq in range(1, count + 1):
        if deadline.expired or state.settled(count):
            break
        state.sent_at[seq] = time.monotonic()
        try:
            # sockaddr keeps the scope of a link-local target (an IPv6 gateway, fe80::1%eth0).
            sock.sendto(build_echo(state.family, state.ident, seq), sockaddr(state.target, 0))
        except BlockingIOError:
            continue  # send buffer full: that echo is lost, like on the wire
        except OSError as exc:
            del state.sent_at[seq]
            return errno_name(exc.errno or errno.EIO)
        if seq < count:
            step_end = time.monotonic() + interval
            while not state.settled(count) and time.monotonic() < step_end:
                if deadline.expired:
                    break
                yield min(step_end - time.monotonic(), deadline.remaining())
    while not state.settled(count) and not deadline.expired:
        yield deadline.remaining()
    return None


def _ident() -> int:
    """A random 16-bit echo identifier, from os.urandom: `random` (~0.5 ms to import, with
    its hashing and bisect) is needed nowhere else on a check's path."""
    return int.from_bytes(os.urandom(2), "big")


def _open_state(address: str) -> tuple[socket.socket, _EchoState] | IcmpEcho:
    """The echo socket and a fresh state, or the "unknown" evidence when none can be opened."""
    family = address_family(address)
    opened = open_echo_socket(family)
    if isinstance(opened, str):
        return IcmpEcho(address=address, status="unknown", reason=opened)
    sock, method = opened
    state = _EchoState(family=family, target=address, ident=_ident(), method=method)
    return sock, state


async def icmp_echo(
    address: str,
    *,
    deadline: Deadline,
    count: int = 3,
    interval: float = 0.05,
    settle: asyncio.Future[None] | None = None,
) -> IcmpEcho:
    """Send `count` ICMP echoes to `address` and report replies, RTT, reply TTL or the ICMP
    error. Returns as soon as every echo is answered, or at `deadline`; once `settle` is done,
    as soon as any echo is answered (no more are sent). Never raises for a network outcome.
    Status "unknown" (with `reason`) when no ICMP socket is permitted.
    """
    import asyncio

    opened = _open_state(address)
    if isinstance(opened, IcmpEcho):
        return opened
    sock, state = opened
    event = asyncio.Event()
    state.wake = event.set
    loop = asyncio.get_running_loop()
    if settle is not None:
        settle.add_done_callback(lambda _: _settle(state))
    with contextlib.closing(sock):
        loop.add_reader(sock.fileno(), _on_readable, sock, state)
        steps = _echo_steps(sock, state, deadline, count, interval)
        try:
            while True:
                seconds = next(steps)
                if seconds > 0:
                    event.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(event.wait(), timeout=seconds)
        except StopIteration as end:
            local_error = end.value
        finally:
            loop.remove_reader(sock.fileno())
    return _echo_result(address, state, local_error)


def icmp_echo_sync(
    address: str,
    *,
    deadline: Deadline,
    count: int = 3,
    interval: float = 0.05,
    steer: SyncSteering | None = None,
) -> IcmpEcho:
    """`icmp_echo` in the calling thread: the same echoes and rules; one poll waits for the
    socket and the steering's eventfd (its stop is the settle, its cancel ends the echo)."""
    opened = _open_state(address)
    if isinstance(opened, IcmpEcho):
        return opened
    sock, state = opened
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    if steer is not None:
        poller.register(steer.fileno(), select.POLLIN)
    fd = sock.fileno()
    with contextlib.closing(sock):
        steps = _echo_steps(sock, state, deadline, count, interval)
        try:
            while True:
                _heard(state, steer)
                seconds = next(steps)
                if seconds > 0 and any(f == fd for f, _ in poller.poll(seconds * 1000.0)):
                    _on_readable(sock, state)
        except StopIteration as end:
            local_error = end.value
    return _echo_result(address, state, local_error)


def _heard(state: _EchoState, steer: SyncSteering | None) -> None:
    """Take the driver's word into the state: a stop settles the echo, a cancel ends it."""
    if steer is None:
        return
    steer.drain()
    state.settle = state.settle or steer.stopped
    state.ended = steer.cancelled


def _settle(state: _EchoState) -> None:
    state.settle = True
    if state.wake is not None:
        state.wake()  # wake the wait between echoes


def _echo_result(address: str, state: _EchoState, local_error: str | None) -> IcmpEcho:
    received = len(state.rtts)
    error = next(iter(state.errors.values()), None)
    reason = f"sending the echo failed: {local_error}" if local_error else None
    status: EchoStatus = "timeout"
    if received:
        status = "reply"
    elif error is not None:
        status = "icmp_error"
    elif local_error is not None:
        status = "unknown"
    return IcmpEcho(
        address=address,
        status=status,
        sent=len(state.sent_at),
        received=received,
        rtt_ms=round(min(state.rtts.values()), 3) if received else None,
        reply_ttl=state.ttl if received else None,
        method=state.method,
        error=None if received else error,
        reason=None if received or error else reason,
    )
