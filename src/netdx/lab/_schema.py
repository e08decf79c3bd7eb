"""The pydantic schema of a scenario file (imported lazily: pydantic is heavy).

The models only check shape and simple values; `to_scenario` then checks the cross references
(link members, client, run_on, service hosts, what a churn/fill client connects to) and
builds the frozen `netdx.lab.model` values.

Optional top-level fields: ``command: check|inspect|trace`` (default check), ``run_on: HOST``
(default: the client), ``ssh: HOST`` (read that server over SSH: check only) and
``expect_evidence`` (facts of the server's evidence, `netdx.lab.evidence.FACTS`),
``expect_warnings`` (causes the report carries as warnings beside its verdict),
``expect_rate_limited`` (trace only: the hops, by TTL, whose loss the report must call that
router's ICMP rate limit; a trace names no cause, its `expect` is ``ok``). A ``dns``
service may list its ``previous`` records (the zone before a change, which its resolvers
cache); a ``resolver`` (unbound) asks the dns service of its ``zone`` directly. Server
services need ``listen``; client services (``churn``, ``fill``) need ``target: ADDR:PORT``
and ``count``, and take no ``listen``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from netdx.lab.model import (
    CLIENT_KINDS,
    DEFAULT_BACKLOG,
    Host,
    Interface,
    Link,
    Scenario,
    Service,
)

_NAME = r"^[a-z0-9][a-z0-9-]*$"
# Interfaces are named ndx-<link> and IFNAMSIZ allows 15 characters.
LinkName = Annotated[str, Field(pattern=_NAME, max_length=11)]
HostName = Annotated[str, Field(pattern=_NAME, max_length=40)]
_CAUSE = re.compile(r"^(ok|[a-z]+\.[a-z0-9_]+)$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class HostModel(_Model):
    addresses: dict[LinkName, list[str]] = Field(default_factory=dict)
    routes: list[str] = Field(default_factory=list)
    forwarding: bool = False
    hosts: list[str] = Field(default_factory=list)
    resolv: list[str] = Field(default_factory=list)
    gai: list[str] = Field(default_factory=list)
    nftables: str = ""
    sysctls: dict[str, str | int] = Field(default_factory=dict)

    @field_validator("addresses")
    @classmethod
    def _cidrs(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for cidrs in value.values():
            for cidr in cidrs:
                if "/" not in cidr:
                    raise ValueError(f"address {cidr!r} needs a prefix length")
                ipaddress.ip_interface(cidr)
        return value


class ServiceModel(_Model):
    host: HostName
    kind: Literal[
        "tcp", "http", "https", "dns", "resolver", "churn", "fill", "postgres", "redis", "mysql"
    ]
    listen: str = ""
    v6only: bool = False
    mode: Literal["hold", "close", "noaccept", "leak"] = "hold"
    # Small bounds: the lab's states need a handful of sockets, never thousands.
    backlog: int = Field(default=DEFAULT_BACKLOG, ge=0, le=4096)
    target: str = ""
    count: int = Field(default=0, ge=0, le=1000)
    interval: float = Field(default=0.02, ge=0, le=5)
    status: int = Field(default=200, ge=100, le=599)
    server_name: str = ""
    cert: Literal["self_signed", "expired", "wrong_name"] = "self_signed"
    auth: bool = False
    zone: str = ""
    records: list[str] = Field(default_factory=list)
    previous: list[str] = Field(default_factory=list)


class ScenarioModel(_Model):
    name: HostName
    topology: str
    description: str
    fault: str
    hosts: dict[HostName, HostModel]
    links: dict[LinkName, list[HostName]]
    services: list[ServiceModel] = Field(default_factory=list)
    client: HostName
    check: list[str] = Field(min_length=1)
    expect: str
    max_seconds: float = Field(default=4.0, gt=0, le=120)
    command: Literal["check", "inspect", "trace"] = "check"
    run_on: HostName | None = None
    ssh: HostName | None = None
    expect_evidence: list[str] = Field(default_factory=list)
    expect_warnings: list[str] = Field(default_factory=list)
    expect_rate_limited: list[Annotated[int, Field(ge=1, le=64)]] = Field(default_factory=list)

    @field_validator("expect")
    @classmethod
    def _cause(cls, value: str) -> str:
        if not _CAUSE.match(value):
            raise ValueError(f"expect {value!r} is not a cause like 'port.filtered' or 'ok'")
        return value

    @field_validator("expect_warnings")
    @classmethod
    def _warnings(cls, value: list[str]) -> list[str]:
        for cause in value:
            if cause == "ok" or not _CAUSE.match(cause):
                raise ValueError(f"expect_warnings: {cause!r} is not a cause like 'app.x'")
        return value


def to_scenario(model: ScenarioModel) -> Scenario:
    """Check the cross references of a validated file and build the frozen scenario."""
    _check_references(model)
    hosts = tuple(_host(name, spec, model) for name, spec in model.hosts.items())
    links = tuple(Link(name=name, hosts=tuple(members)) for name, members in model.links.items())
    services = tuple(_with_dns(_service(spec), spec, model) for spec in model.services)
    scenario = Scenario(
        name=model.name,
        topology=model.topology,
        description=model.description.strip(),
        fault=model.fault.strip(),
        hosts=hosts,
        links=links,
        services=services,
        client=model.client,
        check=tuple(model.check),
        expect=model.expect,
        max_seconds=model.max_seconds,
        command=model.command,
        run_on=model.run_on or model.client,
        ssh=model.ssh or "",
        expect_evidence=tuple(model.expect_evidence),
        expect_warnings=tuple(model.expect_warnings),
        expect_rate_limited=tuple(model.expect_rate_limited),
    )
    if scenario.ssh and scenario.ssh_address is None:
        raise ValueError(f"ssh: host {scenario.ssh!r} has no address to log in on")
    for index, service in enumerate(services):
        if service.is_client and scenario.target_of(service) is None:
            raise ValueError(
                f"services.{index}.target: no service of the scenario listens on "
                f"{service.target} (a client waits for a state on that server)"
            )
    return scenario


def _check_references(model: ScenarioModel) -> None:
    known = set(model.hosts)
    for link, members in model.links.items():
        if len(members) < 2 or len(set(members)) != len(members):
            raise ValueError(f"links.{link}: needs at least two distinct hosts")
        for member in members:
            if member not in known:
                raise ValueError(f"links.{link}: unknown host {member!r}")
    for name, spec in model.hosts.items():
        if name.startswith("sw-"):
            raise ValueError(f"hosts.{name}: names starting with 'sw-' are for switches")
        for link in spec.addresses:
            if name not in model.links.get(link, []):
                raise ValueError(f"hosts.{name}.addresses: host is not on link {link!r}")
    if model.client not in known:
        raise ValueError(f"client: unknown host {model.client!r}")
    if model.run_on is not None and model.run_on not in known:
        raise ValueError(f"run_on: unknown host {model.run_on!r}")
    _check_ssh(model, known)
    _check_trace(model)
    for index, service in enumerate(model.services):
        if service.host not in known:
            raise ValueError(f"services.{index}.host: unknown host {service.host!r}")
        if service.kind in ("dns", "resolver") and not service.zone.endswith("."):
            raise ValueError(f"services.{index}.zone: a {service.kind} service needs a zone "
                             "ending in '.'")
        _check_dns_shape(index, service, model)
        _check_service_shape(index, service)


def _check_ssh(model: ScenarioModel, known: set[str]) -> None:
    """`ssh` names a host of the scenario, for a check; evidence facts need it."""
    from netdx.lab.evidence import FACTS

    if model.ssh is not None:
        if model.ssh not in known:
            raise ValueError(f"ssh: unknown host {model.ssh!r}")
        if model.command != "check":
            raise ValueError("ssh: only a check reads a server over SSH")
    if model.expect_evidence and model.ssh is None:
        raise ValueError("expect_evidence: the server's evidence needs `ssh: HOST`")
    for fact in model.expect_evidence:
        if fact not in FACTS:
            raise ValueError(f"expect_evidence: unknown fact {fact!r} (known: {', '.join(FACTS)})")


def _check_trace(model: ScenarioModel) -> None:
    """A trace judges reach (ok) and its rate-limited hops; only a trace has hops."""
    if model.command == "trace" and model.expect != "ok":
        raise ValueError("expect: a trace names no cause; it expects 'ok' (the target answers)")
    if model.command == "trace" and model.expect_warnings:
        raise ValueError("expect_warnings: a trace carries no warnings")
    if model.expect_rate_limited and model.command != "trace":
        raise ValueError("expect_rate_limited: only `command: trace` reports hops")


def _check_dns_shape(index: int, service: ServiceModel, model: ScenarioModel) -> None:
    """`previous` is a dns zone's; a resolver's zone is served by a dns service of the file."""
    if service.previous and service.kind != "dns":
        raise ValueError(f"services.{index}.previous: only a dns service has previous records")
    if service.kind == "resolver" and _zone_server(service.zone, model) is None:
        raise ValueError(f"services.{index}.zone: no dns service of the scenario serves "
                         f"{service.zone} (the resolver asks that server for it)")


def _zone_server(zone: str, model: ScenarioModel) -> str | None:
    """The listen address of the scenario's dns service for `zone`."""
    return next((s.listen for s in model.services if s.kind == "dns" and s.zone == zone), None)


