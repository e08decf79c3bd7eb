"""Lab instances: a lab killed at any point of `lab up` / `lab run` is removed whole by
`lab down INSTANCE` / `lab clean`, and labs of several owners live side by side."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from netdx.lab import Lab, down, load_scenario, netns, record, up
from netdx.lab.record import LabState, Proc
from netdx.lab.run import labs

pytestmark = pytest.mark.lab

HANG_GUARD = 90.0  # only against a hang: nothing here is timed
HOLDER = """
import sys, time
from netdx.lab import Lab, load_scenario
with Lab(load_scenario("healthy-flat")) as lab:
    print(lab.instance, flush=True)
    time.sleep(60)
"""


def _netdx(*args: str) -> subprocess.CompletedProcess[str]:
    # A user of its own: a bare `lab down` must never pick a lab someone left up beside us.
    env = {**os.environ, "SUDO_USER": f"ndx-test-{os.getpid()}"}
    return subprocess.run([sys.executable, "-m", "netdx", *args], capture_output=True,
                          text=True, timeout=HANG_GUARD, check=False, env=env)  # fmt: skip


def _record_of(pid: int) -> LabState | None:
    return next((s for s in labs() if s.owner is not None and s.owner.pid == pid), None)


def _when(proc: subprocess.Popen[bytes], reached: Callable[[LabState], bool]) -> LabState:
    """Poll the record of the lab `proc` builds until `reached` holds, then kill -9 it."""
    end = time.monotonic() + HANG_GUARD
    while time.monotonic() < end and proc.poll() is None:
        state = _record_of(proc.pid)
        if state is not None and reached(state):
            proc.kill()
            proc.wait(timeout=HANG_GUARD)
            final = _record_of(proc.pid)  # what it had recorded when it died
            assert final is not None
            return final
        time.sleep(0.002)
    proc.kill()
    raise AssertionError(f"the lab never reached the kill point (exit {proc.poll()})")


def _has_namespace(state: LabState) -> bool:
    return bool(netns.list_namespaces(record.prefix_of(state.instance)))


def _has_process(state: LabState) -> bool:
    return bool(state.processes)


def _everything_in(instance: str) -> list[Proc]:
    """Every process living in the lab's namespaces now, as pid + start time."""
    found = []
    for namespace in netns.list_namespaces(record.prefix_of(instance)):
        for pid in netns.namespace_pids(namespace):
            start = record.start_time(pid)
            if start is not None:
                found.append(Proc(pid=pid, start=start))
    return found


def _assert_gone(instance: str, procs: list[Proc]) -> None:
    prefix = record.prefix_of(instance)
    assert netns.list_namespaces(prefix) == []
    assert list(netns.NETNS_ETC.glob(prefix + "*")) == []
    assert not record.record_path(instance).exists()
    assert not record.workdir_of(instance).exists()
    end = time.monotonic() + 10.0  # killed processes vanish once init reaps them
    while any(p.alive for p in procs) and time.monotonic() < end:
        time.sleep(0.02)
    assert [p for p in procs if p.alive] == []


