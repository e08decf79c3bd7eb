"""The pydantic schema of `netdx serve`'s config file (imported lazily: pydantic is heavy).

The models check shape and simple values; `to_config` then builds the frozen values and
checks what needs netdx's own parsers (allow entries, ssh destinations and options), each
error naming its field.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from netdx.errors import UsageError
from netdx.options import TIMEOUT_MAX_S, TIMEOUT_MIN_S
from netdx.serve.allow import parse_allowlist
from netdx.serve.config import DEFAULT_MODULE, DEFAULT_TIMEOUT_S, ModuleConfig, ServeConfig

if TYPE_CHECKING:
    from netdx.host.ssh import SshOptions

# Module names travel in URLs (?module=) and become label values: keep them plain.
ModuleName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$")]
Seconds = Annotated[
    float, Field(ge=TIMEOUT_MIN_S, le=TIMEOUT_MAX_S, allow_inf_nan=False, strict=False)
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class ModuleModel(_Model):
    timeout: Seconds = DEFAULT_TIMEOUT_S
    family: Literal[4, 6] | None = None
    dns_servers: list[str] = Field(default_factory=list)
    verify_tls: bool = True
    ssh: str | None = None
    ssh_key: str | None = None
    known_hosts: str | None = None
    ssh_options: list[str] = Field(default_factory=list)
    sudo: bool = False
    cacert: str | None = None
    tls: bool = False

    @field_validator("dns_servers")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        # A name would need DNS itself, as for check's --dns-server.
        return [str(ipaddress.ip_address(server)) for server in value]


class ServeModel(_Model):
    allow_targets: list[str] = Field(min_length=1)
    modules: dict[ModuleName, ModuleModel] = Field(
        default_factory=lambda: {DEFAULT_MODULE: ModuleModel()}
    )
    flows: dict[ModuleName, str] = Field(default_factory=dict)


def to_config(model: ServeModel, *, source: str) -> ServeConfig:
    """The frozen config; UsageError naming the field for a bad allow entry or ssh value."""
    try:
        allow = parse_allowlist(model.allow_targets)
    except UsageError as exc:
        raise UsageError(f"allow_targets: {exc}") from None
    modules = tuple(_module(name, spec, source) for name, spec in model.modules.items())
    return ServeConfig(
        allow=allow, modules=modules, flows=tuple(model.flows.items()), source=source
    )


def _module(name: str, spec: ModuleModel, source: str) -> ModuleConfig:
    try:
        ssh = _ssh(spec, source)
        ca_file, ca_pem = _cacert(spec, source)
    except UsageError as exc:
        raise UsageError(f"modules.{name}: {exc}") from None
    return ModuleConfig(
        name=name,
        timeout=spec.timeout,
        family=spec.family,
        dns_servers=tuple(spec.dns_servers),
        verify_tls=spec.verify_tls,
        ssh=ssh,
        ca_file=ca_file,
        ca_pem=ca_pem,
        tls=spec.tls,
    )


def _cacert(spec: ModuleModel, source: str) -> tuple[str | None, str | None]:
    """The module's CA bundle (beside the config when relative) and its PEM, read now."""
    if spec.cacert is None:
        return None, None
    if not spec.verify_tls:
        raise UsageError("cacert and verify_tls: false cannot be combined")
    from netdx.http_option import read_ca

    path = _beside(spec.cacert, source, "cacert")
    assert path is not None
    return path, read_ca(path)


def _ssh(spec: ModuleModel, source: str) -> SshOptions | None:
    from netdx.host.ssh import SshOptions, parse_option, refused_by_ssh

    if spec.ssh is None:
        keys = ("ssh_key", "known_hosts", "ssh_options", "sudo")
        given = [key for key in keys if getattr(spec, key)]
        if given:
            raise UsageError(f"{given[0]} needs ssh: [USER@]HOST")
        return None
    # Relative key and known_hosts paths are read beside the config file, as people write
    # them next to it; they must exist now, not at the first scrape.
    key = _beside(spec.ssh_key, source, "ssh_key")
    known_hosts = _beside(spec.known_hosts, source, "known_hosts")
    options = tuple(parse_option(text) for text in spec.ssh_options)
    # An option ssh itself refuses is a mistake in the file: said at start, not per scrape.
    why = refused_by_ssh(options, given_as="ssh_options")
    if why is not None:
        raise UsageError(why)
    return SshOptions(
        destination=spec.ssh,
        key=key,
        known_hosts=known_hosts,
        options=options,
        sudo=spec.sudo,
    )


def _beside(path: str | None, source: str, field: str) -> str | None:
    if path is None:
        return None
    full = Path(path) if Path(path).is_absolute() else Path(source).parent / path
    if not full.is_file():
        raise UsageError(f"{field}: {str(full)!r} is not a file")
    return str(full)
