"""A lab scenario as frozen values: topology, services, the fault and the expected verdict.

Scenario files (``scenarios/*.yaml``) are validated into these by `netdx.lab.loader`; nothing
here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PREFIX = "ndx-"
"""Every namespace and interface the lab creates starts with this, so `clean` can find them."""

ServiceKind = Literal["tcp", "http", "https", "dns"]
TcpMode = Literal["hold", "close"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Interface:
    """One host's leg on a link: the interface is named ``ndx-<link>`` inside the host."""

    link: str
    addresses: tuple[str, ...] = ()

    @property
    def ifname(self) -> str:
        return PREFIX + self.link


@dataclass(frozen=True, slots=True, kw_only=True)
class Host:
    """A host: one network namespace ``ndx-<name>`` and what is configured in it."""

    name: str
    interfaces: tuple[Interface, ...]
    routes: tuple[str, ...] = ()
    forwarding: bool = False
    hosts: tuple[str, ...] = ()
    resolv: tuple[str, ...] = ()
    gai: tuple[str, ...] = ()
    nftables: str = ""
    sysctls: tuple[tuple[str, str], ...] = ()

    @property
    def namespace(self) -> str:
        return PREFIX + self.name


@dataclass(frozen=True, slots=True, kw_only=True)
class Link:
    """An L2 segment: two hosts get a direct veth pair, more get a bridge in ``ndx-sw-<name>``."""

    name: str
    hosts: tuple[str, ...]

    @property
    def switched(self) -> bool:
        return len(self.hosts) > 2

    @property
    def switch_namespace(self) -> str:
        return f"{PREFIX}sw-{self.name}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Service:
    """A server process started inside a host's namespace.

    `listen` is ``addr:port`` (``[v6]:port`` for IPv6); for ``dns`` it is the address nsd
    binds on port 53, serving `zone` with `records` (zone-file lines relative to the zone).
    """

    host: str
    kind: ServiceKind
    listen: str
    v6only: bool = False
    mode: TcpMode = "hold"
    status: int = 200
    server_name: str = ""
    zone: str = ""
    records: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """One failure mode: the world to build, where to run `netdx check`, and what it must say."""

    name: str
    topology: str
    description: str
    fault: str
    hosts: tuple[Host, ...]
    links: tuple[Link, ...]
    services: tuple[Service, ...]
    client: str
    check: tuple[str, ...]
    expect: str
    max_seconds: float = 4.0

    def host(self, name: str) -> Host:
        """The host called `name` (KeyError if the scenario has none)."""
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError(name)

    @property
    def namespaces(self) -> tuple[str, ...]:
        """Every namespace the scenario needs: switches first, then hosts."""
        switches = tuple(link.switch_namespace for link in self.links if link.switched)
        return switches + tuple(host.namespace for host in self.hosts)

    @property
    def summary(self) -> str:
        """The first sentence of the description, for listings."""
        first = self.description.strip().split("\n\n", 1)[0].replace("\n", " ")
        return first.split(". ", 1)[0].rstrip(".")
