"""The loops that run a plan with fake probes, both of them: `check.run_plan` (asyncio, for
--ssh, serve, verify and library callers) and `drive.drive_plan` (threads, the CLI's check).
Each delivers the plan's signals to probes in flight and never waits past the budget; every
test of a loop runs against both."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Generator

import evidence_cases as c
import pytest

from netdx.budget import Deadline
from netdx.check import NO_BUDGET, Steering, run_plan, run_probe, vantage_of
from netdx.drive import SyncSteering, drive_plan, run_probe_sync
from netdx.model import CheckEvidence, IcmpEcho, Target, TcpConnect
from netdx.model.vantage import THIS_HOST, Vantage, in_netns
from netdx.plan import (
    AskAuthoritative,
    Budget,
    CheckPlan,
    CheckSettings,
    Connect,
    Echo,
    LookupRoute,
    NeighbourRead,
    NotRun,
    Probe,
    ReadNeighbour,
    Result,
)
from netdx.plan.address import ECHO_NOT_WAITED

IP = c.DB_IP
TARGET = Target(raw=f"{IP}:5432", host=IP, port=5432, ip_literal=True)
SLOW_S = 30.0  # a fake probe that would hang the test if the loop waited for it

# A fake probe: its result, or a generator that yields what it waits for ("rtt": the
# echo's round trip, sent back in; "stop"; "ever": until cancelled; "stuck": deaf to
# everything) and returns its result. Each loop below interprets it with its own waits.
Waits = Generator[str, "float | None", Result]
Script = Callable[[Probe], "Result | Waits"]


def _step(out: Waits, sent: float | None) -> tuple[str | None, Result | None]:
    """What the fake waits for next, or None and its result."""
    try:
        return out.send(sent), None
    except StopIteration as end:
        return None, end.value


def _async_run(script: Script):
    async def wait(need: str, steer: Steering | None) -> float | None:
        if need in ("rtt", "stop"):
            assert steer is not None
            return await asyncio.wait_for(steer.rtt if need == "rtt" else steer.stop, SLOW_S)
        await asyncio.sleep(SLOW_S)  # "ever" and "stuck": only a cancel ends it
        return None

    async def run(probe: Probe, deadline: Deadline, steer: Steering | None) -> Result | None:
        out = script(probe)
        if not isinstance(out, Generator):
            return out
        need, result = _step(out, None)
        while need is not None:
            need, result = _step(out, await wait(need, steer))
        return result

    return run


def _until(steer: SyncSteering, done: Callable[[], bool]) -> None:
    end = time.monotonic() + SLOW_S
    while not done() and time.monotonic() < end:
        steer.wait(end - time.monotonic())


def _thread_run(script: Script):
    def wait(need: str, steer: SyncSteering) -> float | None:
        if need == "stuck":
            time.sleep(SLOW_S)  # deaf to everything: a daemon thread the driver leaves
        _until(steer, {"rtt": lambda: steer.rtt_known, "stop": lambda: steer.stopped,
                       "ever": lambda: steer.cancelled, "stuck": lambda: True}[need])
        return steer.rtt_ms if need == "rtt" else None

    def run(probe: Probe, deadline: Deadline, steer: SyncSteering) -> Result | None:
        out = script(probe)
        if not isinstance(out, Generator):
            return out
        need, result = _step(out, None)
        while need is not None:
            need, result = _step(out, wait(need, steer))
        return result

    return run


def run_async(plan: CheckPlan, deadline: Deadline, script: Script) -> CheckEvidence:
    return asyncio.run(run_plan(plan, deadline, run=_async_run(script)))


def run_threads(plan: CheckPlan, deadline: Deadline, script: Script) -> CheckEvidence:
    return drive_plan(plan, deadline, run=_thread_run(script))


Loop = Callable[[CheckPlan, Deadline, Script], CheckEvidence]


@pytest.fixture(params=[run_async, run_threads], ids=["asyncio", "threads"])
def drive(request: pytest.FixtureRequest) -> Loop:
    """Each loop that runs a plan: run_plan on asyncio, drive_plan on threads."""
    return request.param  # type: ignore[no-any-return]


def _fake(
    echo: IcmpEcho | None,
    connect: TcpConnect | None,
    neighbour: str | None = "REACHABLE",
) -> Script:
    """Fake probes: `None` for echo/connect means 'wait for the plan's signal'."""

    def connect_waits() -> Waits:
        wants_rtt = echo is not None and echo.rtt_ms is not None
        rtt = (yield "rtt") if wants_rtt else None
        yield "stop"
        basis = "neighbour" if rtt is None else "rtt"
        return TcpConnect(address=IP, port=5432, outcome="timeout", elapsed_ms=1.0,
                          timeout_ms=1.0, timeout_basis=basis, rtt_ms=rtt)

    def endless_echo() -> Waits:
        yield "ever"
        return c.echo_timeout(IP)

    def script(probe: Probe) -> Result | Waits:
        if isinstance(probe, LookupRoute):
            return c.route_ok(IP)
        if isinstance(probe, ReadNeighbour):
            return NeighbourRead(state=neighbour)
        if isinstance(probe, Echo):
            return endless_echo() if echo is None else echo
        if isinstance(probe, Connect):
            return connect_waits() if connect is None else connect
        return NotRun(reason="not faked")

    return script


