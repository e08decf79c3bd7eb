"""Every shipped scenario, run for real: `netdx check` must name the expected cause in time."""

from __future__ import annotations

from pathlib import Path

import pytest

from netdx.lab import load_scenario, run_scenario
from netdx.lab.loader import scenario_files

pytestmark = pytest.mark.lab

# Only a guard against a hang: the wall clock of `ip netns exec python -m netdx` includes
# start-up and the machine's load, so "in time" is read from the report's own clock.
HANG_GUARD_S = 30.0


@pytest.mark.parametrize("name", [path.stem for path in scenario_files()])
def test_scenario_verdict(name: str, lab_env: Path) -> None:
    """`netdx check` on the scenario's client returns the expected cause (with `ssh:` read
    over SSH from the lab's sshd: with every expected fact of the server's evidence and
    every expected warning; a `trace` scenario reaches its target and calls every expected
    hop's loss a rate limit), and its report says it finished within its max seconds."""
    scenario = load_scenario(name)
    result = run_scenario(scenario, timeout=scenario.max_seconds + HANG_GUARD_S)
    detail = f"stdout={result.stdout[-400:]!r} stderr={result.stderr[-400:]!r}"
    assert result.cause == result.expected, detail
    assert result.missing_evidence == (), detail
    assert result.missing_warnings == (), detail
    assert result.missing_rate_limited == (), detail  # `trace`: the hops called rate-limited
    assert result.returncode == (0 if result.expected == "ok" else 1), detail
    assert result.doc is not None
    # `netdx inspect` reads this host's sockets without probing and its document carries no
    # clock: the kill after max seconds plus the guard is its only time limit.
    if scenario.command == "check":
        took = result.doc["elapsed_ms"] / 1000
        assert took <= result.max_seconds, f"took {took:.2f} s"
