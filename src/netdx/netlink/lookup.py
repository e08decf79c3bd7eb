"""`ip route get` and `ip neigh get` over any Transport, returning frozen values.

A kernel error reply to a route get is an answer (ENETUNREACH means "no route"), so it is
returned as an `ErrorAck`, not raised.
"""

from __future__ import annotations

import errno
import ipaddress
import time

from . import csocket as socket  # socket.py without its enums (csocket says why)
from . import rtnl, rules
from .errors import NetlinkKernelError, NetlinkParseError
from .sock import Transport, dump, request
from .wire import ErrorAck

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing.Unpack is 3.11+; the annotations are never evaluated
    from typing_extensions import Unpack

    from .rtnl import RouteSelectors

# A kernel without RTM_GETNEIGH "doit" (before 4.20) refuses a single get with one of these;
# the same answer then comes from a dump filtered here.
_GET_REFUSED = frozenset({errno.EOPNOTSUPP, errno.EINVAL})


def get_route(
    transport: Transport, address: str, *, timeout: float, **selectors: Unpack[RouteSelectors]
) -> rtnl.Route | ErrorAck:
    """The route the kernel would use to send to `address` (`ip route get ADDRESS`), or,
    with selectors (`src`, `iif`, `oif`, `mark`), the route a packet with those would take."""
    built = rtnl.route_get_request(address, **selectors)
    reply = request(transport, *built, timeout=timeout)
    if reply.error is not None:
        return reply.error
    if len(reply.messages) != 1:
        raise NetlinkParseError(f"route get answered with {len(reply.messages)} messages")
    return rtnl.parse_route(reply.messages[0])


def get_routes(transport: Transport, family: int, *, timeout: float) -> tuple[rtnl.Route, ...]:
    """Every route of one family, all tables (`ip route show table all`).

    Raises NetlinkKernelError when the kernel refuses the dump.
    """
    built = rtnl.route_dump_request(family)
    return tuple(dump(transport, built, rtnl.RTM_NEWROUTE, rtnl.parse_route, timeout=timeout))


def get_rules(transport: Transport, family: int, *, timeout: float) -> tuple[rules.Rule, ...]:
    """The policy rules of one family (`ip rule list`), in the kernel's order (priority).

    Raises NetlinkKernelError when the kernel refuses the dump.
    """
    built = rules.rule_dump_request(family)
    found = dump(transport, built, rules.RTM_NEWRULE, rules.parse_rule, timeout=timeout)
    return tuple(sorted(found, key=lambda r: r.priority))


def get_neighbour(
    transport: Transport, address: str, ifindex: int, *, timeout: float
) -> rtnl.Neighbour | None:
    """The neighbour cache entry of `address` on `ifindex`; None when there is none.

    Raises NetlinkKernelError for any other kernel refusal.
    """
    end = time.monotonic() + timeout
    reply = request(transport, *rtnl.neigh_get_request(address, ifindex), timeout=timeout)
    if reply.error is None:
        found = [rtnl.parse_neighbour(m) for m in reply.messages if m.type == rtnl.RTM_NEWNEIGH]
        return found[0] if found else None
    if reply.error.errno == errno.ENOENT:
        return None
    if reply.error.errno not in _GET_REFUSED:
        raise NetlinkKernelError(reply.error.text, errno_code=reply.error.errno)
    return _dump_neighbour(transport, address, ifindex, timeout=end - time.monotonic())


def _dump_neighbour(
    transport: Transport, address: str, ifindex: int, *, timeout: float
) -> rtnl.Neighbour | None:
    wanted = ipaddress.ip_address(address)
    family = socket.AF_INET if wanted.version == 4 else socket.AF_INET6
    built = rtnl.neigh_dump_request(family)
    entries = dump(transport, built, rtnl.RTM_NEWNEIGH, rtnl.parse_neighbour,
                   timeout=max(0.0, timeout))  # fmt: skip
    for entry in entries:
        if entry.ifindex == ifindex and entry.address and _same(entry.address, wanted):
            return entry
    return None


def _same(text: str, wanted: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ipaddress.ip_address(text) == wanted