def test_echo_is_cut_after_the_grace_once_tcp_answered(drive: Loop) -> None:
    """A connect that answered leaves the echo ECHO_GRACE_S, not its own (here endless) wait."""
    plan = CheckPlan(TARGET, CheckSettings())
    start = time.monotonic()
    ev = drive(plan, Deadline.after(5.0), _fake(None, c.tcp(IP, 5432, "refused")))
    assert time.monotonic() - start < SLOW_S / 2  # generous: only proves nothing hung
    head = ev.addresses[0]
    assert head.tcp is not None and head.tcp.outcome == "refused"
    assert head.echo is not None and head.echo.reason == ECHO_NOT_WAITED


def test_tcp_answer_settles_the_echo_in_flight(drive: Loop) -> None:
    """A refused connect reaches the steered echo in flight as its stop (end at the first
    answer): the echo's own result, not the grace's cut, is the evidence."""
    plan = CheckPlan(TARGET, CheckSettings())
    reply = c.echo_reply(IP, rtt=0.5)

    def settled_echo() -> Waits:
        yield "stop"
        return reply

    def script(probe: Probe) -> Result | Waits:
        if isinstance(probe, LookupRoute):
            return c.route_ok(IP)
        if isinstance(probe, ReadNeighbour):
            return NeighbourRead(state="REACHABLE")
        if isinstance(probe, Connect):
            return c.tcp(IP, 5432, "refused")
        assert isinstance(probe, Echo) and probe.steered
        return settled_echo()

    ev = drive(plan, Deadline.after(5.0), script)
    assert ev.addresses[0].echo == reply


def test_dead_next_hop_stops_the_waiting_connect(drive: Loop) -> None:
    """The watch's INCOMPLETE reaches the connect in flight as a stop."""
    plan = CheckPlan(TARGET, CheckSettings())
    ev = drive(plan, Deadline.after(5.0), _fake(c.echo_timeout(IP), None, neighbour="INCOMPLETE"))
    head = ev.addresses[0]
    assert head.tcp is not None and head.tcp.timeout_basis == "neighbour"


def test_echo_rtt_reaches_the_waiting_connect(drive: Loop) -> None:
    """The echo's RTT is handed to the connect in flight (then the dead hop stops it)."""
    plan = CheckPlan(TARGET, CheckSettings())
    echo = c.echo_reply(IP, rtt=4.25)
    ev = drive(plan, Deadline.after(5.0), _fake(echo, None, neighbour="FAILED"))
    head = ev.addresses[0]
    assert head.tcp is not None and head.tcp.rtt_ms == 4.25


