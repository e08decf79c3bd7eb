"""Route and neighbour lookups for given addresses (`ip route get`, `ip neigh get`) over an
rtnetlink socket opened by the Host."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Sequence
from typing import Any

from netdx.netlink import NETLINK_ROUTE, ErrorAck, NetlinkError, NetlinkSocket, get_neighbour
from netdx.netlink import get_route as _get_route

from .system import Budget, Host


def lookup(host: Host, addresses: Sequence[str], deadline: Budget) -> list[dict[str, Any]]:
    """For each address: the route the kernel would use (or its error), and the neighbour
    entry of the next hop (the gateway, or the address itself when on-link). A lookup that
    fails is recorded in that address's `error`; an unopenable socket raises OSError."""
    sock = host.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    out = []
    with NetlinkSocket(NETLINK_ROUTE, sock=sock) as netlink:
        for address in addresses:
            out.append(_one(netlink, address, deadline))
    return out


def _one(netlink: NetlinkSocket, address: str, deadline: Budget) -> dict[str, Any]:
    entry: dict[str, Any] = {"address": address, "route": None, "neighbour": None, "error": None}
    try:
        route = _get_route(netlink, address, timeout=deadline.remaining())
        if isinstance(route, ErrorAck):
            entry["route"] = {"errno": route.errno, "name": route.name, "message": route.message}
            return entry
        entry["route"] = dataclasses.asdict(route)
        if route.oif is not None and route.type == "unicast":
            hop = route.next_hop or address
            found = get_neighbour(netlink, hop, route.oif, timeout=deadline.remaining())
            entry["neighbour"] = None if found is None else dataclasses.asdict(found)
    except (NetlinkError, ValueError) as exc:
        entry["error"] = str(exc) or type(exc).__name__
    return entry
