"""Fixtures for lab tests: root is required (a lab test that cannot run fails), and every
test leaves no lab namespace, /etc/netns directory, process or record behind.

Another person's lab (or a second test run) may be up beside the tests: `leftovers` does
not count a lab whose builder still runs elsewhere, nor one left up on purpose.

A run killed mid-lab (SIGKILL, a machine's session ending) leaves its namespaces behind
with a dead builder; the next run on that machine removes them once, at its start, as a
person would with `netdx lab clean`, so that one killed run cannot fail the next.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from netdx.lab import record, run
from netdx.lab.build import teardown
from netdx.lab.run import leftovers


@pytest.fixture(scope="session", autouse=True)
def _abandoned_labs_removed() -> None:
    """`netdx lab clean` once before the lab tests: only labs whose builder is gone (and
    orphan namespaces in which nothing runs), never a live or left-up one."""
    if os.geteuid() == 0:
        removed = run.clean()
        if removed:
            print(f"\nremoved an abandoned lab before the tests: {' '.join(removed)}")


@pytest.fixture
def lab_env() -> Iterator[Path]:
    """Root and a clean slate; removes every lab this test process built, and whatever an
    abandoned lab left. Yields the directory of the lab records."""
    if os.geteuid() != 0:
        pytest.fail("lab tests need root and network namespaces")
    assert leftovers() == [], "a crashed lab is left: run `netdx lab clean` first"
    before = {state.instance for state in run.labs()}
    try:
        yield record.RECORD_DIR
    finally:
        me = record.this_process()
        for state in run.labs():
            if state.instance not in before and state.owner == me:
                teardown(state)  # e.g. an `up()` whose test failed before its `down()`
        if leftovers():
            run.clean()
