"""The I/O of `netdx self`: read links, addresses and routes over rtnetlink, then send the
echoes (loopback, gateway, hosts beyond) and the DNS queries at once, all under one budget,
and read the gateway's neighbour state last (after the echo made the kernel ask ARP).

Traffic goes only to loopback, the default gateway, the hosts the user named with --beyond,
and the DNS servers of resolv.conf; names are never resolved through the system resolver.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable

from netdx.budget import Deadline
from netdx.dns.query import query
from netdx.errors import CannotRun
from netdx.model import RouteLookup
from netdx.model.evidence import DnsQuestion, DnsServerAnswer, IcmpEcho
from netdx.netlink import NetlinkError, NetlinkSocket, Route
from netdx.netlink.links import Address, Link, get_addresses, get_links
from netdx.netlink.lookup import get_routes
from netdx.probes.dns import read_resolv_conf
from netdx.probes.icmp import icmp_echo
from netdx.probes.route import neighbour_state, route_lookup_sync
from netdx.selfcheck.evidence import Beyond, Gateway, Interface, SelfEvidence

RESOLV_CONF = "/etc/resolv.conf"
_MAIN_TABLE = 254
# Kept for reading the neighbour cache after the echoes (netlink answers in microseconds).
_TAIL_S = 0.2


def _interfaces(links: tuple[Link, ...], addrs: tuple[Address, ...]) -> tuple[Interface, ...]:
    out = []
    for link in links:
        mine = tuple(f"{a.address}/{a.prefixlen} scope {a.scope}"
                     for a in addrs if a.index == link.index and a.address)
        out.append(Interface(
            name=link.name or f"if{link.index}", index=link.index, up=link.up,
            carrier=link.lower_up if link.carrier is None else link.carrier and link.lower_up,
            operstate=link.operstate, loopback=link.loopback, addresses=mine))
    return tuple(out)


def _default_route(routes: tuple[Route, ...]) -> Route | None:
    """The main table's default unicast route, lowest metric first (one with a gateway
    before an on-link one of the same metric)."""
    defaults = [r for r in routes if r.dst_len == 0 and r.type == "unicast"
                and r.table == _MAIN_TABLE]
    return min(defaults, key=lambda r: (r.priority or 0, r.next_hop is None), default=None)


def _read_netlink(deadline: Deadline) -> tuple[tuple[Interface, ...], dict[int, Route | None]]:
    try:
        with NetlinkSocket() as sock:
            links = get_links(sock, timeout=deadline.remaining())
            addrs = get_addresses(sock, timeout=deadline.remaining())
            defaults = {
                4: _default_route(get_routes(sock, socket.AF_INET, timeout=deadline.remaining())),
                6: _default_route(get_routes(sock, socket.AF_INET6,
                                             timeout=deadline.remaining())),
            }
    except NetlinkError as exc:
        raise CannotRun(f"cannot read interfaces and routes over rtnetlink: {exc}") from exc
    return _interfaces(links, addrs), defaults


def _is_here(address: str, interfaces: tuple[Interface, ...]) -> bool:
    if ipaddress.ip_address(address).is_loopback:
        return True
    return any(a.split("/")[0] == address for i in interfaces for a in i.addresses)


def _targets(named: tuple[str, ...], resolv_conf: str, interfaces: tuple[Interface, ...]) -> (
    tuple[list[tuple[str, str]], tuple[str, ...], tuple[str, ...]]
):
    """(address, role) of the hosts beyond; the DNS servers on this host; every server."""
    servers = read_resolv_conf(resolv_conf).nameservers
    local = tuple(s for s in servers if _is_here(s, interfaces))
    picked = [(a, "named") for a in named]
    if not named:
        picked = [(s, "dns_server") for s in servers if s not in local]
    return picked, local, servers


async def _run(
    *,
    interfaces: tuple[Interface, ...],
    default: Route | None,
    beyond: list[tuple[str, RouteLookup, str]],
    servers: tuple[str, ...],
    resolve: str | None,
    deadline: Deadline,
) -> tuple[IcmpEcho, IcmpEcho | None, list[IcmpEcho | None], tuple[DnsServerAnswer, ...]]:
    probes = deadline.within(max(0.0, deadline.remaining() - _TAIL_S))
    lo = icmp_echo("127.0.0.1", deadline=probes)
    gw: Awaitable[IcmpEcho | None] = (icmp_echo(default.next_hop, deadline=probes)
                                      if default is not None and default.next_hop
                                      else _none())
    far = [icmp_echo(addr, deadline=probes) if route.status == "ok" else _none()
           for addr, route, _role in beyond]
    dns = [query(server, DnsQuestion(name=resolve.rstrip(".") + ".", rtype="A"),
                 deadline=probes)
           for server in servers] if resolve is not None else []
    lo_echo, gw_echo, *rest = await asyncio.gather(lo, gw, *far, *dns)
    far_echo = rest[: len(far)]
    answers = tuple(a for a in rest[len(far):] if isinstance(a, DnsServerAnswer))
    assert isinstance(lo_echo, IcmpEcho)
    return (lo_echo, gw_echo if isinstance(gw_echo, IcmpEcho) else None,
            [e if isinstance(e, IcmpEcho) else None for e in far_echo], answers)


async def _none() -> None:
    return None


def gather(
    *, named: tuple[str, ...], resolve: str | None, deadline: Deadline,
    resolv_conf: str = RESOLV_CONF,
) -> SelfEvidence:
    """Everything `netdx self` needs, within `deadline`. Raises CannotRun when rtnetlink
    cannot be read at all."""
    interfaces, defaults = _read_netlink(deadline)
    picked, local, servers = _targets(named, resolv_conf, interfaces)
    family = 6 if picked and ":" in picked[0][0] else 4
    default = defaults[family] or defaults[6 if family == 4 else 4]
    routes = [(addr, route_lookup_sync(addr, timeout=deadline.remaining()), role)
              for addr, role in picked]
    lo_echo, gw_echo, far, answers = asyncio.run(_run(
        interfaces=interfaces, default=default, beyond=routes, servers=servers,
        resolve=resolve, deadline=deadline))
    gateway = None
    if default is not None and default.next_hop and gw_echo is not None:
        neighbour = (neighbour_state(default.next_hop, default.oif,
                                     timeout=max(0.01, deadline.remaining()))
                     if default.oif is not None else None)
        name = next((i.name for i in interfaces if i.index == default.oif), None)
        gateway = Gateway(address=default.next_hop, interface=name, neighbour=neighbour,
                          echo=gw_echo)
    return SelfEvidence(
        loopback_echo=lo_echo,
        interfaces=interfaces,
        gateway=gateway,
        beyond=tuple(Beyond(address=addr, role="named" if role == "named" else "dns_server",
                            route=route, echo=echo)
                     for (addr, route, role), echo in zip(routes, far, strict=True)),
        skipped_servers=local if not named else (),
        onlink_default=(next((i.name for i in interfaces if i.index == default.oif), "?")
                        if default is not None and not default.next_hop else None),
        dns_name=resolve,
        dns=answers,
    )
