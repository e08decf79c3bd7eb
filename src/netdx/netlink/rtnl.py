"""rtnetlink (NETLINK_ROUTE) routes and neighbours, declared as data.

`RTMSG`/`NDMSG` are the fixed headers, `RTA`/`NDA` the attribute tables (numbers from
linux/rtnetlink.h and linux/neighbour.h). Request builders return bytes; parsers turn one
RTM_NEWROUTE / RTM_NEWNEIGH message into a frozen `Route` / `Neighbour`, whose fields say
which attribute fills them (`attrs.attr`); the rest come from the header. No I/O here.
"""

from __future__ import annotations

import ipaddress
import struct

from . import csocket as socket  # socket.py without its enums (csocket says why)
from ._compat import value
from .attrs import (
    Attrs,
    AttrSpec,
    attr,
    be16,
    decode_record,
    encode_attr,
    ip_address,
    lladdr,
    member,
    nested,
    raw,
    s32,
    struct_format,
    struct_of,
    u8,
    u16,
    u32,
    u64,
)
from .errors import NetlinkParseError
from .wire import NLM_F_DUMP, NLM_F_REQUEST, NlMsg, unpack_message

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing.Unpack is 3.11+; the annotations are never evaluated
    from typing import TypedDict

    from typing_extensions import Unpack

RTM_NEWROUTE = 24
RTM_GETROUTE = 26
RTM_NEWNEIGH = 28
RTM_GETNEIGH = 30
RTM_F_LOOKUP_TABLE = 0x1000

# --- routes ---------------------------------------------------------------------------------


@value
class RtHead:
    """The first five members of struct rtmsg, which struct fib_rule_hdr repeats: the kernel
    lays a rule message out as a route message (`ip rule` and `ip route` share their code),
    so both headers are declared from this one."""

    family: int = member("B", required=True)
    dst_len: int = member("B")
    src_len: int = member("B")
    tos: int = member("B")
    table: int = member("B")


def table_id(head: RtHead, attrs: Attrs, name: str) -> int:
    """The table of a route or rule: the header holds 8 bits, so an id above 255 comes in the
    attribute `name` (RTA_TABLE / FRA_TABLE), which wins when present."""
    table = attrs.get_int(name)
    return head.table if table is None else table


@value
class RtMsg(RtHead):
    """struct rtmsg: the fixed header of a route message."""

    protocol: int = member("B")
    scope: int = member("B")
    type: int = member("B")
    flags: int = member("I")


RTMSG = struct_format("rtmsg", RtMsg)

# rtm_type values (enum in linux/rtnetlink.h), named as `ip route` prints them.
RTN_NAMES: dict[int, str] = {
    0: "unspec",
    1: "unicast",
    2: "local",
    3: "broadcast",
    4: "anycast",
    5: "multicast",
    6: "blackhole",
    7: "unreachable",
    8: "prohibit",
    9: "throw",
    10: "nat",
    11: "xresolve",
}
RT_TABLE_NAMES: dict[int, str] = {253: "default", 254: "main", 255: "local"}


def _via(data: bytes) -> str:
    # struct rtvia { __kernel_sa_family_t rtvia_family; __u8 rtvia_addr[]; }
    if len(data) < 2:
        raise NetlinkParseError(f"RTA_VIA of {len(data)} bytes")
    return ip_address(data[2:])


# struct rta_cacheinfo: clntref, lastuse, expires (s32), error, used, id, ts, tsage.
_CACHEINFO = struct_of("=IIiiIIII")

# RTA_METRICS nests these (linux/rtnetlink.h RTAX_*); only the MTU is read.
RTAX: dict[int, AttrSpec] = {2: AttrSpec("RTAX_MTU", u32), 4: AttrSpec("RTAX_ADVMSS", u32)}

