"""rtnetlink links and addresses (`ip link`, `ip addr`), declared as data.

`IFINFOMSG`/`IFADDRMSG` are the fixed headers, `IFLA`/`IFA` the attribute tables (numbers
from linux/if_link.h and linux/if_addr.h; only the members read here). `get_links` and
`get_addresses` dump them over any Transport. Stdlib-only, like the rest of the package.
"""

from __future__ import annotations

from ._compat import value
from .attrs import (
    AttrSpec,
    asciiz,
    attr,
    decode_record,
    ip_address,
    lladdr,
    member,
    raw,
    struct_format,
    u8,
    u32,
)
from .sock import Transport, dump
from .wire import NLM_F_DUMP, NLM_F_REQUEST, NlMsg, unpack_message

RTM_NEWLINK = 16
RTM_GETLINK = 18
RTM_NEWADDR = 20
RTM_GETADDR = 22

IFF_UP = 0x1
IFF_LOOPBACK = 0x8
IFF_LOWER_UP = 0x10000  # the driver's carrier: `ip link` prints LOWER_UP

# IF_OPER_* (RFC 2863 operstate), as `ip link` prints them.
OPERSTATE_NAMES: dict[int, str] = {
    0: "UNKNOWN", 1: "NOTPRESENT", 2: "DOWN", 3: "LOWERLAYERDOWN", 4: "TESTING",
    5: "DORMANT", 6: "UP",
}
# RT_SCOPE_* of an address, as `ip addr` prints them.
SCOPE_NAMES: dict[int, str] = {0: "global", 200: "site", 253: "link", 254: "host", 255: "nowhere"}


@value
class IfInfoMsg:
    """struct ifinfomsg: the fixed header of a link message."""

    family: int = member("B")
    type: int = member("H", pad="x")
    index: int = member("i")
    flags: int = member("I")
    change: int = member("I")


IFINFOMSG = struct_format("ifinfomsg", IfInfoMsg)

IFLA: dict[int, AttrSpec] = {
    1: AttrSpec("IFLA_ADDRESS", lladdr),
    3: AttrSpec("IFLA_IFNAME", asciiz),
    4: AttrSpec("IFLA_MTU", u32),
    16: AttrSpec("IFLA_OPERSTATE", u8),
    33: AttrSpec("IFLA_CARRIER", u8),
    39: AttrSpec("IFLA_PROTO_DOWN", u8),
}


@value
class Link:
    """One RTM_NEWLINK message: an interface, its flags, operstate and carrier."""

    index: int
    flags: int
    name: str | None = attr("IFLA_IFNAME")
    mtu: int | None = attr("IFLA_MTU")
    operstate: str = "UNKNOWN"
    carrier: bool | None = None  # IFLA_CARRIER; None when the kernel does not say

    @property
    def up(self) -> bool:
        """Administratively up (`ip link set X up`)."""
        return bool(self.flags & IFF_UP)

    @property
    def loopback(self) -> bool:
        return bool(self.flags & IFF_LOOPBACK)

    @property
    def lower_up(self) -> bool:
        return bool(self.flags & IFF_LOWER_UP)


def parse_link(msg: NlMsg) -> Link:
    """Decode one RTM_NEWLINK message."""
    head, attrs = unpack_message(msg, RTM_NEWLINK, "RTM_NEWLINK", IFINFOMSG, IFLA)
    carrier = attrs.get_int("IFLA_CARRIER")
    return decode_record(
        Link,
        head,
        attrs,
        operstate=OPERSTATE_NAMES.get(attrs.get_int("IFLA_OPERSTATE") or 0, "UNKNOWN"),
        carrier=None if carrier is None else bool(carrier),
    )


@value
class IfAddrMsg:
    """struct ifaddrmsg: the fixed header of an address message."""

    family: int = member("B")
    prefixlen: int = member("B")
    flags: int = member("B")
    scope: int = member("B")
    index: int = member("I")


IFADDRMSG = struct_format("ifaddrmsg", IfAddrMsg)

IFA: dict[int, AttrSpec] = {
    1: AttrSpec("IFA_ADDRESS", ip_address),
    2: AttrSpec("IFA_LOCAL", ip_address),
    3: AttrSpec("IFA_LABEL", asciiz),
    6: AttrSpec("IFA_CACHEINFO", raw),
    8: AttrSpec("IFA_FLAGS", u32),
}

IFA_F_TENTATIVE = 0x40  # IPv6 duplicate address detection still running
IFA_F_DADFAILED = 0x08


@value
class Address:
    """One RTM_NEWADDR message: an address of an interface, as `ip addr` lists it."""

    family: int
    index: int
    prefixlen: int
    scope: str
    flags: int
    address: str | None = None  # IFA_LOCAL when present (point-to-point), else IFA_ADDRESS
    label: str | None = attr("IFA_LABEL")


def parse_address(msg: NlMsg) -> Address:
    """Decode one RTM_NEWADDR message."""
    head, attrs = unpack_message(msg, RTM_NEWADDR, "RTM_NEWADDR", IFADDRMSG, IFA)
    flags = attrs.get_int("IFA_FLAGS")
    return decode_record(
        Address,
        head,
        attrs,
        scope=SCOPE_NAMES.get(head.scope, str(head.scope)),
        flags=head.flags if flags is None else flags,
        address=attrs.get_str("IFA_LOCAL") or attrs.get_str("IFA_ADDRESS"),
    )


def link_dump_request() -> tuple[int, int, bytes]:
    """(type, flags, payload) of `ip link show` (every interface)."""
    return RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, IFINFOMSG.pack(IfInfoMsg())


def address_dump_request(family: int = 0) -> tuple[int, int, bytes]:
    """(type, flags, payload) of `ip addr show` (0: every family)."""
    return RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, IFADDRMSG.pack(IfAddrMsg(family=family))


def get_links(transport: Transport, *, timeout: float) -> tuple[Link, ...]:
    """Every interface of the namespace, by index. Raises NetlinkKernelError on refusal."""
    links = dump(transport, link_dump_request(), RTM_NEWLINK, parse_link, timeout=timeout)
    return tuple(sorted(links, key=lambda link: link.index))


def get_addresses(transport: Transport, *, timeout: float) -> tuple[Address, ...]:
    """Every address of every interface. Raises NetlinkKernelError on refusal."""
    built = address_dump_request()
    return tuple(dump(transport, built, RTM_NEWADDR, parse_address, timeout=timeout))
