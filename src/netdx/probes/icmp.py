"""ICMP echo probe: a few echoes, the best round trip, the reply TTL, or the ICMP error.

Tries an unprivileged ICMP datagram socket first (allowed when the sysctl
net.ipv4.ping_group_range covers our group), then a raw socket (CAP_NET_RAW). On a datagram
socket the kernel picks the echo identifier, filters replies for us and queues ICMP errors on
the error queue; a raw socket sees every ICMP packet of the namespace, so replies and errors
are matched strictly on our identifier, the target address and the quoted destination.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import os
import random
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Literal

from netdx.budget import Deadline
from netdx.model.evidence import EchoStatus, Family, IcmpEcho, IcmpError
from netdx.model.record import record
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


@dataclass(slots=True)
class _EchoState:
    """What the echoes have produced so far (mutated only by the reader callback)."""

    family: Family
    target: str
    ident: int
    method: Method
    sent_at: dict[int, float] = field(default_factory=dict)
    rtts: dict[int, float] = field(default_factory=dict)
    errors: dict[int, IcmpError] = field(default_factory=dict)
    ttl: int | None = None
    settle: bool = False  # told to end at the first answer
    event: asyncio.Event = field(default_factory=asyncio.Event)

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
        self.event.set()

    def settled(self, count: int) -> bool:
        """All echoes answered, or an ICMP error with no reply at all (decisive already), or
        any answer once told to settle."""
        if len(self.rtts) + len(self.errors) >= count:
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


async def _wait(state: _EchoState, seconds: float) -> None:
    """Sleep up to `seconds`, waking early when a packet arrives."""
    if seconds <= 0:
        return
    state.event.clear()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(state.event.wait(), timeout=seconds)


async def _run_echoes(
    sock: socket.socket, state: _EchoState, deadline: Deadline, count: int, interval: float
) -> str | None:
    """Send the echoes `interval` apart and wait for the answers; a local send error's
    errno name, if sending failed."""
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
                await _wait(state, min(step_end - time.monotonic(), deadline.remaining()))
    while not state.settled(count) and not deadline.expired:
        await _wait(state, deadline.remaining())
    return None


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
    family = address_family(address)
    opened = open_echo_socket(family)
    if isinstance(opened, str):
        return IcmpEcho(address=address, status="unknown", reason=opened)
    sock, method = opened
    state = _EchoState(family=family, target=address, ident=random.getrandbits(16), method=method)
    loop = asyncio.get_running_loop()
    if settle is not None:
        settle.add_done_callback(lambda _: _settle(state))
    with contextlib.closing(sock):
        loop.add_reader(sock.fileno(), _on_readable, sock, state)
        try:
            local_error = await _run_echoes(sock, state, deadline, count, interval)
        finally:
            loop.remove_reader(sock.fileno())
    return _echo_result(address, state, local_error)


def _settle(state: _EchoState) -> None:
    state.settle = True
    state.event.set()  # wake the wait between echoes


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
