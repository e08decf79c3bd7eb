"""`inspect --port N` for UDP: the sockets bound to the port, their receive-buffer drops and
the host's UdpRcvbufErrors.

UDP has no LISTEN state, so the TCP reading of `inspect` ("nothing listens") is wrong for a
port a UDP service has bound. This module reads the port's UDP sockets with one sock_diag
dump per family that asks for INET_DIAG_SKMEMINFO (the socket's `sk_drops` is its ninth
u32, SK_MEMINFO_DROPS), and /proc/net/snmp(6) for the host-wide `UdpRcvbufErrors`; then
`judge_udp` (pure) folds them into the TCP verdict: a port with UDP sockets and no TCP
listener is bound (not refused), and drops are a warning with the fix.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from netdx.budget import Deadline
from netdx.model import Finding, Verdict
from netdx.model.record import record
from netdx.model.server import Process, Socket
from netdx.netlink.attrs import encode_attr
from netdx.netlink.diag import (
    INET_DIAG,
    INET_DIAG_MSG,
    INET_DIAG_REQ_BYTECODE,
    INET_DIAG_REQ_V2,
    SOCK_DIAG_BY_FAMILY,
    InetDiagReqV2,
    parse_socket,
    port_filter,
)
from netdx.netlink.wire import NLM_F_DUMP, NLM_F_REQUEST, NlMsg, unpack_message

__all__ = [
    "UdpPort",
    "UdpSocket",
    "drop_notes",
    "judge_udp",
    "parse_udp_reply",
    "rcvbuf_errors",
    "read_udp_port",
    "udp_port_request",
]

_SKMEMINFO_EXT = 1 << (7 - 1)  # idiag_ext bit of INET_DIAG_SKMEMINFO (attribute 7)
_SK_MEMINFO_DROPS = 8  # index of sk_drops in the u32 array (linux/sock_diag.h)
UDP_DROPS_CAUSE = "app.udp_rcvbuf_drops"


@record
class UdpSocket:
    """One UDP socket on the port, its owner (None: unknown) and its drop counter (None: the
    kernel did not report SK_MEMINFO)."""

    socket: Socket
    owner: Process | None = None
    fd: int = 0  # the owner's descriptor of it
    drops: int | None = None


@record
class UdpPort:
    """The UDP side of one port: its sockets and the host's UdpRcvbufErrors (IPv4 + IPv6;
    None when /proc/net/snmp could not be read)."""

    port: int
    sockets: tuple[UdpSocket, ...] = ()
    rcvbuf_errors: int | None = None


def udp_port_request(family: int, port: int) -> tuple[int, int, bytes]:
    """(type, flags, payload) of a UDP dump of `family` for sockets bound to `port`, with
    SKMEMINFO asked for (`ss -uam sport = :PORT`)."""
    head = INET_DIAG_REQ_V2.pack(
        InetDiagReqV2(family=family, protocol=socket.IPPROTO_UDP, ext=_SKMEMINFO_EXT)
    )
    body = head + encode_attr(INET_DIAG_REQ_BYTECODE, port_filter((port,), remote=False))
    return SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, body


def parse_udp_reply(messages: Sequence[NlMsg]) -> list[tuple[Socket, int | None]]:
    """The sockets of a `udp_port_request` reply, each with its sk_drops (pure)."""
    out: list[tuple[Socket, int | None]] = []
    for msg in messages:
        if msg.type != SOCK_DIAG_BY_FAMILY:
            continue
        found = parse_socket(msg, "udp")
        _, attrs = unpack_message(msg, SOCK_DIAG_BY_FAMILY, "SOCK_DIAG_BY_FAMILY",
                                  INET_DIAG_MSG, INET_DIAG)  # fmt: skip
        meminfo = attrs.get("INET_DIAG_SKMEMINFO")
        drops = None
        if isinstance(meminfo, bytes) and len(meminfo) >= 4 * (_SK_MEMINFO_DROPS + 1):
            drops = struct.unpack_from("=I", meminfo, 4 * _SK_MEMINFO_DROPS)[0]
        out.append((found, drops))
    return out


def rcvbuf_errors(proc: str = "/proc") -> int | None:
    """UdpRcvbufErrors of /proc/net/snmp plus Udp6RcvbufErrors of /proc/net/snmp6: datagrams
    the host dropped because a socket's receive buffer was full."""
    total: int | None = None
    try:
        lines = [ln.split() for ln in Path(proc, "net/snmp").read_text().splitlines()]
    except OSError:
        return None
    heads = [ln for ln in lines if ln and ln[0] == "Udp:"]
    if len(heads) == 2 and "RcvbufErrors" in heads[0]:
        total = int(heads[1][heads[0].index("RcvbufErrors")])
    try:
        for line in Path(proc, "net/snmp6").read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == "Udp6RcvbufErrors":
                total = (total or 0) + int(value.strip())
    except OSError:
        pass
    return total


