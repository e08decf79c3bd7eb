"""IP_RECVERR plumbing shared by the socket probes: constants, the error-queue reader, the
`struct sock_extended_err` parser and ICMP type/code names.

With IP_RECVERR (IPV6_RECVERR) set, Linux queues every ICMP error that comes back for a
socket's packets on the socket's error queue, with the ICMP type, code and the address of the
host or router that sent it. `recvmsg(MSG_ERRQUEUE)` reads one entry: the offending packet as
data, and one control message holding

    struct sock_extended_err {
        u32 ee_errno; u8 ee_origin; u8 ee_type; u8 ee_code; u8 ee_pad; u32 ee_info; u32 ee_data;
    };

followed by the sender's `sockaddr_in` / `sockaddr_in6` (SO_EE_OFFENDER). Everything here is
pure except `enable_recverr` and `read_errqueue`.
"""

from __future__ import annotations

import ipaddress
import struct

from netdx.model.evidence import Family, IcmpError
from netdx.model.record import record, replace
from netdx.netlink import csocket as socket  # socket.py without its enums (csocket says why)
from netdx.netlink.errors import errno_name

# Python's socket module lacks these (values from linux/in.h, linux/in6.h, linux/errqueue.h).
IP_RECVERR = 11
IP_RECVTTL = 12
IPV6_RECVERR = 25
SOL_IP = 0
SOL_IPV6 = 41
MSG_ERRQUEUE = 0x2000
SO_EE_ORIGIN_NONE = 0
SO_EE_ORIGIN_LOCAL = 1
SO_EE_ORIGIN_ICMP = 2
SO_EE_ORIGIN_ICMP6 = 3

_EE = struct.Struct("=IBBBBII")  # struct sock_extended_err, host byte order
_ERRQUEUE_PAYLOAD = 64  # enough of the offending packet for its headers
_ERRQUEUE_CMSG_SPACE = 512  # one sock_extended_err + sockaddr_in6, with room to spare
_ERRQUEUE_MAX_ENTRIES = 64  # a drain bound; one probe socket never queues that many

_ICMP4_UNREACH: dict[int, str] = {
    0: "net-unreachable",
    1: "host-unreachable",
    2: "protocol-unreachable",
    3: "port-unreachable",
    4: "frag-needed",
    6: "net-unreachable",  # destination network unknown
    7: "host-unreachable",  # destination host unknown
    9: "net-prohibited",
    10: "host-prohibited",
    11: "net-unreachable",  # for this TOS
    12: "host-unreachable",  # for this TOS
    13: "admin-prohibited",
    15: "admin-prohibited",  # precedence cutoff: a policy drop as well
}
_ICMP6_UNREACH: dict[int, str] = {
    0: "no-route",
    1: "admin-prohibited",
    3: "addr-unreachable",
    4: "port-unreachable",
    5: "admin-prohibited",  # source address failed ingress/egress policy
    6: "admin-prohibited",  # reject route to destination
}


@record
class ExtendedErr:
    """One decoded `sock_extended_err` with its offender address (None when absent)."""

    errno: int
    origin: int
    icmp_type: int
    icmp_code: int
    info: int
    data: int
    offender: str | None
    payload: bytes = b""  # the start of the packet the error is about, as we sent it

    @property
    def is_icmp(self) -> bool:
        """True when the entry came from an ICMP or ICMPv6 message (not a local error)."""
        return self.origin in (SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6)

    @property
    def family(self) -> Family:
        """The ICMP family of the entry: 6 for ICMPv6, else 4."""
        return 6 if self.origin == SO_EE_ORIGIN_ICMP6 else 4


def icmp_kind(family: Family, icmp_type: int, icmp_code: int) -> str:
    """Stable name of an ICMP error (see `IcmpError.kind`); "other" for anything unlisted."""
    if family == 4:
        if icmp_type == 3:
            return _ICMP4_UNREACH.get(icmp_code, "other")
        return "time-exceeded" if icmp_type == 11 else "other"
    if icmp_type == 1:
        return _ICMP6_UNREACH.get(icmp_code, "other")
    if icmp_type == 2:
        return "frag-needed"  # packet too big: the v6 form of fragmentation needed
    return "time-exceeded" if icmp_type == 3 else "other"


