"""Egress check: does this host's own netfilter OUTPUT chain drop the SYN?

A plain connect() cannot tell: the kernel ignores the error of its own SYN transmission and
the connect just times out, exactly as if a remote firewall dropped it. A hand-built SYN sent
on a raw socket reports the verdict at once: sendto() fails with EPERM when an output rule
drops (or rejects) the packet. Needs CAP_NET_RAW; without it the answer is "unknown".

With --source/--interface the SYN leaves as the connect did: its IP source is the source the
kernel picks for that binding, the raw socket is bound to that address and to the device
(SO_BINDTODEVICE). Otherwise the verdict would be about another path than the one that went
silent: an output rule on the chosen source or device would be reported "clear".
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import random
import socket
import struct

from netdx.budget import Deadline
from netdx.model.evidence import EgressCheck, Family
from netdx.netlink.errors import errno_name
from netdx.probes.bind import Binding, bind_socket, current_binding
from netdx.probes.icmp import inet_checksum
from netdx.probes.recverr import SOL_IPV6
from netdx.probes.tcp import address_family

_SYN = 0x02
_WINDOW = 64240
_IPV6_CHECKSUM_OFFSET = 16  # where the TCP checksum sits: the kernel fills it in for v6
_EPHEMERAL = (32768, 60999)
_NEEDS_ROOT = "needs root to rule out local egress filtering"


def build_syn(
    family: Family, source: str, destination: str, sport: int, dport: int, seq: int
) -> bytes:
    """A TCP SYN header (no options) with the checksum over the pseudo header."""
    offset_flags = (5 << 12) | _SYN
    header = struct.pack("!HHIIHHHH", sport, dport, seq, 0, offset_flags, _WINDOW, 0, 0)
    src = ipaddress.ip_address(source).packed
    dst = ipaddress.ip_address(destination).packed
    if family == 4:
        pseudo = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(header))
    else:
        pseudo = src + dst + struct.pack("!I3xB", len(header), socket.IPPROTO_TCP)
    csum = inet_checksum(pseudo + header)
    return header[:16] + struct.pack("!H", csum) + header[18:]


def source_for(family: Family, address: str, port: int, binding: Binding | None = None) -> str:
    """The source address the kernel would pick for address:port from a socket bound as
    `binding` asks (its source, or the route through its device). A UDP connect() only looks
    the route up and sends nothing; it raises OSError (ENETUNREACH) without a route."""
    af = socket.AF_INET6 if family == 6 else socket.AF_INET
    with contextlib.closing(socket.socket(af, socket.SOCK_DGRAM)) as udp:
        bind_socket(udp, binding or Binding())
        udp.connect((address, port))
        return str(udp.getsockname()[0])


async def egress_check(address: str, port: int, *, deadline: Deadline) -> EgressCheck:
    """Send one raw SYN for the flow to address:port and report whether this host's output
    filter dropped it ("blocked", errno EPERM), let it out ("clear"), or could not be
    tested ("unknown", with the reason). Takes one non-blocking syscall; never waits."""
    del deadline  # sendto() on a raw socket answers at once; nothing here waits
    family = address_family(address)
    binding = current_binding()
    try:
        source = source_for(family, address, port, binding)
    except PermissionError:  # SO_BINDTODEVICE for --interface, on a kernel older than 5.7
        return _unknown(address, port, _NEEDS_ROOT)
    except OSError as exc:
        name = errno_name(exc.errno or errno.EIO)
        return _unknown(address, port, f"no route to {address} ({name}): nothing to test", name)
    af = socket.AF_INET6 if family == 6 else socket.AF_INET
    try:
        raw = socket.socket(af, socket.SOCK_RAW, socket.IPPROTO_TCP)
    except PermissionError:
        return _unknown(address, port, _NEEDS_ROOT)
    with contextlib.closing(raw):
        raw.setblocking(False)
        if family == 6:
            raw.setsockopt(SOL_IPV6, socket.IPV6_CHECKSUM, _IPV6_CHECKSUM_OFFSET)
        # The checksum covers this source: make the kernel use it, and leave by the device
        # the connect was bound to (the route lookup of the send then asks with that oif).
        interface = binding.interface if binding is not None else None
        bind_socket(raw, Binding(source=source, interface=interface))
        syn = build_syn(
            family, source, address, random.randint(*_EPHEMERAL), port, random.getrandbits(32)
        )
        try:
            raw.sendto(syn, (address, 0))
        except PermissionError as exc:
            return EgressCheck(
                address=address,
                port=port,
                status="blocked",
                errno=errno_name(exc.errno or errno.EPERM),
                reason="this host's netfilter OUTPUT rules drop the SYN",
            )
        except OSError as exc:
            name = errno_name(exc.errno or errno.EIO)
            return _unknown(address, port, f"sending the test SYN failed: {name}", name)
    return EgressCheck(address=address, port=port, status="clear")


def _unknown(address: str, port: int, reason: str, code: str | None = None) -> EgressCheck:
    """The test could not run: `reason` says why, `code` names the errno that stopped it."""
    return EgressCheck(address=address, port=port, status="unknown", errno=code, reason=reason)
