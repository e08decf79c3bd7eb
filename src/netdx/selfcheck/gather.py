"""The I/O of `netdx self`: read links, addresses and routes over rtnetlink, then send the
echoes (loopback, gateway, hosts beyond) and the DNS queries at once, all under one budget,
and read the gateway's neighbour state last (after the echo made the kernel ask ARP).

Traffic goes only to loopback, the default gateway, the hosts the user named with --beyond,
and the DNS servers of resolv.conf; names are never resolved through the system resolver.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable
from typing import Any

from netdx.budget import Deadline
from netdx.collect import selfcheck as facts
from netdx.dns.query import query
from netdx.errors import CannotRun
from netdx.model import RouteLookup
from netdx.model.evidence import DnsQuestion, DnsServerAnswer, IcmpEcho
from netdx.netlink import NetlinkError, NetlinkSocket, Route
from netdx.netlink.links import get_addresses, get_links
from netdx.netlink.lookup import get_routes
from netdx.probes.dns import read_resolv_conf
from netdx.probes.icmp import icmp_echo
from netdx.probes.route import neighbour_state, route_lookup_sync
from netdx.selfcheck.evidence import Beyond, Gateway, Interface, SelfEvidence

RESOLV_CONF = "/etc/resolv.conf"
_TAIL_S = facts.TAIL_S


def _read_netlink(deadline: Deadline) -> tuple[tuple[Interface, ...], dict[int, Route | None]]:
    try:
        with NetlinkSocket() as sock:
            links = get_links(sock, timeout=deadline.remaining())
            addrs = get_addresses(sock, timeout=deadline.remaining())
            defaults = {
                family: facts.default_route(get_routes(sock, af, timeout=deadline.remaining()))
                for family, af in ((4, socket.AF_INET), (6, socket.AF_INET6))
            }
    except NetlinkError as exc:
        raise CannotRun(f"cannot read interfaces and routes over rtnetlink: {exc}") from exc
    return interfaces_of(facts.interfaces(links, addrs)), defaults


def interfaces_of(raw: list[dict[str, Any]]) -> tuple[Interface, ...]:
    """The collector's interface facts as values (a list of addresses → a tuple)."""
    return tuple(Interface(**{**i, "addresses": tuple(i["addresses"])}) for i in raw)


def _is_here(address: str, interfaces: tuple[Interface, ...]) -> bool:
    return facts.is_here(address, [{"addresses": i.addresses} for i in interfaces])


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


def _echo_address(route: Route, interfaces: tuple[Interface, ...]) -> str | None:
    return facts.echo_address(route, [{"name": i.name, "index": i.index} for i in interfaces])


async def _run(
    *,
    interfaces: tuple[Interface, ...],
    gateways: list[Route | None],
    beyond: list[tuple[str, RouteLookup, str]],
    servers: tuple[str, ...],
    resolve: str | None,
    deadline: Deadline,
) -> tuple[IcmpEcho, list[IcmpEcho | None], list[IcmpEcho | None], tuple[DnsServerAnswer, ...]]:
    probes = deadline.within(max(0.0, deadline.remaining() - _TAIL_S))
    lo = icmp_echo("127.0.0.1", deadline=probes)
    hops = [_echo_address(r, interfaces) if r is not None else None for r in gateways]
    gw: list[Awaitable[IcmpEcho | None]] = [
        icmp_echo(hop, deadline=probes) if hop is not None else _none() for hop in hops]
    far = [icmp_echo(addr, deadline=probes) if route.status == "ok" else _none()
           for addr, route, _role in beyond]
    dns = [query(server, DnsQuestion(name=resolve.rstrip(".") + ".", rtype="A"),
                 deadline=probes)
           for server in servers] if resolve is not None else []
    lo_echo, *rest = await asyncio.gather(lo, *gw, *far, *dns)
    gw_echo, far_echo = rest[: len(gw)], rest[len(gw): len(gw) + len(far)]
    answers = tuple(a for a in rest[len(gw) + len(far):] if isinstance(a, DnsServerAnswer))
    assert isinstance(lo_echo, IcmpEcho)
    return (lo_echo, [e if isinstance(e, IcmpEcho) else None for e in gw_echo],
            [e if isinstance(e, IcmpEcho) else None for e in far_echo], answers)


async def _none() -> None:
    return None


def _gateway(default: Route | None, echo: IcmpEcho | None, interfaces: tuple[Interface, ...],
             deadline: Deadline) -> Gateway | None:
    """The gateway of `default` with its echo, and its neighbour state read now (after the
    echo made the kernel ask ARP / neighbour discovery)."""
    if default is None or not default.next_hop or echo is None:
        return None
    neighbour = (neighbour_state(default.next_hop, default.oif,
                                 timeout=max(0.01, deadline.remaining()))
                 if default.oif is not None else None)
    name = next((i.name for i in interfaces if i.index == default.oif), None)
    return Gateway(address=default.next_hop, interface=name, neighbour=neighbour, echo=echo)


def _onlink(default: Route | None, interfaces: tuple[Interface, ...]) -> str | None:
    if default is None or default.next_hop:
        return None
    return next((i.name for i in interfaces if i.index == default.oif), "?")


def gather(
    *, named: tuple[str, ...], resolve: str | None, deadline: Deadline,
    resolv_conf: str = RESOLV_CONF,
) -> SelfEvidence:
    """Everything `netdx self` needs, within `deadline`. Raises CannotRun when rtnetlink
    cannot be read at all."""
    interfaces, defaults = _read_netlink(deadline)
    picked, local, servers = _targets(named, resolv_conf, interfaces)
    family, other = facts.walked(defaults, named)
    routes = [(addr, route_lookup_sync(addr, timeout=deadline.remaining()), role)
              for addr, role in picked]
    second = defaults[other] if other is not None else None
    lo_echo, gw_echoes, far, answers = asyncio.run(_run(
        interfaces=interfaces, gateways=[defaults[family], second], beyond=routes, servers=servers,
        resolve=resolve, deadline=deadline))
    return SelfEvidence(
        loopback_echo=lo_echo,
        interfaces=interfaces,
        gateway=_gateway(defaults[family], gw_echoes[0], interfaces, deadline),
        beyond=tuple(Beyond(address=addr, role="named" if role == "named" else "dns_server",
                            route=route, echo=echo)
                     for (addr, route, role), echo in zip(routes, far, strict=True)),
        skipped_servers=local if not named else (),
        onlink_default=_onlink(defaults[family], interfaces),
        family=6 if family == 6 else 4,
        other_gateway=_gateway(second, gw_echoes[1], interfaces, deadline),
        other_onlink_default=_onlink(second, interfaces),
        dns_name=resolve,
        dns=answers,
    )
