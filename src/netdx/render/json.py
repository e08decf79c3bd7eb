"""The stable JSON document of a check (schema `netdx.check/1`), and the one JSON contract
of a verdict and of a finding that every command's document reuses."""

from __future__ import annotations

import json

from netdx.model import Finding, Report, StepEvidence, Verdict
from netdx.model.data import to_data  # no typing nor dataclasses (model.data says why)
from netdx.model.record import fields

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def report_document(report: Report) -> dict[str, Any]:
    """The report as the JSON-ready mapping of the `netdx.check/1` contract."""
    target: dict[str, Any] = {
        "raw": report.target.raw,
        "host": report.target.host,
        "port": report.target.port,
        "scheme": report.target.scheme,
    }
    if report.target.url is not None:
        target["url"] = report.target.url
    document: dict[str, Any] = {
        "schema": report.schema,
        "target": target,
        "observed_on": to_data(report.observed_on, omit_none=True),
        "steps": [
            {
                "layer": s.layer,
                "status": s.status,
                "summary": s.summary,
                "evidence": step_evidence(s.evidence),
                "elapsed_ms": s.elapsed_ms,
            }
            for s in report.steps
        ],
        "verdict": verdict_document(report.verdict),
        "elapsed_ms": report.elapsed_ms,
    }
    if report.remote is not None:
        # A new key, present only with --ssh: documents without it are unchanged.
        document["remote"] = to_data(report.remote, omit_none=True)
    return document


def verdict_document(verdict: Verdict) -> dict[str, Any]:
    """The one JSON contract of a verdict, shared by every command that gives one
    (`netdx check`, `netdx inspect`): layer, cause, summary, evidence, fix, warnings."""
    return {
        "layer": verdict.layer,
        "cause": verdict.cause,
        "summary": verdict.summary,
        "evidence": list(verdict.evidence),
        "fix": list(verdict.fix),
        "warnings": [{"cause": w.cause, "summary": w.summary} for w in verdict.warnings],
    }


def finding_document(finding: Finding) -> dict[str, Any]:
    """One rule's finding as JSON: the verdict's keys plus its severity and walk step, which
    is the codec's form of a `Finding` (its fields in order, tuples as lists)."""
    document: dict[str, Any] = to_data(finding)
    return document


def step_evidence(evidence: StepEvidence) -> dict[str, Any]:
    """A step's payloads in the contract: the DNS evidence's own fields for the dns step,
    else one list per kind of payload that has any; None fields are left out."""
    out: dict[str, Any] = {}
    if evidence.dns is not None:
        out.update(to_data(evidence.dns, omit_none=True))
    for f in fields(type(evidence)):
        items = getattr(evidence, f.name)
        if f.name != "dns" and items:
            out[f.name] = to_data(items, omit_none=True)
    return out


def to_json(report: Report) -> str:
    """The report as a JSON text (2-space indent, UTF-8 kept readable, no trailing newline)."""
    return json.dumps(report_document(report), indent=2, ensure_ascii=False)
