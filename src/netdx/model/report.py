"""Findings, steps, the verdict and the report: what the engine hands to renderers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from netdx.model.target import Target

CHECK_SCHEMA = "netdx.check/1"

Layer = Literal["dns", "route", "reach", "port", "service", "firewall", "path", "app", "ok"]
StepStatus = Literal["pass", "fail", "warn", "skip", "unknown"]
Severity = Literal["fail", "warn"]

# The order of the walk: the lowest failing layer names the verdict.
LAYER_ORDER: tuple[str, ...] = ("dns", "route", "reach", "port", "service")


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One rule's conclusion: a cause from the public vocabulary (docs/causes.md).

    `step` is the walk step the finding belongs to (dns, route, reach, port, service);
    `evidence` lines quote what proves it; `fix` lines say what fixes or confirms it.
    """

    cause: str
    severity: Severity
    step: str
    summary: str
    evidence: tuple[str, ...] = ()
    fix: tuple[str, ...] = ()

    @property
    def layer(self) -> str:
        return self.cause.split(".", 1)[0]


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One layer of the walk as shown to the user. `evidence` is a JSON-ready mapping."""

    layer: str
    status: StepStatus
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    elapsed_ms: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
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


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """A finished check: renderers read only this."""

    target: Target
    steps: tuple[Step, ...]
    verdict: Verdict
    elapsed_ms: float
    schema: str = CHECK_SCHEMA
