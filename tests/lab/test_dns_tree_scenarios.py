"""The dns-tree scenario family through `netdx lab`'s own runner: built, checked, torn down."""

from __future__ import annotations

from pathlib import Path

import pytest

from netdx.lab import dnstree, leftovers, run_scenario

pytestmark = pytest.mark.lab


@pytest.mark.parametrize("name", dnstree.NAMES)
def test_family_scenario_verdict(name: str, lab_env: Path) -> None:
    """`netdx check` on the hierarchy's client names the expected cause within the
    scenario's budget (the check's own elapsed time), and the lab leaves nothing behind."""
    result = run_scenario(name)
    detail = f"stdout={result.stdout[-400:]!r} stderr={result.stderr[-400:]!r}"
    assert result.cause == result.expected, detail
    assert result.doc is not None
    assert result.doc["elapsed_ms"] <= result.max_seconds * 1000
    assert leftovers() == []