def read_udp_port(
    port: int, *, deadline: Deadline, proc: str = "/proc", owners: bool = True
) -> UdpPort:
    """The UDP sockets bound to `port` in this namespace, their owners (unless `owners` is
    false: `who` walks /proc itself) and drops."""
    from netdx.netlink import NETLINK_SOCK_DIAG, NetlinkSocket
    from netdx.sockets.owners import find_owners

    found: list[tuple[Socket, int | None]] = []
    with NetlinkSocket(NETLINK_SOCK_DIAG, ack_options=False) as nl:
        for family in (socket.AF_INET, socket.AF_INET6):
            reply = nl.request(*udp_port_request(family, port), timeout=deadline.remaining())
            found += [(s, d) for s, d in parse_udp_reply(reply.messages) if s.sport == port]
    inodes = [s.inode for s, _ in found] if owners else []
    scan = find_owners(inodes, deadline=deadline.share(0.8), proc=proc)
    held: Mapping[int, tuple[Process, int]] = {
        inode: (scan.processes[pid], fd) for inode, (pid, fd) in scan.holders.items()
        if pid in scan.processes
    }  # fmt: skip
    sockets = tuple(
        UdpSocket(socket=s, owner=held[s.inode][0], fd=held[s.inode][1], drops=d)
        if s.inode in held else UdpSocket(socket=s, drops=d)
        for s, d in found
    )  # fmt: skip
    return UdpPort(port=port, sockets=sockets, rcvbuf_errors=rcvbuf_errors(proc))


def drop_notes(udp: UdpPort) -> list[str]:
    """The drops of the port's UDP sockets and the host's UdpRcvbufErrors, one sentence each,
    only those that are non-zero (pure; `who` prints them as notes)."""
    out = [
        f"udp {s.socket.local}: {s.drops} datagrams dropped, receive buffer full (sk_drops)"
        for s in udp.sockets
        if s.drops
    ]
    if udp.sockets and udp.rcvbuf_errors:
        out.append(f"UdpRcvbufErrors {udp.rcvbuf_errors} on this host (/proc/net/snmp)")
    return out


def _socket_text(sock: UdpSocket) -> str:
    from netdx.diagnose.server import who

    peer = f" connected to {sock.socket.remote}" if sock.socket.dport else ""
    drops = f", {sock.drops} dropped (receive buffer full)" if sock.drops else ""
    return f"UDP {sock.socket.local}{peer} bound by {who(sock.owner, sock.socket)}{drops}"


def judge_udp(udp: UdpPort, verdict: Verdict, *, tcp_listeners: int) -> Verdict:
    """Fold the UDP side into the TCP verdict (pure). Bound UDP sockets and no TCP listener:
    the port is in use over UDP (ok), not "nothing listens". Drops on a socket, or the host's
    UdpRcvbufErrors, while UDP sockets are there: a warning naming the counter and the fix."""
    if not udp.sockets:
        return verdict
    lines = tuple(_socket_text(s) for s in udp.sockets)
    if tcp_listeners == 0 and verdict.cause == "port.refused":
        first = udp.sockets[0]
        verdict = Verdict(
            cause="ok",
            summary=(f"UDP port {udp.port} is bound ({first.socket.local}, "
                     f"{_owner_short(first)}); no TCP listener"),
            evidence=lines,
        )  # fmt: skip
    else:
        verdict = replace(verdict, evidence=(*verdict.evidence, *lines))
    dropped = sum(s.drops or 0 for s in udp.sockets)
    if dropped or udp.rcvbuf_errors:
        evidence = [f"{dropped} datagrams dropped by the port's sockets (sock_diag sk_drops)"]
        if udp.rcvbuf_errors:
            evidence.append(f"UdpRcvbufErrors {udp.rcvbuf_errors} on this host (/proc/net/snmp)")
        warning = Finding(
            cause=UDP_DROPS_CAUSE,
            severity="warn",
            step="port",
            summary=(f"UDP datagrams to port {udp.port} are dropped: the receive buffer fills "
                     "faster than the service reads" if dropped else
                     "this host drops UDP datagrams for full receive buffers (not on this "
                     "port's sockets)"),
            evidence=tuple(evidence),
            fix=("raise the service's SO_RCVBUF (and net.core.rmem_max), or read faster",
                 f"watch it: ss -uamn 'sport = :{udp.port}' (the d<N> of skmem)"),
        )  # fmt: skip
        verdict = replace(verdict, warnings=(*verdict.warnings, warning))
    return verdict


def _owner_short(sock: UdpSocket) -> str:
    owner = sock.owner
    return f"{owner.command} pid {owner.pid}" if owner is not None else "owner unknown"
