"""`netdx lab run --json` carries a schema tag like every other command's JSON document."""

from __future__ import annotations

import json

from netdx.lab.cli import LAB_RUN_SCHEMA, run_document
from netdx.lab.run import RunResult


def test_lab_run_document_is_tagged_and_keeps_its_fields() -> None:
    """The document names its schema (netdx.lab.run/1) and still carries the verdict, the
    expectation and the inner check document, and it serialises as JSON."""
    result = RunResult(
        scenario="healthy-flat", expected="ok", cause="ok", elapsed=0.4, max_seconds=5.0,
        returncode=0, doc={"schema": "netdx.check/1"}, stdout="", stderr="",
    )
    doc = json.loads(json.dumps(run_document(result, "check", "client", None)))
    assert LAB_RUN_SCHEMA == "netdx.lab.run/1"
    assert doc["schema"] == "netdx.lab.run/1"
    assert doc["match"] is True and doc["cause"] == "ok" and doc["run_on"] == "client"
    assert doc["check"] == {"schema": "netdx.check/1"}
