"""The raw facts `netdx route` judges, for one flow: the kernel's route for it (with its
table), the policy rules, the routes (when the kernel refused), the next hop's neighbour
entry, the route back to the source, and the interface facts (names, MTU, rp_filter,
forwarding). Read the same way here and on a server over SSH; judged by `netdx.route`.

The query travels as data ({"destination", "source", "iif", "mark"}), never as a command
line. Python 3.9 and the standard library (plus `netdx.netlink`) only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import socket
from typing import Any

from netdx.netlink import NETLINK_ROUTE, ErrorAck, NetlinkError, NetlinkSocket, Route
from netdx.netlink.lookup import get_neighbour, get_route, get_routes, get_rules
from netdx.netlink.rules import Rule

from .system import Budget, Host

_SYS = "/proc/sys/net/ipv4/conf"
# Route types with no next hop to ask the neighbour cache about.
_NO_NEIGHBOUR = frozenset(
    {"local", "broadcast", "multicast", "anycast", "blackhole", "unreachable", "prohibit",
     "throw"}
)  # fmt: skip
NEIGHBOUR_WAIT_S = 0.5


def parse_query(data: object) -> dict[str, Any]:
    """The route query of a request, validated; ValueError says what is wrong."""
    if not isinstance(data, dict) or set(data) - {"destination", "source", "iif", "mark"}:
        raise ValueError("route must be {destination, source, iif, mark}")
    out: dict[str, Any] = {}
    for name in ("destination", "source"):
        value = data.get(name)
        if value is None and name == "source":
            out[name] = None
            continue
        if not isinstance(value, str):
            raise ValueError(f"route {name} must be an IP address")
        out[name] = str(ipaddress.ip_address(value))
    iif = data.get("iif")
    if iif is not None and (not isinstance(iif, str) or not 0 < len(iif) < 16 or "/" in iif):
        raise ValueError("route iif must be an interface name")
    mark = data.get("mark")
    if mark is not None and (type(mark) is not int or not 0 <= mark <= 0xFFFFFFFF):
        raise ValueError("route mark must be an integer in 0..4294967295")
    out["iif"], out["mark"] = iif, mark
    return out


def _answer(found: Route | ErrorAck) -> dict[str, Any]:
    if isinstance(found, ErrorAck):
        return {"errno": found.errno, "name": found.name, "message": found.message}
    return dataclasses.asdict(found)


def _rule(rule: Rule) -> dict[str, Any]:
    # A list, as JSON has it: the facts read here and over SSH are one shape.
    return {**dataclasses.asdict(rule), "other_selectors": list(rule.other_selectors)}


def _read_int(host: Host, path: str) -> int | None:
    try:
        return int(host.read_text(path).strip())
    except (OSError, ValueError):
        return None


def _ifname(index: int | None) -> str | None:
    if index is None:
        return None
    try:
        return socket.if_indextoname(index)
    except OSError:
        return None


def facts(host: Host, query: dict[str, Any], deadline: Budget) -> dict[str, Any]:
    """The facts for `query` (as `parse_query` returns it). An `iif` that does not exist
    here is the one answer {"unknown_iif": NAME}; an unopenable socket raises OSError."""
    dest, source, iif, mark = query["destination"], query["source"], query["iif"], query["mark"]
    iif_index = None
    if iif is not None:
        try:
            iif_index = socket.if_nametoindex(iif)
        except OSError:
            return {"unknown_iif": iif}
    family = socket.AF_INET6 if ":" in dest else socket.AF_INET
    out: dict[str, Any] = {"rules": None, "routes": None, "neighbour": None, "back": None}
    sock = host.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    with NetlinkSocket(NETLINK_ROUTE, sock=sock) as netlink:
        answer = get_route(netlink, dest, timeout=deadline.remaining(), src=source,
                           iif=iif_index, mark=mark, lookup_table=True)  # fmt: skip
        out["answer"] = _answer(answer)
        with contextlib.suppress(NetlinkError):  # unreadable rules: judged as none known
            out["rules"] = [_rule(r) for r in get_rules(netlink, family,
                                                        timeout=deadline.remaining())]
        if isinstance(answer, ErrorAck):
            # Which reject route refused it is read from the tables the rules point at.
            with contextlib.suppress(NetlinkError):
                out["routes"] = [dataclasses.asdict(r) for r in get_routes(
                    netlink, family, timeout=deadline.remaining())]  # fmt: skip
        elif answer.oif is not None and answer.type not in _NO_NEIGHBOUR:
            try:
                found = get_neighbour(netlink, answer.next_hop or dest, answer.oif,
                                      timeout=min(NEIGHBOUR_WAIT_S, deadline.remaining()))
            except NetlinkError:
                found = None  # the route is the evidence asked for; this stays unknown
            out["neighbour"] = None if found is None else found.state
        back = None
        if source is not None and deadline.remaining() > 0:
            back = get_route(netlink, source, timeout=deadline.remaining())
            out["back"] = _answer(back)
    indexes = [x.oif for x in (answer, back) if isinstance(x, Route) and x.oif is not None]
    names = {str(i): _ifname(i) for i in indexes}
    out["ifnames"] = {k: v for k, v in names.items() if v is not None}
    sysctls = {"all/rp_filter": _read_int(host, f"{_SYS}/all/rp_filter")}
    if iif is not None:
        for name in ("rp_filter", "forwarding"):
            sysctls[f"{iif}/{name}"] = _read_int(host, f"{_SYS}/{iif}/{name}")
    out["sysctls"] = sysctls
    out["mtu"] = {
        name: _read_int(host, f"/sys/class/net/{name}/mtu") for name in out["ifnames"].values()
    }
    return out
