"""Fixtures for lab tests: root is required (a lab test that cannot run fails), and every
test leaves no ndx-* namespace, /etc/netns/ndx-* directory or lab state behind."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from netdx.lab import run
from netdx.lab.run import leftovers


@pytest.fixture
def lab_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Root, a clean slate, a private state file; cleans up whatever the test left."""
    if os.geteuid() != 0:
        pytest.fail("lab tests need root and network namespaces")
    assert leftovers() == [], "a lab is already up: run `netdx lab clean` first"
    state = tmp_path / "lab.json"
    monkeypatch.setattr(run, "STATE_FILE", state)
    try:
        yield state
    finally:
        if leftovers():
            run.clean()