def parse_offender(raw: bytes) -> str | None:
    """The address in a `sockaddr_in`/`sockaddr_in6` (AF_UNSPEC or short → None)."""
    if len(raw) < 2:
        return None
    (family,) = struct.unpack_from("=H", raw)
    if family == socket.AF_INET and len(raw) >= 8:
        return str(ipaddress.IPv4Address(raw[4:8]))
    if family == socket.AF_INET6 and len(raw) >= 24:
        address = ipaddress.IPv6Address(raw[8:24])
        # A v4 error reported on a dual-stack socket comes as ::ffff:a.b.c.d.
        mapped = address.ipv4_mapped
        return str(mapped) if mapped is not None else str(address)
    return None


def parse_extended_err(data: bytes) -> ExtendedErr:
    """Decode the IP_RECVERR/IPV6_RECVERR control message payload.

    Raises ValueError when the payload is shorter than `struct sock_extended_err` (a bug:
    the kernel never sends that).
    """
    if len(data) < _EE.size:
        raise ValueError(f"sock_extended_err needs {_EE.size} bytes, got {len(data)}")
    ee_errno, origin, icmp_type, icmp_code, _pad, info, ee_data = _EE.unpack_from(data)
    return ExtendedErr(
        errno=ee_errno,
        origin=origin,
        icmp_type=icmp_type,
        icmp_code=icmp_code,
        info=info,
        data=ee_data,
        offender=parse_offender(data[_EE.size :]),
    )


def extended_err_from_cmsgs(ancdata: list[tuple[int, int, bytes]]) -> ExtendedErr | None:
    """The first extended error among the control messages of one errqueue recvmsg()."""
    for level, ctype, data in ancdata:
        if (level, ctype) in ((SOL_IP, IP_RECVERR), (SOL_IPV6, IPV6_RECVERR)):
            return parse_extended_err(data)
    return None


def to_icmp_error(err: ExtendedErr) -> IcmpError | None:
    """The model's IcmpError for an ICMP-origin entry; None for local/other origins."""
    if not err.is_icmp:
        return None
    family = err.family
    return IcmpError(
        family=family,
        icmp_type=err.icmp_type,
        icmp_code=err.icmp_code,
        kind=icmp_kind(family, err.icmp_type, err.icmp_code),
        sender=err.offender,
        errno=errno_name(err.errno) if err.errno else None,
    )


def enable_recverr(sock: socket.socket, family: Family) -> None:
    """Ask the kernel to queue ICMP errors (with sender) for this socket's packets."""
    if family == 6:
        sock.setsockopt(SOL_IPV6, IPV6_RECVERR, 1)
    else:
        sock.setsockopt(SOL_IP, IP_RECVERR, 1)


def read_errqueue(sock: socket.socket) -> tuple[ExtendedErr, ...]:
    """Drain the socket's error queue without blocking; oldest entry first."""
    entries: list[ExtendedErr] = []
    for _ in range(_ERRQUEUE_MAX_ENTRIES):
        try:
            data, ancdata, _flags, _addr = sock.recvmsg(
                _ERRQUEUE_PAYLOAD, _ERRQUEUE_CMSG_SPACE, MSG_ERRQUEUE | socket.MSG_DONTWAIT
            )
        except (BlockingIOError, InterruptedError):
            break
        entry = extended_err_from_cmsgs(ancdata)
        if entry is not None:
            entries.append(replace(entry, payload=data))
    return tuple(entries)


def first_icmp(entries: tuple[ExtendedErr, ...]) -> ExtendedErr | None:
    """The first ICMP-origin entry, if any."""
    return next((e for e in entries if e.is_icmp), None)
