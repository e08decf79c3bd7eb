"""`inspect --port N` for UDP: the sockets bound to the port, their receive-buffer drops and
the host's UdpRcvbufErrors.

UDP has no LISTEN state, so the TCP reading of `inspect` ("nothing listens") is wrong for a
port a UDP service has bound. This module reads the port's UDP sockets with one sock_diag
dump per family that asks for INET_DIAG_SKMEMINFO (the socket's `sk_drops` is its ninth
u32, SK_MEMINFO_DROPS), and /proc/net/snmp(6) through the Host seam for the host-wide
`UdpRcvbufErrors`. Records, never judges: the rules of `diagnose.server_udp` judge the
`UdpPort` (a port with UDP sockets and no TCP listener is bound, not refused; drops are a
warning with the fix).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Mapping, Sequence

from netdx.budget import Deadline
from netdx.model.server import Process, Socket, UdpPort, UdpSocket
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
from netdx.netlink.sock import request
from netdx.netlink.wire import NLM_F_DUMP, NLM_F_REQUEST, NlMsg, unpack_message

TYPE_CHECKING = False
if TYPE_CHECKING:
    from netdx.collect.system import Host
    from netdx.netlink.sock import Transport as DumpSource  # collect.sockdiag's DumpSource

__all__ = [
    "UdpPort",
    "UdpSocket",
    "drop_notes",
    "parse_udp_reply",
    "rcvbuf_errors",
    "read_udp_port",
    "udp_port_request",
    "udp_port_sockets",
]

_SKMEMINFO_EXT = 1 << (7 - 1)  # idiag_ext bit of INET_DIAG_SKMEMINFO (attribute 7)
_SK_MEMINFO_DROPS = 8  # index of sk_drops in the u32 array (linux/sock_diag.h)


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


def rcvbuf_errors(host: Host | None = None) -> int | None:
    """UdpRcvbufErrors of /proc/net/snmp plus Udp6RcvbufErrors of /proc/net/snmp6 (read
    through `host`, this one by default): datagrams the host dropped because a socket's
    receive buffer was full. None when snmp cannot be read or names neither counter."""
    from netdx.collect.system import LocalHost
    from netdx.probes.server import nstat_counters

    reader = host or LocalHost()
    try:
        snmp = reader.read_text("/proc/net/snmp")
    except OSError:
        return None
    try:
        snmp6 = reader.read_text("/proc/net/snmp6")
    except OSError:
        snmp6 = ""
    counters = nstat_counters(snmp, snmp6)
    v4, v6 = counters.get("UdpRcvbufErrors"), counters.get("Udp6RcvbufErrors")
    return None if v4 is None and v6 is None else (v4 or 0) + (v6 or 0)


def read_udp_port(
    port: int,
    *,
    deadline: Deadline,
    proc: str = "/proc",
    owners: bool = True,
    host: Host | None = None,
    source: DumpSource | None = None,
) -> UdpPort:
    """The UDP sockets bound to `port`, their owners (unless `owners` is false: `who` walks
    /proc itself) and drops, and the host's counters. The dump comes from `source` (the
    netlink seam the TCP dump uses; tests replay a captured one) or else from a sock_diag
    socket `host` opens (this host by default; a NetnsHost's is in its namespace), as the
    counters are read through `host`. Raises NetlinkError when the socket cannot be opened."""
    from netdx.sockets.owners import find_owners

    if source is not None:
        found = udp_port_sockets(port, source, deadline)
    else:
        from netdx.collect.sockdiag import NetlinkDumpSource
        from netdx.collect.system import LocalHost

        with NetlinkDumpSource(host or LocalHost()) as own:
            found = udp_port_sockets(port, own, deadline)
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
    return UdpPort(port=port, sockets=sockets, rcvbuf_errors=rcvbuf_errors(host))


def udp_port_sockets(
    port: int, source: DumpSource, deadline: Deadline
) -> list[tuple[Socket, int | None]]:
    """The UDP sockets bound to `port` (IPv4, then IPv6), each with its sk_drops: one
    `udp_port_request` dump per family through `source`."""
    found: list[tuple[Socket, int | None]] = []
    for family in (socket.AF_INET, socket.AF_INET6):
        reply = request(source, *udp_port_request(family, port), timeout=deadline.remaining())
        found += [(s, d) for s, d in parse_udp_reply(reply.messages) if s.sport == port]
    return found


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