RTA: dict[int, AttrSpec] = {
    1: AttrSpec("RTA_DST", ip_address),
    2: AttrSpec("RTA_SRC", ip_address),
    3: AttrSpec("RTA_IIF", u32),
    4: AttrSpec("RTA_OIF", u32),
    5: AttrSpec("RTA_GATEWAY", ip_address),
    6: AttrSpec("RTA_PRIORITY", u32),
    7: AttrSpec("RTA_PREFSRC", ip_address),
    8: AttrSpec("RTA_METRICS", nested(RTAX)),
    9: AttrSpec("RTA_MULTIPATH", raw),
    11: AttrSpec("RTA_FLOW", u32),
    12: AttrSpec("RTA_CACHEINFO", _CACHEINFO),
    15: AttrSpec("RTA_TABLE", u32),
    16: AttrSpec("RTA_MARK", u32),
    18: AttrSpec("RTA_VIA", _via),
    20: AttrSpec("RTA_PREF", u8),
    21: AttrSpec("RTA_ENCAP_TYPE", u16),
    22: AttrSpec("RTA_ENCAP", raw),
    23: AttrSpec("RTA_EXPIRES", u64),
    24: AttrSpec("RTA_PAD", raw),
    25: AttrSpec("RTA_UID", u32),
    26: AttrSpec("RTA_TTL_PROPAGATE", u8),
    27: AttrSpec("RTA_IP_PROTO", u8),
    28: AttrSpec("RTA_SPORT", be16),
    29: AttrSpec("RTA_DPORT", be16),
    30: AttrSpec("RTA_NH_ID", u32),
}
_RTA_NUMBER = {spec.name: number for number, spec in RTA.items()}
_CACHEINFO_ERROR = 3  # index of rta_error in the RTA_CACHEINFO tuple


@value
class Route:
    """One RTM_NEWROUTE message: the answer to a route get, or one entry of a dump.

    `error` is the positive errno carried in RTA_CACHEINFO (IPv6 reject routes), else 0.
    """

    family: int
    type: str
    table: int
    protocol: int
    scope: int
    flags: int
    dst: str | None = attr("RTA_DST")
    dst_len: int = 0
    oif: int | None = attr("RTA_OIF")
    prefsrc: str | None = attr("RTA_PREFSRC")
    gateway: str | None = attr("RTA_GATEWAY")
    via: str | None = attr("RTA_VIA")
    priority: int | None = attr("RTA_PRIORITY")
    error: int = 0
    iif: int | None = attr("RTA_IIF")
    src: str | None = attr("RTA_SRC")
    mtu: int | None = None  # RTAX_MTU of the route (a cached PMTU or `mtu` lock), if set

    @property
    def table_name(self) -> str:
        return RT_TABLE_NAMES.get(self.table, str(self.table))

    @property
    def next_hop(self) -> str | None:
        """The gateway (RTA_GATEWAY, else RTA_VIA); None for an on-link route."""
        return self.gateway or self.via


def parse_route(msg: NlMsg) -> Route:
    """Decode one RTM_NEWROUTE message."""
    head, attrs = unpack_message(msg, RTM_NEWROUTE, "RTM_NEWROUTE", RTMSG, RTA)
    return decode_record(
        Route,
        head,
        attrs,
        type=RTN_NAMES.get(head.type, str(head.type)),
        table=table_id(head, attrs, "RTA_TABLE"),
        error=_cache_error(attrs),
        mtu=_metric(attrs, "RTAX_MTU"),
    )


def route_dump_request(family: int) -> tuple[int, int, bytes]:
    """(type, flags, payload) of a dump of every route of one family (all tables)."""
    return RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, RTMSG.pack(RtMsg(family=family))


def _metric(attrs: Attrs, name: str) -> int | None:
    metrics = attrs.get_nested("RTA_METRICS")
    return metrics.get_int(name) if metrics is not None else None


def _cache_error(attrs: Attrs) -> int:
    info = attrs.get_tuple("RTA_CACHEINFO")
    return -info[_CACHEINFO_ERROR] if info and info[_CACHEINFO_ERROR] < 0 else 0


if TYPE_CHECKING:  # only annotations name it (typing's TypedDict costs a check 5-10 ms)

    class RouteSelectors(TypedDict, total=False):
        """What `ip route get ADDRESS` may add to the destination: `src` (from SRC, an
        address of the destination's family), `iif` / `oif` (an ifindex: the route of a
        packet arriving on DEV, or of a socket bound to DEV), `mark` (fwmark), and
        `lookup_table` (RTM_F_LOOKUP_TABLE: the answer's RTA_TABLE is then the table the
        route was found in; without it the kernel reports main even for a policy-routed
        answer)."""

        src: str | None
        iif: int | None
        oif: int | None
        mark: int | None
        lookup_table: bool


