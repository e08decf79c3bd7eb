"""The config of `netdx serve`: which targets it may probe and how (its modules).

    allow_targets: [127.0.0.0/8, 10.0.0.0/24, db-server-01]
    modules:
      default: {timeout: 5}
      db_join: {timeout: 5, ssh: root@db-server-01}

YAML (a safe loader) → pydantic schema (`_schema.py`, imported lazily: pydantic is heavy)
→ frozen values. A bad file raises `UsageError` with one line: the file, the field, what is
wrong. Without a file, `default_config()` allows loopback only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from netdx.config_text import first_error, yaml_mapping
from netdx.errors import UsageError
from netdx.files import MIB, read_user_file
from netdx.model.evidence import Family
from netdx.model.record import record
from netdx.serve.allow import LOOPBACK, Allowlist

if TYPE_CHECKING:
    from netdx.host.ssh import SshOptions
    from netdx.plan import CheckSettings

DEFAULT_MODULE = "default"
DEFAULT_TIMEOUT_S = 5.0


@record
class ModuleConfig:
    """How a probe of this module runs: `netdx check`'s settings, named."""

    name: str
    timeout: float = DEFAULT_TIMEOUT_S
    family: Family | None = None
    dns_servers: tuple[str, ...] = ()
    verify_tls: bool = True
    ssh: SshOptions | None = None
    # The CA bundle that https:// (and --tls) certificates are verified against instead of
    # the system store, as check's --cacert: its path, and its PEM text read at start-up.
    ca_file: str | None = None
    ca_pem: str | None = None
    tls: bool = False  # check --tls: a TLS handshake after the connect of HOST:PORT targets

    def settings(self, timeout: float) -> CheckSettings:
        """The check's settings with the budget `timeout` (the module's, or less when the
        scrape deadline is nearer)."""
        from netdx.model.service import HttpOptions
        from netdx.plan import CheckSettings

        trust = HttpOptions(ca_file=self.ca_file, ca_pem=self.ca_pem, insecure=not self.verify_tls)
        return CheckSettings(
            timeout=timeout,
            family=self.family,
            dns_servers=self.dns_servers,
            verify_tls=self.verify_tls,
            ssh=self.ssh,
            http=trust if trust != HttpOptions() else None,
            tls=self.tls,
        )


@record
class ServeConfig:
    """Everything `netdx serve` takes from its config file. `flows` (name → flows file) is
    kept for `/verify`, which `netdx verify` serves."""

    allow: Allowlist
    modules: tuple[ModuleConfig, ...]
    flows: tuple[tuple[str, str], ...] = ()
    source: str = ""

    def module(self, name: str) -> ModuleConfig | None:
        """The module called `name`, or None."""
        return next((m for m in self.modules if m.name == name), None)


def default_config() -> ServeConfig:
    """No --config: loopback only, one default module."""
    return ServeConfig(
        allow=Allowlist(networks=LOOPBACK),
        modules=(ModuleConfig(name=DEFAULT_MODULE),),
        source="no --config: loopback only",
    )


def load_config(path: str) -> ServeConfig:
    """Read and validate the config file at `path`; UsageError with one line if bad."""
    text = read_user_file(path, what="serve config", limit=MIB)
    return parse_config(text, source=path)


def parse_config(text: str, *, source: str = "<config>") -> ServeConfig:
    """Validate config YAML text into a `ServeConfig`, or raise a one-line `UsageError`."""
    import pydantic

    from netdx.serve._schema import ServeModel, to_config

    data = yaml_mapping(text, source, what="a serve config")
    try:
        return to_config(ServeModel.model_validate(data), source=source)
    except pydantic.ValidationError as exc:
        raise UsageError(f"{source}: {first_error(exc)}") from exc
    except UsageError as exc:
        raise UsageError(f"{source}: {exc}") from exc


def with_trust(config: ServeConfig, *, cacert: str | None, insecure: bool) -> ServeConfig:
    """`serve --cacert FILE` / `-k`: the trust of every module that does not set its own
    (a module's `cacert:` or `verify_tls: false` wins). UsageError for a bad bundle."""
    if cacert is None and not insecure:
        return config
    from dataclasses import replace

    from netdx.http_option import read_ca

    if cacert is not None and insecure:
        raise UsageError("--cacert and -k/--insecure cannot be combined")
    pem = read_ca(cacert) if cacert is not None else None
    modules = tuple(
        m if m.ca_file is not None or not m.verify_tls
        else replace(m, ca_file=cacert, ca_pem=pem, verify_tls=not insecure)
        for m in config.modules
    )  # fmt: skip
    return replace(config, modules=modules)
