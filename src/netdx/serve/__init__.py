"""`netdx serve`: a Prometheus exporter of `netdx check`, in the manner of blackbox_exporter.

    config = load_config("serve.yaml")          # or default_config(): loopback only
    exporter = Exporter(config)
    response = exporter.handle("/probe?target=db-server-01:5432", headers={})

`GET /probe?target=…&module=…` runs one check within the scrape's deadline and answers a
fresh registry (`probe_registry`); a target the config's `allow_targets` does not list is
refused with 403 before anything is sent. Importing this package is cheap: yaml, pydantic
and prometheus_client are imported when a config is read or metrics are made.
"""

from netdx.serve.allow import Allowlist, effective_address, parse_allowlist
from netdx.serve.config import ModuleConfig, ServeConfig, default_config, load_config, parse_config
from netdx.serve.metrics import ExporterMetrics, cause_vocabulary, debug_text, probe_registry
from netdx.serve.probe import (
    OVERRUN_GRACE_S,
    SCRAPE_MARGIN_S,
    ProbeBudget,
    ProbeOutcome,
    probe_budget,
    run_probe,
)
from netdx.serve.server import MAX_PROBES_IN_FLIGHT, Exporter, Response, make_server

__all__ = [
    "MAX_PROBES_IN_FLIGHT",
    "OVERRUN_GRACE_S",
    "SCRAPE_MARGIN_S",
    "Allowlist",
    "Exporter",
    "ExporterMetrics",
    "ModuleConfig",
    "ProbeBudget",
    "ProbeOutcome",
    "Response",
    "ServeConfig",
    "cause_vocabulary",
    "debug_text",
    "default_config",
    "effective_address",
    "load_config",
    "make_server",
    "parse_allowlist",
    "parse_config",
    "probe_budget",
    "probe_registry",
    "run_probe",
]
