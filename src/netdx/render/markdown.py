"""The report as Markdown: for a ticket or a chat message."""

from __future__ import annotations

from netdx.model import Report
from netdx.render.terminal import STATUS_ICONS


def _cell(text: str) -> str:
    """Text safe inside a table cell: pipes escaped, no line breaks."""
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: Report) -> str:
    """A heading, a table of the steps, and the verdict with its evidence and fix as lists."""
    verdict = report.verdict
    lines = [
        f"# netdx check `{report.target.raw}`",
        "",
        "| Step | Status | Summary |",
        "| --- | --- | --- |",
    ]
    for step in report.steps:
        icon = STATUS_ICONS.get(step.status, "?")
        lines.append(f"| {step.layer} | {icon} {step.status} | {_cell(step.summary)} |")
    if report.remote is not None:
        lines += ["", f"Server (ssh `{report.remote.destination}`):", ""]
        lines += [f"- {line}" for line in report.remote.lines]
    lines += ["", f"**Verdict: `{verdict.cause}`** — {verdict.summary}", ""]
    if verdict.evidence:
        lines += ["Evidence:", "", *(f"- {e}" for e in verdict.evidence), ""]
    if verdict.fix:
        lines += ["Fix:", "", *(f"- {f}" for f in verdict.fix), ""]
    if verdict.warnings:
        lines += ["Warnings:", "", *(f"- `{w.cause}`: {w.summary}" for w in verdict.warnings), ""]
    lines.append(f"_{report.schema}, {report.elapsed_ms:.0f} ms_")
    return "\n".join(lines) + "\n"
