"""The pydantic schema of a scenario file (imported lazily: pydantic is heavy).

The models only check shape and simple values; `to_scenario` then checks the cross references
(link members, client, service hosts) and builds the frozen `netdx.lab.model` values.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from netdx.lab.model import Host, Interface, Link, Scenario, Service

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
    kind: Literal["tcp", "http", "https", "dns"]
    listen: str
    v6only: bool = False
    mode: Literal["hold", "close"] = "hold"
    status: int = Field(default=200, ge=100, le=599)
    server_name: str = ""
    zone: str = ""
    records: list[str] = Field(default_factory=list)


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

    @field_validator("expect")
    @classmethod
    def _cause(cls, value: str) -> str:
        if not _CAUSE.match(value):
            raise ValueError(f"expect {value!r} is not a cause like 'port.filtered' or 'ok'")
        return value


def to_scenario(model: ScenarioModel) -> Scenario:
    """Check the cross references of a validated file and build the frozen scenario."""
    _check_references(model)
    hosts = tuple(_host(name, spec, model) for name, spec in model.hosts.items())
    links = tuple(Link(name=name, hosts=tuple(members)) for name, members in model.links.items())
    services = tuple(_service(spec) for spec in model.services)
    return Scenario(
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
    )


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
    for index, service in enumerate(model.services):
        if service.host not in known:
            raise ValueError(f"services.{index}.host: unknown host {service.host!r}")
        if service.kind == "dns" and not service.zone.endswith("."):
            raise ValueError(f"services.{index}.zone: a dns service needs a zone ending in '.'")


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
    return Service(
        host=spec.host,
        kind=spec.kind,
        listen=spec.listen,
        v6only=spec.v6only,
        mode=spec.mode,
        status=spec.status,
        server_name=spec.server_name,
        zone=spec.zone,
        records=tuple(spec.records),
    )
