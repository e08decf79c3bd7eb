"""Findings, steps, the verdict and the report: what the engine hands to renderers."""

from __future__ import annotations

from netdx.model.evidence import (
    DnsEvidence,
    EgressCheck,
    HttpExchange,
    IcmpEcho,
    PathTrace,
    RouteLookup,
    TcpConnect,
    UdpExchange,
)
from netdx.model.finding import Finding, Severity
from netdx.model.literal import Literal  # typing's to mypy; no typing import at run time
from netdx.model.record import field, record
from netdx.model.service import ServiceHandshake, TlsExchange
from netdx.model.target import Target
from netdx.model.vantage import THIS_HOST, Vantage
from netdx.netlink._lazy import lazy_exports

TYPE_CHECKING = False
if TYPE_CHECKING:
    from netdx.model.remote import RemoteReport

# --ssh's report type, named by Report's annotation only: imported on first use (the codec
# reads it through this), not by every check (netdx.model.remote's 8 records, ~1.5 ms).
__getattr__ = lazy_exports(__name__, {"RemoteReport": "netdx.model.remote"})

CHECK_SCHEMA = "netdx.check/1"

Layer = Literal["dns", "route", "reach", "port", "service", "firewall", "path", "app", "ok"]
StepStatus = Literal["pass", "fail", "warn", "skip", "unknown"]

# The order of the walk: the lowest failing layer names the verdict.
LAYER_ORDER: tuple[str, ...] = ("dns", "route", "reach", "port", "service")

__all__ = [
    "CHECK_SCHEMA",
    "LAYER_ORDER",
    "Finding",
    "Layer",
    "Report",
    "Severity",
    "Step",
    "StepEvidence",
    "StepStatus",
    "Verdict",
]


@record
class StepEvidence:
    """The typed payloads one step of the walk shows: the DNS evidence for the dns step;
    for the others, one payload per probed address, in address order. Empty when skipped."""

    dns: DnsEvidence | None = None
    routes: tuple[RouteLookup, ...] = ()
    echo: tuple[IcmpEcho, ...] = ()
    liveness: tuple[TcpConnect, ...] = ()
    tcp: tuple[TcpConnect, ...] = ()
    egress: tuple[EgressCheck, ...] = ()
    path: tuple[PathTrace, ...] = ()
    http: tuple[HttpExchange, ...] = ()
    udp: tuple[UdpExchange, ...] = ()  # udp:// and dns:// targets (port step)
    handshake: tuple[ServiceHandshake, ...] = ()  # postgres, redis, mysql
    tls: tuple[TlsExchange, ...] = ()  # check --tls on a target that is not https://


@record
class Step:
    """One layer of the walk as shown to the user, with the payloads that back it."""

    layer: str
    status: StepStatus
    summary: str
    evidence: StepEvidence = field(default_factory=StepEvidence)
    elapsed_ms: float = 0.0


@record
class Verdict:
    """The one answer: `layer` is the cause's prefix (`ok` for ok)."""

    cause: str
    summary: str
    evidence: tuple[str, ...] = ()
    fix: tuple[str, ...] = ()
    warnings: tuple[Finding, ...] = ()

    @property
    def layer(self) -> str:
        return self.cause.split(".", 1)[0]

    @property
    def ok(self) -> bool:
        return self.cause == "ok"


@record
class Report:
    """A finished check: renderers read only this. `observed_on` is where it was run;
    `remote` the server's side when the check ran with `--ssh`."""

    target: Target
    steps: tuple[Step, ...]
    verdict: Verdict
    elapsed_ms: float
    schema: str = CHECK_SCHEMA
    observed_on: Vantage = THIS_HOST
    remote: RemoteReport | None = None
