"""A lab scenario as frozen values: topology, services, the fault and the expected verdict.

Scenario files (``scenarios/*.yaml``) are validated into these by `netdx.lab.loader`; nothing
here does I/O.

A scenario runs ``netdx <command> <check...>`` on host `run_on` (default: the `client`) and
compares the verdict's cause with `expect`. `command` is ``check`` (the default: `check` is
then the target, ``["db-server-01:5432"]``) or ``inspect`` (run on the server: `check` holds
its arguments, ``["--port", "8080"]``) or ``trace`` (`check` holds its arguments, the
target last: a trace has no verdict, its cause is ``ok`` when the target answered, and
`expect_rate_limited` names the hops whose loss the report must call that router's ICMP
rate limit rather than loss on the path).

With ``ssh: HOST`` the lab also runs a real OpenSSH sshd on that host (key-only, keys and
known_hosts in the lab's state dir) and the check runs with ``--ssh root@<its address>``:
then `expect_evidence` names facts of the server's evidence (`netdx.lab.evidence.FACTS`)
that must hold besides the verdict. `expect_warnings` names causes the report must carry as
warnings beside its verdict (a server finding that did not decide it).

Services are servers (tcp, http, https, dns), or clients that create a state on a server
before the command runs: ``churn`` opens and closes `count` connections to `target`, one
every `interval` seconds (against a ``leak`` server they pile up in CLOSE-WAIT); ``fill``
opens `count` connections to `target` and holds them (against a ``noaccept`` listener with a
small `backlog` they fill its accept queue).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from netdx.model.record import record

PREFIX = "ndx-"
"""Every namespace and interface the lab creates starts with this, so `clean` can find them.
A built lab's namespaces carry its instance's prefix too (``ndx-<4 hex>-``, see
`Scenario.with_prefix`), so that two labs live side by side; interface names stay
``ndx-<link>``: they only need to be unique inside their namespace (IFNAMSIZ is 15)."""

ServiceKind = Literal[
    "tcp", "http", "https", "dns", "resolver", "churn", "fill", "postgres", "redis", "mysql"
]
# An https certificate: self-signed for the name, already expired, or for another name.
CertKind = Literal["self_signed", "expired", "wrong_name"]
TcpMode = Literal["hold", "close", "noaccept", "leak"]
Command = Literal["check", "inspect", "trace"]
CLIENT_KINDS: tuple[ServiceKind, ...] = ("churn", "fill")
DEFAULT_BACKLOG = 128


@record
class Interface:
    """One host's leg on a link: the interface is named ``ndx-<link>`` inside the host."""

    link: str
    addresses: tuple[str, ...] = ()

    @property
    def ifname(self) -> str:
        return PREFIX + self.link


@record
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
    prefix: str = PREFIX  # the namespace prefix: a lab instance's ``ndx-<hex>-`` once built

    @property
    def namespace(self) -> str:
        return self.prefix + self.name


@record
class Link:
    """An L2 segment: two hosts get a direct veth pair, more get a bridge in ``ndx-sw-<name>``."""

    name: str
    hosts: tuple[str, ...]
    prefix: str = PREFIX  # as `Host.prefix`

    @property
    def switched(self) -> bool:
        return len(self.hosts) > 2

    @property
    def switch_namespace(self) -> str:
        return f"{self.prefix}sw-{self.name}"


