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
from netdx.lab import Lab, clean, down, load_scenario, netns, up
from netdx.lab.cli import lab as lab_group
from netdx.lab.run import leftovers

pytestmark = pytest.mark.lab

CHILD = """
import os, sys, time
from netdx.lab import Lab, load_scenario
lab = Lab(load_scenario("payment-db-firewall"))
with lab:
    print(",".join(str(p) for p in lab.state.pids), flush=True)
    if sys.argv[1] == "crash":
        os._exit(1)
    time.sleep(30)
"""


def _nc(lab: Lab, host: str, addr: str, port: int) -> int:
    argv = lab.exec_argv(host, ["nc", "-z", "-w1", addr, str(port)])
    return subprocess.run(argv, capture_output=True, timeout=10, check=False).returncode


def _child(mode: str) -> tuple[subprocess.Popen[str], list[int]]:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, mode], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    return proc, [int(pid) for pid in line.split(",") if pid.strip()]


def test_up_then_exit_leaves_nothing(lab_env: Path) -> None:
    """Leaving the with block removes every namespace, /etc/netns dir and service process."""
    with Lab(load_scenario("payment-db-firewall")) as lab:
        pids = list(lab.state.pids)
        assert pids and all(netns.alive(pid) for pid in pids)
        assert set(lab.state.namespaces) <= set(netns.list_namespaces())
        assert Path("/etc/netns/ndx-payment/resolv.conf").exists()
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
    proc, pids = _child("sleep")
    assert pids and leftovers() != []
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=15)
    assert leftovers() == []
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
    proc, pids = _child("crash")
    proc.communicate(timeout=15)
    assert "ndx-payment" in leftovers()
    assert any(netns.alive(pid) for pid in pids)
    removed = clean()
    assert "ndx-payment" in removed
    assert leftovers() == []
    assert _all_gone(pids), [pid for pid in pids if netns.alive(pid)]


def test_up_down_with_state_file(lab_env: Path) -> None:
    """`up` records the lab, a second `up` is refused, `down` removes it all."""
    state = up("healthy-flat")
    recorded = json.loads(lab_env.read_text())
    assert recorded["scenario"] == "healthy-flat"
    assert set(recorded["namespaces"]) == set(state.namespaces)
    with pytest.raises(UsageError, match="already up"):
        up("port-refused")
    down()
    assert leftovers() == []
    assert not lab_env.exists()
    assert not any(netns.alive(pid) for pid in state.pids)


def test_down_without_lab_is_usage_error(lab_env: Path) -> None:
    """`down` with no lab up says so instead of pretending."""
    with pytest.raises(UsageError, match="no lab is up"):
        down()


def test_second_lab_with_same_namespaces_is_refused(lab_env: Path) -> None:
    """Building a scenario whose namespaces exist already is refused, and leaves the first."""
    with Lab(load_scenario("healthy-flat")), pytest.raises(UsageError, match="already exists"):
        Lab(load_scenario("port-refused")).up()
    assert leftovers() == []


def test_cli_shell_refuses_a_lab_that_is_not_up(lab_env: Path) -> None:
    """`lab shell` for a scenario that is not up fails with a usage error."""
    result = CliRunner().invoke(lab_group, ["shell", "healthy-flat", "payment"])
    assert isinstance(result.exception, UsageError)
    assert "is not up" in str(result.exception)