def route_get_request(address: str, **selectors: Unpack[RouteSelectors]) -> tuple[int, int, bytes]:
    """(type, flags, payload) of `ip route get ADDRESS [from SRC] [iif DEV] [oif DEV] [mark N]`:
    RTM_GETROUTE with RTA_DST, and RTA_SRC / RTA_IIF / RTA_OIF / RTA_MARK when given.

    Raises ValueError when `src` is not an address of the same family as `address`.
    """
    addr = ipaddress.ip_address(address)
    src = selectors.get("src")
    source = ipaddress.ip_address(src) if src is not None else None
    if source is not None and source.version != addr.version:
        raise ValueError(f"source {src} is not of the family of {address}")
    head = RTMSG.pack(
        RtMsg(
            family=_family(addr),
            dst_len=addr.max_prefixlen,
            src_len=source.max_prefixlen if source is not None else 0,
            flags=RTM_F_LOOKUP_TABLE if selectors.get("lookup_table") else 0,
        )
    )
    body = head + encode_attr(_RTA_NUMBER["RTA_DST"], addr.packed)
    if source is not None:
        body += encode_attr(_RTA_NUMBER["RTA_SRC"], source.packed)
    numbers = (("RTA_IIF", selectors.get("iif")), ("RTA_OIF", selectors.get("oif")),
               ("RTA_MARK", selectors.get("mark")))  # fmt: skip
    for name, number in numbers:
        if number is not None:
            body += encode_attr(_RTA_NUMBER[name], struct.pack("=I", number))
    return RTM_GETROUTE, NLM_F_REQUEST, body


# --- neighbours -----------------------------------------------------------------------------


@value
class NdMsg:
    """struct ndmsg: the fixed header of a neighbour message."""

    family: int = member("B", required=True)
    ifindex: int = member("i", pad="3x")  # after ndm_pad1, ndm_pad2
    state: int = member("H")
    flags: int = member("B")
    type: int = member("B")


NDMSG = struct_format("ndmsg", NdMsg)

# NUD_* state bits (linux/neighbour.h), in bit order.
NUD_BITS: tuple[tuple[int, str], ...] = (
    (0x01, "INCOMPLETE"),
    (0x02, "REACHABLE"),
    (0x04, "STALE"),
    (0x08, "DELAY"),
    (0x10, "PROBE"),
    (0x20, "FAILED"),
    (0x40, "NOARP"),
    (0x80, "PERMANENT"),
)

NDA: dict[int, AttrSpec] = {
    1: AttrSpec("NDA_DST", ip_address),
    2: AttrSpec("NDA_LLADDR", lladdr),
    3: AttrSpec("NDA_CACHEINFO", struct_of("=IIII")),
    4: AttrSpec("NDA_PROBES", u32),
    5: AttrSpec("NDA_VLAN", u16),
    6: AttrSpec("NDA_PORT", be16),
    7: AttrSpec("NDA_VNI", u32),
    8: AttrSpec("NDA_IFINDEX", u32),
    9: AttrSpec("NDA_MASTER", u32),
    10: AttrSpec("NDA_LINK_NETNSID", s32),
    11: AttrSpec("NDA_SRC_VNI", u32),
    12: AttrSpec("NDA_PROTOCOL", u8),
    13: AttrSpec("NDA_NH_ID", u32),
    15: AttrSpec("NDA_FLAGS_EXT", u32),
}
_NDA_NUMBER = {spec.name: number for number, spec in NDA.items()}


def nud_names(state: int) -> tuple[str, ...]:
    """The NUD_* names set in `state`; ("NONE",) for 0."""
    names = tuple(name for bit, name in NUD_BITS if state & bit)
    return names or ("NONE",)


@value
class Neighbour:
    """One RTM_NEWNEIGH message: a neighbour (ARP / NDP) cache entry."""

    family: int
    ifindex: int
    state: int
    flags: int
    address: str | None = attr("NDA_DST")
    lladdr: str | None = attr("NDA_LLADDR")
    probes: int | None = attr("NDA_PROBES")

    @property
    def state_name(self) -> str:
        """The NUD state as `ip neigh` prints it (REACHABLE, FAILED, ...)."""
        return "|".join(nud_names(self.state))


def parse_neighbour(msg: NlMsg) -> Neighbour:
    """Decode one RTM_NEWNEIGH message."""
    head, attrs = unpack_message(msg, RTM_NEWNEIGH, "RTM_NEWNEIGH", NDMSG, NDA)
    return decode_record(Neighbour, head, attrs)


def neigh_get_request(address: str, ifindex: int) -> tuple[int, int, bytes]:
    """(type, flags, payload) of `ip neigh get ADDRESS dev IFINDEX` (kernel 4.20+)."""
    addr = ipaddress.ip_address(address)
    head = NDMSG.pack(NdMsg(family=_family(addr), ifindex=ifindex))
    body = head + encode_attr(_NDA_NUMBER["NDA_DST"], addr.packed)
    return RTM_GETNEIGH, NLM_F_REQUEST, body


def neigh_dump_request(family: int) -> tuple[int, int, bytes]:
    """(type, flags, payload) of a neighbour dump of one address family."""
    return RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP, NDMSG.pack(NdMsg(family=family))


def _family(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> int:
    return socket.AF_INET if addr.version == 4 else socket.AF_INET6
