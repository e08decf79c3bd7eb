"""`netdx lab clean` and the fleet lab: a fleet whose builder died is a leftover and is
removed (its `ndx-fl-` namespaces, what runs in them, their /etc/netns dirs, its record);
a fleet whose builder still runs, or one left up by `lab fleet up`, stays. A two-namespace
stand-in for the fleet (no sshd needed to prove who removes what), with a `sleep` of this
test's own inside; removed however the test ends."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import pytest

from netdx.lab import fleet, fleet_record, record, run
from netdx.lab.netns import NETNS_ETC, list_namespaces

pytestmark = pytest.mark.lab

NAMESPACES = (fleet.ROUTER, fleet.FLEET_PREFIX + "web01")


def dead_process() -> record.Proc:
    """A process of this test that has ended (its pid and start time, taken alive)."""
    proc = subprocess.Popen(["sleep", "30"])
    start = record.start_time(proc.pid)
    proc.kill()
    proc.wait(timeout=10)
    assert start is not None
    return record.Proc(pid=proc.pid, start=start)


def own(owner: record.Proc, *, detached: bool) -> None:
    """The fleet's record, naming `owner` as its builder."""
    fleet_record.RECORD.parent.mkdir(parents=True, exist_ok=True)
    text = {"owner": {"pid": owner.pid, "start": owner.start}, "detached": detached}
    fleet_record.RECORD.write_text(json.dumps(text))


@pytest.fixture
def stand_in() -> Iterator[subprocess.Popen[bytes]]:
    """Two fleet namespaces, an /etc/netns dir, and a process living in one of them."""
    if os.geteuid() != 0:
        pytest.fail("lab tests need root and network namespaces")
    assert list_namespaces(fleet.FLEET_PREFIX) == [], "a fleet is up: `netdx lab fleet down`"
    sleeper = None
    try:
        for name in NAMESPACES:
            subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
        (NETNS_ETC / NAMESPACES[1]).mkdir(parents=True, exist_ok=True)
        sleeper = subprocess.Popen(["ip", "netns", "exec", NAMESPACES[1], "sleep", "600"])
        yield sleeper
    finally:
        fleet.teardown()
        if sleeper is not None:
            sleeper.kill()  # by its handle: ended already when clean did its work
            sleeper.wait(timeout=10)
        fleet_record.forget()
    assert list_namespaces(fleet.FLEET_PREFIX) == []


def test_clean_removes_only_a_fleet_whose_builder_is_gone(
    stand_in: subprocess.Popen[bytes],
) -> None:
    """Left up, or built by a live process: kept (the latter is this process's own
    leftover). Builder dead, not left up: a leftover, and clean removes it all."""
    own(dead_process(), detached=True)
    assert not set(NAMESPACES) & set(run.leftovers())
    assert not set(NAMESPACES) & set(run.clean())
    own(record.this_process(), detached=False)
    assert set(NAMESPACES) <= set(run.leftovers())  # held by this very process
    assert not set(NAMESPACES) & set(run.clean())
    assert stand_in.poll() is None  # nothing killed yet
    own(dead_process(), detached=False)
    assert set(NAMESPACES) <= set(run.leftovers())
    assert set(NAMESPACES) <= set(run.clean())
    assert list_namespaces(fleet.FLEET_PREFIX) == []
    assert not (NETNS_ETC / NAMESPACES[1]).exists()
    assert stand_in.wait(timeout=10) is not None  # what ran there ended with it
    assert not fleet_record.RECORD.exists()
    assert not set(NAMESPACES) & set(run.leftovers())


def test_a_fleet_without_a_record_is_abandoned(stand_in: subprocess.Popen[bytes]) -> None:
    """Fleet namespaces that no record claims (a builder killed before writing it, or a
    netdx without records) are a leftover that clean removes."""
    fleet_record.forget()
    assert set(NAMESPACES) <= set(run.leftovers())
    assert set(NAMESPACES) <= set(run.clean())
    assert list_namespaces(fleet.FLEET_PREFIX) == []
