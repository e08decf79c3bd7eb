"""The rules on evidence captured from real runs in the lab (no network here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netdx.diagnose import CAUSES, diagnose
from netdx.model import CheckEvidence
from netdx.model.codec import from_data, to_data

FIXTURES = Path(__file__).parent / "fixtures" / "evidence"
CAPTURED = sorted(FIXTURES.glob("*.json"))


def test_every_lab_scenario_was_captured() -> None:
    """Each shipped `check` scenario has captured evidence (re-run capture.py after adding
    one); `inspect` scenarios make no check evidence."""
    from netdx.lab import list_scenarios

    names = {p.stem for p in CAPTURED}
    assert {s.name for s in list_scenarios() if s.command == "check"} <= names


@pytest.mark.parametrize("path", CAPTURED, ids=lambda p: p.stem)
def test_captured_evidence_gives_the_expected_cause(path: Path) -> None:
    """Real evidence from a lab scenario is diagnosed as the scenario's expected cause."""
    evidence = from_data(CheckEvidence, json.loads(path.read_text()))
    expected = path.with_suffix(".expect").read_text().strip()
    steps, verdict = diagnose(evidence)
    assert verdict.cause == expected
    assert verdict.cause in CAUSES
    assert [s.layer for s in steps] == ["dns", "route", "reach", "port", "service"]


@pytest.mark.parametrize("path", CAPTURED, ids=lambda p: p.stem)
def test_captured_evidence_round_trips(path: Path) -> None:
    """The codec rebuilds exactly what it wrote (captures older than a defaulted field,
    like `observed_on`, load with its default)."""
    evidence = from_data(CheckEvidence, json.loads(path.read_text()))
    assert from_data(CheckEvidence, json.loads(json.dumps(to_data(evidence)))) == evidence
