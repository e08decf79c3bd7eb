"""The threaded driver's own parts (netdx.drive): the steering a probe thread waits on, a
Cancel reaching a coroutine probe on its thread's event loop, and Ctrl-C ending a check
whose probes are stuck. The loop itself is tested against run_plan's cases in
test_plan_run.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from netdx.budget import Deadline
from netdx.drive import SyncSteering, _in_loop
from netdx.plan import WHOLE, NotRun, ReadServer

GUARD_S = 20.0  # only proves nothing hung


def test_a_signal_wakes_the_wait_and_the_state_says_which() -> None:
    """hint and stop wake a thread waiting on the steering (its eventfd), carry their value,
    and the eventfd is empty again once read: a later wait sleeps its time."""
    steer = SyncSteering()
    try:
        threading.Timer(0.05, steer.hint, args=(4.25,)).start()
        assert steer.wait(GUARD_S)
        assert steer.rtt_known and steer.rtt_ms == 4.25 and not steer.ended
        steer.hint(9.0)  # the first round trip stands
        assert steer.rtt_ms == 4.25
        steer.drain()
        assert not steer.wait(0.01)  # nothing pending: it slept, unwoken
        steer.stop()
        assert steer.wait(GUARD_S) and steer.stopped and steer.ended
    finally:
        steer.close()


def test_a_closed_steering_drops_late_signals() -> None:
    """A probe that has ended closes its eventfd: a signal the driver sends after that is
    dropped, never written to a descriptor number another file may now hold."""
    steer = SyncSteering()
    fd = steer.fileno()
    steer.close()
    reused = os.eventfd(0)  # very likely the same number
    try:
        steer.cancel()
        steer.hint(1.0)
        assert steer.cancelled
        if reused == fd:
            os.set_blocking(reused, False)
            try:
                os.eventfd_read(reused)
                raise AssertionError("a late signal reached another descriptor")
            except BlockingIOError:
                pass
    finally:
        os.close(reused)


def test_sleep_ends_at_cancel_only() -> None:
    """A delayed start (the neighbour watch) sleeps through a hint but not a cancel."""
    steer = SyncSteering()
    try:
        threading.Timer(0.02, steer.hint, args=(1.0,)).start()
        threading.Timer(0.1, steer.cancel).start()
        start = time.monotonic()
        steer.sleep(GUARD_S)
        assert steer.cancelled and time.monotonic() - start < GUARD_S / 2
    finally:
        steer.close()


def test_cancel_reaches_a_coroutine_probe_on_its_threads_loop(monkeypatch) -> None:
    """A kind without a synchronous version runs its coroutine on an event loop of its
    thread; the driver's Cancel cancels that task from another thread: NotRun."""
    import asyncio

    import netdx.check

    async def endless(probe, deadline, steer):  # stands in for a slow network probe
        await asyncio.sleep(GUARD_S)
        raise AssertionError("not cancelled")

    monkeypatch.setattr(netdx.check, "run_probe", endless)
    steer = SyncSteering()
    probe = ReadServer(id=1, budget=WHOLE, address="127.0.0.1", port=1)
    threading.Timer(0.05, steer.cancel).start()
    start = time.monotonic()
    try:
        assert _in_loop(probe, Deadline.after(GUARD_S), steer) == NotRun(reason="cancelled")
    finally:
        steer.close()
    assert time.monotonic() - start < GUARD_S / 2


_STUCK = """
import signal, sys, time
# Python installs its Ctrl-C handler only when SIGINT is not ignored at start, and a run
# started in the background by a non-interactive shell (`make test &`, a CI runner) hands
# its children SIGINT ignored, as a user's `netdx check ... &` gets it (and should keep it):
# start this child as a foreground process starts.
signal.signal(signal.SIGINT, signal.default_int_handler)
from netdx.budget import Deadline
from netdx.check import CheckPlan, CheckSettings
from netdx.drive import drive_plan
from netdx.start import guarded
from netdx.target import parse_target

def stuck(probe, deadline, steer):
    time.sleep(60)

def check():
    print("started", flush=True)
    drive_plan(CheckPlan(parse_target("127.0.0.1:1"), CheckSettings()), Deadline.after(60),
               run=stuck)
    return 0

sys.exit(guarded(check))
"""


def test_ctrl_c_ends_a_check_whose_probes_are_stuck() -> None:
    """SIGINT reaches the driver's wait (the probes are in other threads): the check ends
    at once with netdx's interrupt message and exit code 130."""
    # `with`: the pipes are closed however the test ends (an unclosed one warns in a later test).
    with subprocess.Popen([sys.executable, "-c", _STUCK], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None and proc.stdout.readline() == "started\n"
            time.sleep(0.2)  # into the driver's wait
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=GUARD_S)
        finally:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "interrupted" in err


def test_probe_threads_see_the_runs_source_binding() -> None:
    """--source/--interface live in a context variable (probes.bind): every probe thread
    runs in a copy of the driver's context, so a probe binds its socket as the run asks."""
    from netdx.check import CheckPlan, CheckSettings
    from netdx.drive import drive_plan
    from netdx.probes.bind import Binding, apply_binding, current_binding
    from netdx.target import parse_target

    seen: list[Binding | None] = []

    def run(probe, deadline, steer):
        seen.append(current_binding())
        return NotRun(reason="fake")

    binding = Binding(source="127.0.0.1")
    with apply_binding(binding):
        drive_plan(CheckPlan(parse_target("127.0.0.1:1"), CheckSettings()),
                   Deadline.after(GUARD_S), run=run)
    assert seen and all(b == binding for b in seen)


def test_both_loops_give_the_same_evidence_for_a_refused_loopback_port() -> None:
    """The real probes, once under run_plan (asyncio) and once under drive_plan (threads):
    the same route, echo, connect outcome, server side of the port and ruleset decision
    (timings aside; the host's other listeners may change between the two runs)."""
    import asyncio
    import socket

    from netdx.check import CheckPlan, CheckSettings, run_plan
    from netdx.drive import drive_plan
    from netdx.model import CheckEvidence
    from netdx.target import parse_target

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # released: nothing listens there
    target = parse_target(f"127.0.0.1:{port}")

    def facts(ev: CheckEvidence) -> tuple[object, ...]:
        head = ev.addresses[0]
        assert head.route and head.echo and head.tcp and head.server and head.firewall
        return (ev.dns.source if ev.dns else None, head.route.status, head.route.interface,
                head.echo.status, head.tcp.outcome, head.tcp.errno, head.tcp.timeout_basis,
                head.server.listeners, head.server.connections, head.server.error,
                head.firewall.hook, head.firewall.decision, head.firewall.rule)

    on_loop = asyncio.run(run_plan(CheckPlan(target, CheckSettings()), Deadline.after(5)))
    on_threads = drive_plan(CheckPlan(target, CheckSettings()), Deadline.after(5))
    assert facts(on_threads) == facts(on_loop)
    assert facts(on_threads)[4] == "refused"
