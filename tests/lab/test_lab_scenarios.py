"""Every shipped scenario, run for real: `netdx check` must name the expected cause in time."""

from __future__ import annotations

from pathlib import Path

import pytest

from netdx.lab import run_scenario
from netdx.lab.loader import scenario_files

pytestmark = pytest.mark.lab


@pytest.mark.parametrize("name", [path.stem for path in scenario_files()])
def test_scenario_verdict(name: str, lab_env: Path) -> None:
    """`netdx check` on the scenario's client returns the expected cause within max seconds."""
    result = run_scenario(name)
    detail = f"stdout={result.stdout[-400:]!r} stderr={result.stderr[-400:]!r}"
    assert result.cause == result.expected, detail
    assert result.elapsed <= result.max_seconds, f"took {result.elapsed:.2f} s"
