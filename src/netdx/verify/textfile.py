"""`netdx verify --textfile DIR`: the results for node_exporter's textfile collector, with
the exporter's metric names (`netdx_probe_success`, `netdx_probe_cause`...) and one series
per case (labels flow, source, destination). No timestamps (node_exporter refuses them);
written to a temporary file in DIR and renamed, so a scrape never reads half a file.

`netdx_probe_cause` is an enum: 1 for the verdict's cause and 0 for every other code of the
check vocabulary, so a cause that changes flips two series instead of creating one.
"""

from __future__ import annotations

import os
import re

from netdx.errors import UsageError
from netdx.verify.render import Run

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def to_textfile(run: Run) -> str:
    """The Prometheus text exposition of a finished run."""
    from netdx.diagnose import CAUSES

    families: dict[str, tuple[str, list[str]]] = {
        "netdx_probe_success": ("Whether the check's verdict was ok (the flow connected).", []),
        "netdx_probe_duration_seconds": ("How long the flow's check took.", []),
        "netdx_probe_cause": ("The check's verdict cause: 1 for it, 0 for every other cause.", []),
        "netdx_verify_flow_as_expected": ("Whether the flow was as the flows file expects.", []),
        "netdx_verify_flow_error": ("Whether netdx could not run the flow's check.", []),
    }
    for r in run.results:
        c, j = r.case, r.judgement
        labels = (
            f'flow="{_label(c.flow.name)}",source="{_label(c.source_name)}",'
            f'destination="{_label(c.destination)}",expect="{c.flow.expect}"'
        )
        families["netdx_verify_flow_as_expected"][1].append(
            f"{{{labels}}} {int(j.outcome == 'pass')}"
        )
        families["netdx_verify_flow_error"][1].append(f"{{{labels}}} {int(j.outcome == 'error')}")
        if r.report is None:
            continue
        verdict = r.report.verdict
        families["netdx_probe_success"][1].append(f"{{{labels}}} {int(verdict.ok)}")
        families["netdx_probe_duration_seconds"][1].append(
            f"{{{labels}}} {r.report.elapsed_ms / 1000:.6f}"
        )
        for cause in CAUSES:
            families["netdx_probe_cause"][1].append(
                f'{{{labels},cause="{cause}"}} {int(cause == verdict.cause)}'
            )
    lines: list[str] = []
    for name, (help_text, samples) in families.items():
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        lines += [f"{name}{sample}" for sample in samples]
    return "\n".join(lines)


def write_textfile(run: Run, directory: str) -> str:
    """Write `netdx_verify_<flows file stem>.prom` into `directory` atomically; its path."""
    from netdx.options import write_output

    if not os.path.isdir(directory):
        raise UsageError(f"--textfile {directory!r}: not a directory")
    stem = _UNSAFE.sub("_", os.path.splitext(os.path.basename(run.flows.source))[0]) or "flows"
    path = os.path.join(directory, f"netdx_verify_{stem}.prom")
    temporary = f"{path}.{os.getpid()}.tmp"  # node_exporter reads only *.prom
    write_output(temporary, to_textfile(run))
    try:
        os.replace(temporary, path)
    except OSError as exc:
        os.unlink(temporary)
        raise UsageError(f"--textfile {directory!r}: {exc.strerror or exc}") from None
    return path
