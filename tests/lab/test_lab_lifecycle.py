"""The lab itself: it builds the fault it claims, and leaves nothing behind however it ends."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from netdx.errors import UsageError
from netdx.lab import Lab, clean, down, load_scenario, netns, record, up
from netdx.lab.cli import lab as lab_group
from netdx.lab.run import labs, leftovers

pytestmark = pytest.mark.lab

CHILD = """
import os, sys, time
from netdx.lab import Lab, load_scenario
lab = Lab(load_scenario("payment-db-firewall"))
with lab:
    print(lab.instance + ":" + ",".join(str(p) for p in lab.state.pids), flush=True)
    if sys.argv[1] == "crash":
        os._exit(1)
    time.sleep(30)
"""


def _nc(lab: Lab, host: str, addr: str, port: int) -> int:
    argv = lab.exec_argv(host, ["nc", "-z", "-w1", addr, str(port)])
    return subprocess.run(argv, capture_output=True, timeout=10, check=False).returncode


def _child(mode: str) -> tuple[subprocess.Popen[str], str, list[int]]:
    """A process that builds the payment lab: (process, lab instance, service pids)."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD, mode], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    instance, _, pids = proc.stdout.readline().strip().partition(":")
    return proc, instance, [int(pid) for pid in pids.split(",") if pid.strip()]


def _namespaces(instance: str) -> list[str]:
    return netns.list_namespaces(record.prefix_of(instance))


def test_up_then_exit_leaves_nothing(lab_env: Path) -> None:
    """Leaving the with block removes every namespace, /etc/netns dir and service process."""
    with Lab(load_scenario("payment-db-firewall")) as lab:
        pids = list(lab.state.pids)
        assert pids and all(netns.alive(pid) for pid in pids)
        assert set(lab.state.namespaces) <= set(netns.list_namespaces())
        assert (Path("/etc/netns") / lab.namespace("payment") / "resolv.conf").exists()
        assert record.record_path(lab.instance).exists()
    assert leftovers() == []
    assert not any(netns.alive(pid) for pid in pids)


def test_exception_inside_tears_down(lab_env: Path) -> None:
    """An exception in the with block still removes the lab, and propagates."""
    with pytest.raises(RuntimeError), Lab(load_scenario("healthy-flat")):
        raise RuntimeError("boom")
    assert leftovers() == []


def test_firewall_fault_is_real(lab_env: Path) -> None:
    """nc from the payment host times out on db-server-01:5432, while ns1 connects fine."""
    with Lab(load_scenario("payment-db-firewall")) as lab:
        assert _nc(lab, "payment", "db-server-01", 5432) == 1
        assert _nc(lab, "ns1", "10.0.0.20", 5432) == 0


def test_healthy_flat_connects(lab_env: Path) -> None:
    """In the healthy scenario the client reaches db-server-01:5432 by name."""
    with Lab(load_scenario("healthy-flat")) as lab:
        assert _nc(lab, "payment", "db-server-01", 5432) == 0


def test_sigterm_tears_down(lab_env: Path) -> None:
    """SIGTERM to a process inside `with Lab(...)` still removes the whole lab."""
    proc, instance, pids = _child("sleep")
    assert pids and _namespaces(instance)
    assert leftovers() == []  # another process's live lab is not a leftover
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=15)
    assert _namespaces(instance) == [] and not record.record_path(instance).exists()
    assert not any(netns.alive(pid) for pid in pids)


def _all_gone(pids: list[int], within: float = 10.0) -> bool:
    """Wait until none of `pids` is alive (killed processes vanish once reaped)."""
    end = time.monotonic() + within
    while any(netns.alive(pid) for pid in pids):
        if time.monotonic() >= end:
            return False
        time.sleep(0.02)
    return True


def test_clean_removes_a_crashed_lab(lab_env: Path) -> None:
    """After a process dies without teardown, clean() removes namespaces, dirs and processes."""
    proc, instance, pids = _child("crash")
    proc.communicate(timeout=15)
    payment = record.prefix_of(instance) + "payment"
    assert payment in leftovers()
    assert any(netns.alive(pid) for pid in pids)
    removed = clean()
    assert payment in removed
    assert leftovers() == [] and _namespaces(instance) == []
    assert not record.record_path(instance).exists()
    assert not record.workdir_of(instance).exists()
    assert _all_gone(pids), [pid for pid in pids if netns.alive(pid)]


def test_up_down_with_record(lab_env: Path) -> None:
    """`up` records the lab as left up, `clean` leaves it, `down INSTANCE` removes it all."""
    state = up("healthy-flat")
    recorded = json.loads(record.record_path(state.instance).read_text())
    assert recorded["scenario"] == "healthy-flat" and recorded["detached"] is True
    assert set(recorded["namespaces"]) == set(state.namespaces)
    assert len(recorded["processes"]) == len(state.pids) > 0
    clean()
    assert set(state.namespaces) <= set(netns.list_namespaces())
    assert down(state.instance).instance == state.instance
    assert _namespaces(state.instance) == [] and leftovers() == []
    assert not record.record_path(state.instance).exists()
    assert not any(netns.alive(pid) for pid in state.pids)


def test_down_without_lab_is_usage_error(lab_env: Path) -> None:
    """`down` of a lab that is not up says so instead of pretending."""
    free = record.new_instance({s.instance for s in labs()})
    with pytest.raises(UsageError, match="no lab"):
        down(free)


def test_cli_shell_refuses_a_lab_that_is_not_up(lab_env: Path) -> None:
    """`lab shell` for a scenario that is not up fails with a usage error."""
    result = CliRunner().invoke(lab_group, ["shell", "healthy-flat", "payment"])
    assert isinstance(result.exception, UsageError)
    assert "is not up" in str(result.exception)