def test_a_probe_that_overruns_is_left_behind(drive: Loop) -> None:
    """A probe ignoring its deadline cannot hold the check past the budget plus the overrun
    margin: the loop stops and keeps what it has."""
    plan = CheckPlan(TARGET, CheckSettings())

    def stuck(probe: Probe) -> Waits:
        yield "stuck"
        raise AssertionError("not reached")

    start = time.monotonic()
    ev = drive(plan, Deadline.after(0.0), stuck)
    assert time.monotonic() - start < SLOW_S / 2
    assert ev.addresses[0].route is None


def test_a_probe_that_raises_ends_the_check(drive: Loop) -> None:
    """A probe's exception is a bug (network outcomes are values): it reaches the caller,
    from a probe thread too."""
    plan = CheckPlan(TARGET, CheckSettings())

    def broken(probe: Probe) -> Result:
        raise ZeroDivisionError("a bug in a probe")

    with pytest.raises(ZeroDivisionError, match="a bug in a probe"):
        drive(plan, Deadline.after(5.0), broken)


async def _run_probe_async(probe: Probe, deadline: Deadline) -> Result:
    return await run_probe(probe, deadline, None)


def _run_probe_threaded(probe: Probe, deadline: Deadline) -> Result:
    steer = SyncSteering()
    try:
        return run_probe_sync(probe, deadline, steer)
    finally:
        steer.close()


@pytest.mark.parametrize(
    "probe",
    [AskAuthoritative(id=1, budget=Budget(cap_s=1.5, floor_s=0.1), name="x", rtype="A"),
     LookupRoute(id=2, budget=Budget(cap_s=0.5, floor_s=0.1), address="127.0.0.1")],
    ids=["authoritative", "route"],
)
@pytest.mark.parametrize("threaded", [False, True], ids=["asyncio", "threads"])
def test_probe_below_its_floor_is_not_run(probe: Probe, threaded: bool) -> None:
    """With less budget left than a probe's floor it is not started: NotRun, no I/O (a kind
    with a synchronous version and one run on an event loop of its thread)."""
    deadline = Deadline.after(0.0)
    if threaded:
        result = _run_probe_threaded(probe, deadline)
    else:
        result = asyncio.run(_run_probe_async(probe, deadline))
    assert result == NotRun(reason=NO_BUDGET)


def test_budget_takes_a_share_a_cap_or_the_whole_deadline() -> None:
    """A probe's deadline is the share of what remains, at most the cap; WHOLE is the
    command's own deadline."""
    whole = Deadline(time.monotonic() + 10.0)
    assert Budget().deadline(whole) is whole
    capped = Budget(cap_s=0.5).deadline(whole)
    assert capped is not None and capped.remaining() <= 0.5
    shared = Budget(share=0.5, cap_s=8.0).deadline(whole)
    assert shared is not None and 4.0 < shared.remaining() <= 5.0
    assert Budget(floor_s=20.0).deadline(whole) is None


def test_budget_reserve_leaves_room_for_what_follows() -> None:
    """A reserve ends the probe that long before the command's deadline, but never takes
    more than a quarter of what remains."""
    whole = Deadline(time.monotonic() + 10.0)
    reserved = Budget(reserve_s=0.15).deadline(whole)
    assert reserved is not None and 9.7 < reserved.remaining() <= 9.85
    short = Deadline(time.monotonic() + 0.2)
    tight = Budget(reserve_s=0.15).deadline(short)
    assert tight is not None and 0.1 < tight.remaining() <= 0.15


def test_vantage_is_set_or_the_namespace_we_are_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check observes from the vantage it is given, else from the named namespace the
    process is in, else from this host (the tests run in the initial namespace)."""
    import netdx.host.netns

    assert vantage_of(CheckSettings()) == THIS_HOST
    monkeypatch.setattr(netdx.host.netns, "identify_netns", lambda: "ndx-client")
    assert vantage_of(CheckSettings()) == in_netns("ndx-client")
    given = Vantage(kind="ssh", name="db-server-01")
    assert vantage_of(CheckSettings(observed_on=given)) == given


def test_every_probe_kind_has_a_module_to_preload() -> None:
    """Each request kind of the plan maps to the module that runs it (a new kind without
    one would fail its first check)."""
    from typing import get_args

    from netdx.check import _MODULES

    assert set(get_args(Probe)) == set(_MODULES)