@record
class Service:
    """A process started inside a host's namespace: a server, or a client (`is_client`).

    `listen` is ``addr:port`` (``[v6]:port`` for IPv6); for ``dns`` it is the address nsd
    binds on port 53, serving `zone` with `records` (zone-file lines relative to the zone),
    or the whole `zone_files`; for ``resolver`` the address unbound binds, iterating from
    the root `hints` (unbound's own when empty), with `zone` asked of `stub` directly.
    A tcp server's `mode`: ``hold`` reads each connection until the peer closes, then closes
    it; ``close`` closes it after 100 ms; ``noaccept`` listens with `backlog` and never calls
    accept(); ``leak`` accepts and never closes (CLOSE-WAIT piles up as clients close).
    Clients (``churn``, ``fill``) connect to `target` (``addr:port``) `count` times.
    """

    host: str
    kind: ServiceKind
    listen: str = ""
    v6only: bool = False
    mode: TcpMode = "hold"
    backlog: int = DEFAULT_BACKLOG
    target: str = ""
    count: int = 0
    interval: float = 0.02
    status: int = 200
    server_name: str = ""
    cert: CertKind = "self_signed"
    auth: bool = False  # redis: requirepass set (PING answers -NOAUTH)
    zone: str = ""
    records: tuple[str, ...] = ()
    # The dns-tree family (`netdx.lab.dnstree`): whole zones (name, text) an nsd serves
    # instead of `zone` + `records`, and the root hints of a `resolver` (unbound).
    zone_files: tuple[tuple[str, str], ...] = ()
    hints: str = ""
    # A dns service's zone before a change (full record lines): the lab serves these first,
    # lets each resolver of the zone cache the changed names, then serves `records`: a
    # resolver cache that outlives a record change (dns.stale_cache), built for real.
    previous: tuple[str, ...] = ()
    # A resolver's stub zone: it asks the scenario's server `stub` (an address) for `zone`,
    # as a site resolver does for an internal zone the public root does not know.
    stub: str = ""
    # A dns service that a host's resolv.conf names stands in for a recursive resolver and
    # serves an empty root too (NXDOMAIN, not REFUSED, outside its zone); a plain
    # authoritative server (a resolver's stub, a delegated server) refuses other zones.
    stands_in: bool = True

    @property
    def is_client(self) -> bool:
        """True for the client kinds (churn, fill): they connect, nothing listens."""
        return self.kind in CLIENT_KINDS


@record
class Scenario:
    """One failure mode: the world to build, what to run where, and what it must say."""

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
    command: Command = "check"
    run_on: str = ""
    ssh: str = ""
    expect_evidence: tuple[str, ...] = ()
    expect_warnings: tuple[str, ...] = ()
    expect_rate_limited: tuple[int, ...] = ()

    @property
    def runner(self) -> str:
        """The host the command runs on: `run_on`, or the client when it is empty."""
        return self.run_on or self.client

    @property
    def argv(self) -> tuple[str, ...]:
        """The netdx arguments: ``(command, *check)``."""
        return (self.command, *self.check)

    @property
    def ssh_address(self) -> str | None:
        """The address the runner reaches the `ssh` host on: its first address on a link
        they share (the way an operator would log in), else its first address."""
        if not self.ssh:
            return None
        server, runner = self.host(self.ssh), self.host(self.runner)
        shared = {i.link for i in runner.interfaces}
        legs = sorted(server.interfaces, key=lambda i: i.link not in shared)
        for interface in legs:
            for cidr in interface.addresses:
                return cidr.split("/", 1)[0]
        return None

    def with_prefix(self, prefix: str) -> Scenario:
        """The same scenario with every namespace named ``<prefix><host>`` (a lab instance)."""
        return replace(
            self,
            hosts=tuple(replace(host, prefix=prefix) for host in self.hosts),
            links=tuple(replace(link, prefix=prefix) for link in self.links),
        )

    def host(self, name: str) -> Host:
        """The host called `name` (KeyError if the scenario has none)."""
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError(name)

    def host_with_address(self, address: str) -> Host | None:
        """The host that has `address` on one of its interfaces, if any."""
        for host in self.hosts:
            for interface in host.interfaces:
                if any(cidr.split("/", 1)[0] == address for cidr in interface.addresses):
                    return host
        return None

    def target_of(self, client: Service) -> Service | None:
        """The listening service a client (churn, fill) connects to: same port, on the host
        that owns the target address (the client's own host for a loopback address)."""
        addr, _, port = client.target.rpartition(":")
        addr = addr.strip("[]")
        owner = self.host_with_address(addr)
        if owner is None and (addr.startswith("127.") or addr == "::1"):
            owner = self.host(client.host)
        if owner is None:
            return None
        for service in self.services:
            same_port = service.listen.rpartition(":")[2] == port
            if service.host == owner.name and not service.is_client and same_port:
                return service
        return None

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