@pytest.mark.parametrize(
    ("command", "reached", "remove"),
    [
        (("lab", "up", "healthy-flat"), lambda s: True, "down"),
        (("lab", "up", "healthy-flat"), _has_namespace, "down"),
        (("lab", "up", "app-close-wait-leak"), _has_process, "down"),
        (("lab", "up", "healthy-flat"), _has_process, "down-bare"),
        (("lab", "run", "healthy-flat", "--json"), _has_process, "clean"),
    ],
    ids=["up-after-record", "up-after-namespace", "up-after-services", "up-then-bare-down",
         "run-after-services"],
)
def test_kill_9_then_down_or_clean_leaves_nothing(
    lab_env: Path, command: tuple[str, ...], reached: Callable[[LabState], bool], remove: str
) -> None:
    """kill -9 of `lab up` / `lab run` at a point of the build, then `lab down INSTANCE`
    (or `lab clean`) removes its namespaces, processes (by pid + start time), files, record."""
    proc = subprocess.Popen([sys.executable, "-m", "netdx", *command],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    state = _when(proc, reached)
    procs = [*(p for p in state.processes if p.alive), *_everything_in(state.instance)]
    argv = {"down": ["down", state.instance], "down-bare": ["down"], "clean": ["clean"]}
    done = _netdx("lab", *argv[remove])
    assert done.returncode == 0, done.stderr
    _assert_gone(state.instance, procs)


def test_two_labs_of_one_scenario_side_by_side(lab_env: Path) -> None:
    """The same scenario built twice at once: two instances, each one's client reaches its
    own server by name (same veth names, each inside its own namespaces)."""
    scenario = load_scenario("healthy-flat")
    with Lab(scenario) as first, Lab(scenario) as second:
        assert first.instance != second.instance
        assert not set(first.state.namespaces) & set(second.state.namespaces)
        for lab in (first, second):
            argv = lab.exec_argv("payment", ["nc", "-z", "-w1", "db-server-01", "5432"])
            assert subprocess.run(argv, timeout=HANG_GUARD, check=False).returncode == 0
    _assert_gone(first.instance, [])
    _assert_gone(second.instance, [])


def test_two_labs_up_are_taken_down_one_by_one(lab_env: Path) -> None:
    """Two scenarios left up at once; `down` of the first leaves the second running."""
    first, second = up("healthy-flat"), up("port-refused")
    assert first.processes and all(p.alive for p in first.processes + second.processes)
    down(first.instance)
    _assert_gone(first.instance, list(first.processes))
    assert all(p.alive for p in second.processes)
    assert set(second.namespaces) <= set(netns.list_namespaces())
    down(second.instance)
    _assert_gone(second.instance, list(second.processes))


def test_clean_leaves_a_live_owners_lab(lab_env: Path) -> None:
    """`lab clean` removes a killed `lab up` and an empty unrecorded instance namespace, but
    not the lab of a process still running (that one goes when its owner ends) nor a
    namespace a test made by hand."""
    hand = "ndx-lcm-hand"  # the shape of a test's own namespace: not a lab's
    orphan = record.prefix_of(record.new_instance({s.instance for s in labs()})) + "gone"
    for name in (hand, orphan):
        netns.run(["ip", "netns", "add", name])
    holder = subprocess.Popen([sys.executable, "-c", HOLDER], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    alive = holder.stdout.readline().strip()
    held = next(s for s in labs() if s.instance == alive)
    killed = subprocess.Popen([sys.executable, "-m", "netdx", "lab", "up", "healthy-flat"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    state = _when(killed, _has_process)
    procs = [*(p for p in state.processes if p.alive), *_everything_in(state.instance)]
    try:
        done = _netdx("lab", "clean")
        assert done.returncode == 0, done.stderr
        _assert_gone(state.instance, procs)
        assert set(held.namespaces) <= set(netns.list_namespaces())
        assert all(p.alive for p in held.processes)
        assert hand in netns.list_namespaces() and orphan not in netns.list_namespaces()
    finally:
        netns.delete_namespace(hand)
        netns.delete_namespace(orphan)
        holder.send_signal(signal.SIGTERM)
        holder.communicate(timeout=HANG_GUARD)
    _assert_gone(alive, list(held.processes))


def test_sigterm_during_lab_up_removes_what_was_built(lab_env: Path) -> None:
    """SIGTERM to `lab up` while its services start: it removes its own lab and record."""
    proc = subprocess.Popen([sys.executable, "-m", "netdx", "lab", "up", "app-close-wait-leak"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    end = time.monotonic() + HANG_GUARD
    state = None
    while state is None or not state.processes:
        assert time.monotonic() < end and proc.poll() is None, "never reached its services"
        state = _record_of(proc.pid)
        time.sleep(0.002)
    procs = [*state.processes, *_everything_in(state.instance)]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=HANG_GUARD) != 0
    _assert_gone(state.instance, procs)
