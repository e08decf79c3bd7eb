"""The facts `netdx self` gathers, as frozen values: nothing here judges or does I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from netdx.model import RouteLookup
from netdx.model.evidence import DnsServerAnswer, IcmpEcho


@dataclass(frozen=True, slots=True, kw_only=True)
class Interface:
    """One interface as `ip addr` shows it: flags, operstate, carrier and its addresses."""

    name: str
    index: int
    up: bool  # administratively (IFF_UP)
    carrier: bool  # the driver's LOWER_UP
    operstate: str  # UP, DOWN, LOWERLAYERDOWN, UNKNOWN...
    loopback: bool
    addresses: tuple[str, ...] = ()  # "ADDR/PREFIX scope", every family


@dataclass(frozen=True, slots=True, kw_only=True)
class Gateway:
    """The default gateway, its neighbour (ARP/NDP) state after the echo, and the echo."""

    address: str
    interface: str | None
    neighbour: str | None  # NUD state read after the echo; None: no entry at all
    echo: IcmpEcho


@dataclass(frozen=True, slots=True, kw_only=True)
class Beyond:
    """A host beyond the gateway: the route to it and its echo. `role` says why it was
    chosen: named by the user (--beyond) or a DNS server from resolv.conf."""

    address: str
    role: Literal["named", "dns_server"]
    route: RouteLookup
    echo: IcmpEcho | None  # None when there is no route to send it by


@dataclass(frozen=True, slots=True, kw_only=True)
class SelfEvidence:
    """Everything `netdx self` saw, in the order of the method.

    `family` is the address family walked (4 when the host has an IPv4 default route, else
    6: an IPv6-only host). On a dual-stack host the other family's default gateway is
    walked too (`other_gateway`, `other_onlink_default`): a finding beside the walk, not
    a step of it."""

    loopback_echo: IcmpEcho
    interfaces: tuple[Interface, ...]
    gateway: Gateway | None  # None: no default route with a gateway
    onlink_default: str | None = None  # a default route with no gateway (`default dev wg0`)
    family: Literal[4, 6] = 4
    other_gateway: Gateway | None = None
    other_onlink_default: str | None = None
    beyond: tuple[Beyond, ...] = ()
    skipped_servers: tuple[str, ...] = ()  # DNS servers on this host (a stub): not "beyond"
    dns_name: str | None = None  # the name asked (--resolve); None: DNS not asked
    dns: tuple[DnsServerAnswer, ...] = ()  # one answer per configured server