def _with_dns(service: Service, spec: ServiceModel, model: ScenarioModel) -> Service:
    """A dns zone's `previous` records; a resolver's stub server (its zone's dns service);
    whether a dns service stands in for a resolver (a host's resolv.conf names it)."""
    stub = _zone_server(spec.zone, model) if spec.kind == "resolver" else None
    named = {line.split()[1] for host in model.hosts.values() for line in host.resolv
             if line.startswith("nameserver ") and len(line.split()) > 1}
    return dataclasses.replace(service, previous=tuple(spec.previous), stub=stub or "",
                               stands_in=spec.listen in named)


def _check_service_shape(index: int, service: ServiceModel) -> None:
    """Servers listen; clients (churn, fill) have a target and a count instead."""
    where = f"services.{index}"
    if service.kind not in CLIENT_KINDS:
        if not service.listen:
            raise ValueError(f"{where}.listen: a {service.kind} service needs a listen address")
        if service.target:
            raise ValueError(f"{where}.target: only churn and fill clients have a target")
        if service.mode != "hold" and service.kind != "tcp":
            raise ValueError(f"{where}.mode: only tcp services have a mode")
        return
    if service.listen:
        raise ValueError(f"{where}.listen: a {service.kind} client does not listen (use target)")
    addr, _, port = service.target.rpartition(":")
    try:
        ipaddress.ip_address(addr.strip("[]"))
        valid = 0 < int(port) < 65536
    except ValueError:
        valid = False
    if not valid:
        raise ValueError(f"{where}.target: {service.target!r} is not ADDR:PORT")
    if service.count < 1:
        raise ValueError(f"{where}.count: a {service.kind} client needs a count of at least 1")


def _host(name: str, spec: HostModel, model: ScenarioModel) -> Host:
    interfaces = tuple(
        Interface(link=link, addresses=tuple(spec.addresses.get(link, ())))
        for link, members in model.links.items()
        if name in members
    )
    return Host(
        name=name,
        interfaces=interfaces,
        routes=tuple(spec.routes),
        forwarding=spec.forwarding,
        hosts=tuple(spec.hosts),
        resolv=tuple(spec.resolv),
        gai=tuple(spec.gai),
        nftables=spec.nftables,
        sysctls=tuple((key, str(value)) for key, value in spec.sysctls.items()),
    )


def _service(spec: ServiceModel) -> Service:
    # The schema is `Service` field for field (the dns-tree fields aside, which no file
    # sets): every checked value passes through, the records list becomes a tuple.
    return Service(**spec.model_dump(exclude={"records"}), records=tuple(spec.records))
