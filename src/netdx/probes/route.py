"""The route probe: `ip route get ADDR` over rtnetlink, plus the next hop's neighbour state.

The kernel's answer is evidence either way: a route, or an errno that says why there is none.
IPv4 and IPv6 both answer a reject route with an NLMSG_ERROR (checked on Linux 6.x in a
namespace, see tests/unit/fixtures/netlink/capture.py): unreachable -> EHOSTUNREACH,
prohibit -> EACCES, blackhole -> EINVAL, throw and no route at all -> ENETUNREACH.
A kernel that answers with an RTM_NEWROUTE of a reject type instead (iproute2 then prints
"prohibit ... error -13"; not seen on 6.x) maps to "no_route" too, with the errno taken from
RTA_CACHEINFO.
"""

from __future__ import annotations

import errno
from collections.abc import Callable

from netdx.budget import Deadline
from netdx.model import RouteLookup
from netdx.model.evidence import RouteStatus
from netdx.model.record import replace
from netdx.netlink import (
    ErrorAck,
    NetlinkError,
    NetlinkIOError,
    NetlinkParseError,
    NetlinkSocket,
    Route,
    Transport,
    errno_name,
    get_neighbour,
    get_route,
)
from netdx.netlink import csocket as socket  # socket.py without its enums (csocket says why)
from netdx.probes.bind import current_binding

IfName = Callable[[int], str | None]

# Route types with no path: the kernel refuses to send to them.
_REJECT_TYPES = frozenset({"unreachable", "blackhole", "prohibit", "throw"})
# Types whose traffic never leaves through a neighbour (no ARP/NDP entry to read).
_NO_NEIGHBOUR_TYPES = frozenset({"local", "broadcast", "multicast", "anycast"})
# The errno of a failed route get, and the route type that produces it.
_NO_ROUTE_ERRNO: dict[int, str | None] = {
    errno.ENETUNREACH: None,  # no matching route, or a throw route
    errno.EHOSTUNREACH: "unreachable",
    errno.EACCES: "prohibit",
    errno.EINVAL: "blackhole",
}


async def route_lookup(address: str, *, deadline: Deadline) -> RouteLookup:
    """The kernel's route to `address` and its next hop's neighbour state, as evidence.

    Netlink answers in microseconds, so the synchronous call runs directly with a socket
    timeout taken from `deadline`; it never waits past it.
    """
    return route_lookup_sync(address, timeout=deadline.remaining())


def route_lookup_sync(address: str, timeout: float = 1.0) -> RouteLookup:
    """`route_lookup` without asyncio, bounded by `timeout` seconds.

    Raises ValueError when `address` is not an IP address literal.
    """
    deadline = Deadline.after(timeout)
    if deadline.expired:
        return RouteLookup(address=address, status="error", error="ETIMEDOUT")
    try:
        sock = NetlinkSocket()
    except NetlinkIOError as exc:
        return RouteLookup(address=address, status="error", error=exc.errno_name)
    with sock:
        return lookup_route(sock, address, deadline=deadline)


def neighbour_state(address: str, ifindex: int, timeout: float = 0.5) -> str | None:
    """The NUD state name (REACHABLE, FAILED, ...) of `address` on `ifindex`, or None when
    the neighbour cache has no entry (or it cannot be read in time)."""
    try:
        with NetlinkSocket() as sock:
            return _neighbour_state(sock, address, ifindex, Deadline.after(timeout))
    except NetlinkIOError:
        return None


def lookup_route(
    transport: Transport, address: str, *, deadline: Deadline, ifname: IfName | None = None
) -> RouteLookup:
    """Route get plus neighbour get over `transport` (a NetlinkSocket or a replay fake).

    `ifname` maps an ifindex to its name (default: socket.if_indextoname in this netns).
    """
    if deadline.expired:
        return RouteLookup(address=address, status="error", error="ETIMEDOUT")
    try:
        src, oif = _bound_selectors(address)
    except OSError:  # the --interface vanished after it was validated
        return RouteLookup(address=address, status="error", error="ENODEV")
    try:
        answer = get_route(transport, address, timeout=deadline.remaining(), src=src, oif=oif)
    except NetlinkIOError as exc:
        return RouteLookup(address=address, status="error", error=exc.errno_name)
    except NetlinkParseError:
        # An answer this parser cannot read (a kernel newer than its tables): say so as
        # evidence rather than abort the whole check.
        return RouteLookup(address=address, status="error", error="EBADMSG")
    result = route_evidence(address, answer, ifname=ifname or _ifname)
    if src is not None and result.status != "no_route":
        # The probes send from --source whatever the route's preferred source: say that one.
        result = replace(result, source=src)
    if not isinstance(answer, Route) or answer.oif is None:
        return result
    if result.status != "ok" or answer.type in _NO_NEIGHBOUR_TYPES:
        return result
    hop = answer.next_hop or address
    state = _neighbour_state(transport, hop, answer.oif, deadline)
    return replace(result, neighbour_state=state)


def _bound_selectors(address: str) -> tuple[str | None, int | None]:
    """--source / --interface as route selectors: the route those sockets take (`ip route get
    ADDR from SRC oif DEV`); a source of the other family than `address` is not asked.
    Raises OSError when the interface no longer exists."""
    binding = current_binding()
    if binding is None:
        return None, None
    src = binding.source
    if src is not None and (":" in src) != (":" in address):
        src = None
    return src, binding.ifindex


def route_evidence(
    address: str, answer: Route | ErrorAck, *, ifname: IfName | None = None
) -> RouteLookup:
    """Map the kernel's answer (a route or an error) to RouteLookup evidence (pure)."""
    if isinstance(answer, ErrorAck):
        # A blackhole's EINVAL comes without extended-ack text; EINVAL with text is the
        # kernel rejecting the request itself, which says nothing about routes.
        bad_request = answer.errno == errno.EINVAL and answer.message is not None
        if answer.errno in _NO_ROUTE_ERRNO and not bad_request:
            kind = _NO_ROUTE_ERRNO[answer.errno]
            return RouteLookup(
                address=address, status="no_route", route_type=kind, error=answer.name
            )
        return RouteLookup(address=address, status="error", error=answer.name)
    oif = answer.oif
    name = (ifname or _ifname)(oif) if oif is not None else None
    status: RouteStatus
    if answer.type in _REJECT_TYPES:
        status = "no_route"
    elif answer.type == "local":
        status = "local"
    else:
        status = "ok"
    return RouteLookup(
        address=address,
        status=status,
        route_type=answer.type,
        interface=name,
        ifindex=oif,
        source=answer.prefsrc,
        gateway=answer.next_hop,
        error=errno_name(answer.error) if answer.error else None,
    )


def _neighbour_state(
    transport: Transport, address: str, ifindex: int, deadline: Deadline
) -> str | None:
    if deadline.expired:
        return None
    try:
        entry = get_neighbour(transport, address, ifindex, timeout=deadline.remaining())
    except NetlinkError:
        # The route is the evidence asked for; an unreadable cache only leaves this unknown.
        return None
    return entry.state_name if entry else None


def _ifname(ifindex: int) -> str | None:
    try:
        return socket.if_indextoname(ifindex)
    except OSError:
        return None


__all__ = ["lookup_route", "neighbour_state", "route_evidence", "route_lookup", "route_lookup_sync"]
