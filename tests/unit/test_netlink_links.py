"""rtnetlink link and address dumps (`netdx.netlink.links`) decoded from kernel-shaped bytes
replayed through the package's ReplayTransport: flags, operstate, carrier, addresses."""

from __future__ import annotations

import socket
import struct

import pytest

from netdx.netlink import NetlinkKernelError, ReplayTransport, encode_attr, encode_message
from netdx.netlink.links import (
    IFADDRMSG,
    IFF_LOWER_UP,
    IFF_UP,
    IFINFOMSG,
    RTM_GETADDR,
    RTM_GETLINK,
    RTM_NEWADDR,
    RTM_NEWLINK,
    IfAddrMsg,
    IfInfoMsg,
    get_addresses,
    get_links,
)

NLMSG_DONE = 3
NLM_F_MULTI = 2


def link(index: int, flags: int, name: str, operstate: int, carrier: int) -> bytes:
    body = IFINFOMSG.pack(IfInfoMsg(index=index, flags=flags))
    body += encode_attr(3, name.encode() + b"\0") + encode_attr(16, bytes([operstate]))
    body += encode_attr(33, bytes([carrier])) + encode_attr(4, struct.pack("=I", 1500))
    body += encode_attr(43, b"\0" * 8)  # IFLA_XDP (nested), not read: skipped
    return encode_message(RTM_NEWLINK, NLM_F_MULTI, 1, body)


def address(index: int, family: int, text: str, prefix: int, scope: int) -> bytes:
    body = IFADDRMSG.pack(IfAddrMsg(family=family, prefixlen=prefix, scope=scope, index=index))
    body += encode_attr(1, socket.inet_pton(family, text))
    return encode_message(RTM_NEWADDR, NLM_F_MULTI, 1, body)


DONE = encode_message(NLMSG_DONE, NLM_F_MULTI, 1, struct.pack("=i", 0))


def test_links_decode_flags_operstate_and_carrier() -> None:
    """Two links (one up with carrier, one down without) come back sorted by index, with
    the flags, the operstate name and the carrier; the request is a link dump."""
    fake = ReplayTransport([[link(3, 0, "eth1", 2, 0) + link(1, IFF_UP | IFF_LOWER_UP | 0x8,
                                                               "lo", 0, 1) + DONE]])
    lo, eth1 = get_links(fake, timeout=1.0)
    assert (lo.name, lo.up, lo.loopback, lo.lower_up, lo.carrier, lo.mtu) == (
        "lo", True, True, True, True, 1500)
    assert (eth1.name, eth1.up, eth1.operstate, eth1.carrier) == ("eth1", False, "DOWN", False)
    assert fake.sent[0].msg_type == RTM_GETLINK


def test_addresses_decode_both_families_with_scope() -> None:
    """IPv4 and IPv6 addresses keep their interface, prefix and scope name."""
    fake = ReplayTransport([[address(2, socket.AF_INET, "10.0.0.2", 24, 0)
                             + address(2, socket.AF_INET6, "fe80::1", 64, 253) + DONE]])
    v4, v6 = get_addresses(fake, timeout=1.0)
    assert (v4.index, v4.address, v4.prefixlen, v4.scope) == (2, "10.0.0.2", 24, "global")
    assert (v6.address, v6.scope) == ("fe80::1", "link")
    assert fake.sent[0].msg_type == RTM_GETADDR


def test_refused_dump_raises() -> None:
    """A kernel error answering the dump is NetlinkKernelError naming the errno, not an
    empty list."""
    error = encode_message(2, 0, 1, struct.pack("=i", -1) + b"\0" * 16)
    with pytest.raises(NetlinkKernelError, match="EPERM") as caught:
        get_links(ReplayTransport([[error]]), timeout=1.0)
    assert caught.value.errno_code == 1
