"""What `netdx serve` exposes: a fresh registry per probe, and the exporter's own metrics.

prometheus_client is imported inside the functions: `netdx --help` must not load it.

The cause is an enum-style gauge, `netdx_probe_cause{cause="…"}`: 1 for the verdict's cause
and 0 for every other code of `netdx check`'s vocabulary (`netdx.diagnose.CAUSES`), so each
target has the same bounded set of series whatever happens, and `changes()` or a `== 1`
match works in PromQL. A cause outside that vocabulary (a bug) is shown as `unknown`.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from netdx.serve.probe import PROBE_CAUSE_UNKNOWN, ProbeOutcome

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def cause_vocabulary() -> tuple[str, ...]:
    """Every cause a check's verdict can carry: the label values of netdx_probe_cause."""
    from netdx.diagnose import CAUSES

    return CAUSES


def shown_cause(outcome: ProbeOutcome) -> str:
    """The outcome's cause as exported: one of the vocabulary, always."""
    cause = outcome.cause
    return cause if cause in cause_vocabulary() else PROBE_CAUSE_UNKNOWN


def probe_registry(outcome: ProbeOutcome) -> CollectorRegistry:
    """A new registry holding this probe's metrics only (nothing of earlier probes)."""
    from prometheus_client import CollectorRegistry, Gauge

    registry = CollectorRegistry(auto_describe=False)

    def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
        return Gauge(name, doc, labels, registry=registry)

    gauge("netdx_probe_success", "1 when the check's verdict is ok.").set(outcome.success)
    gauge("netdx_probe_duration_seconds", "How long the check took.").set(
        round(outcome.duration_s, 6)
    )
    layers = gauge(
        "netdx_probe_layer_duration_seconds", "Time spent on each layer of the walk.", ("layer",)
    )
    for step in outcome.report.steps if outcome.report is not None else ():
        layers.labels(layer=step.layer).set(step.elapsed_ms / 1000)
    cause = gauge(
        "netdx_probe_cause",
        "1 for the cause the check named, 0 for every other cause netdx knows.",
        ("cause",),
    )
    mine = shown_cause(outcome)
    for code in cause_vocabulary():
        cause.labels(cause=code).set(1 if code == mine else 0)
    gauge("netdx_probe_timeout_seconds", "The budget the check was given.").set(
        outcome.budget.seconds
    )
    gauge(
        "netdx_probe_cut_short",
        "1 when the scrape deadline gave the check less than its module's timeout, "
        "or the check ran past it and was abandoned.",
    ).set(outcome.budget.cut_short or outcome.overran)
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The registry in Prometheus' text format."""
    from prometheus_client import generate_latest

    return generate_latest(registry)


def debug_text(outcome: ProbeOutcome) -> str:
    """`debug=true`: how the probe ran, the check's report as the terminal shows it (plain
    text), then the metrics it exports."""
    lines = [
        f"netdx serve: probe of {outcome.target.raw} with module {outcome.module!r}",
        outcome.budget.describe(),
        f"took {outcome.duration_s:.3f} s",
    ]
    if outcome.error is not None:
        lines.append(f"no report: {outcome.error}")
    out = io.StringIO()
    out.write("\n".join(lines) + "\n\n")
    if outcome.report is not None:
        from netdx.render.terminal import render_terminal

        render_terminal(outcome.report, file=out, width=100, color=False)
        out.write("\n")
    out.write("Metrics:\n")
    out.write(exposition(probe_registry(outcome)).decode())
    return out.getvalue()


class ExporterMetrics:
    """The exporter's own registry (`GET /metrics`): requests, probes, errors.

    Label values are bounded: `path` by the routes, `module` by the config, `result` and
    `reason` by the lists below.
    """

    RESULTS = ("success", "failure", "denied", "error")
    REASONS = ("could_not_run", "overran", "bad_request", "busy", "internal")

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, ProcessCollector

        self.registry = CollectorRegistry(auto_describe=False)
        ProcessCollector(registry=self.registry)
        self.requests = Counter(
            "netdx_serve_requests",
            "HTTP requests served, by path and status code.",
            ("path", "code"),
            registry=self.registry,
        )
        self.probes = Counter(
            "netdx_serve_probes",
            "Probes answered, by module and result (denied: the target is not allowed).",
            ("module", "result"),
            registry=self.registry,
        )
        self.errors = Counter(
            "netdx_serve_errors",
            "Probes without a verdict or refused, by reason.",
            ("reason",),
            registry=self.registry,
        )
        self.cut_short = Counter(
            "netdx_serve_probes_cut_short",
            "Probes whose budget the scrape deadline shortened.",
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "netdx_serve_probes_in_flight", "Checks running now.", registry=self.registry
        )
        for reason in self.REASONS:  # every series exists from the start, at 0
            self.errors.labels(reason=reason)

    def count_request(self, path: str, code: int) -> None:
        self.requests.labels(path=path, code=str(code)).inc()

    def count_probe(self, module: str, result: str) -> None:
        self.probes.labels(module=module, result=result).inc()

    def count_error(self, reason: str) -> None:
        self.errors.labels(reason=reason).inc()

    def render(self) -> bytes:
        return exposition(self.registry)
