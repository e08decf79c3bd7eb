"""The loop that runs a plan (check.run_plan) with fake probes: it delivers the plan's
signals to probes in flight and never waits past the budget."""

from __future__ import annotations

import asyncio
import time

import evidence_cases as c
import pytest

from netdx.budget import Deadline
from netdx.check import Steering, run_plan, run_probe, vantage_of
from netdx.model import IcmpEcho, Target, TcpConnect
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


def _fake(
    echo: IcmpEcho | None,
    connect: TcpConnect | None,
    neighbour: str | None = "REACHABLE",
):
    """Fake probes: `None` for echo/connect means 'wait for the plan's signal'."""

    async def run(probe: Probe, deadline: Deadline, steer: Steering | None) -> Result:
        if isinstance(probe, LookupRoute):
            return c.route_ok(IP)
        if isinstance(probe, ReadNeighbour):
            return NeighbourRead(state=neighbour)
        if isinstance(probe, Echo):
            if echo is None:
                await asyncio.sleep(SLOW_S)
            return echo or c.echo_timeout(IP)
        if isinstance(probe, Connect):
            assert steer is not None
            if connect is not None:
                return connect
            wants_rtt = echo is not None and echo.rtt_ms is not None
            rtt = await asyncio.wait_for(steer.rtt, SLOW_S) if wants_rtt else None
            await asyncio.wait_for(steer.stop, SLOW_S)
            basis = "neighbour" if rtt is None else "rtt"
            return TcpConnect(address=IP, port=5432, outcome="timeout", elapsed_ms=1.0,
                              timeout_ms=1.0, timeout_basis=basis, rtt_ms=rtt)
        return NotRun(reason="not faked")

    return run


async def test_echo_is_cut_after_the_grace_once_tcp_answered() -> None:
    """A connect that answered leaves the echo ECHO_GRACE_S, not its own (here endless) wait."""
    plan = CheckPlan(TARGET, CheckSettings())
    start = time.monotonic()
    ev = await run_plan(plan, Deadline.after(5.0), run=_fake(None, c.tcp(IP, 5432, "refused")))
    assert time.monotonic() - start < SLOW_S / 2  # generous: only proves nothing hung
    head = ev.addresses[0]
    assert head.tcp is not None and head.tcp.outcome == "refused"
    assert head.echo is not None and head.echo.reason == ECHO_NOT_WAITED


async def test_tcp_answer_settles_the_echo_in_flight() -> None:
    """A refused connect reaches the steered echo in flight as its stop (end at the first
    answer): the echo's own result, not the grace's cut, is the evidence."""
    plan = CheckPlan(TARGET, CheckSettings())
    reply = c.echo_reply(IP, rtt=0.5)

    async def run(probe: Probe, deadline: Deadline, steer: Steering | None) -> Result:
        if isinstance(probe, LookupRoute):
            return c.route_ok(IP)
        if isinstance(probe, ReadNeighbour):
            return NeighbourRead(state="REACHABLE")
        if isinstance(probe, Connect):
            return c.tcp(IP, 5432, "refused")
        assert isinstance(probe, Echo) and steer is not None
        await asyncio.wait_for(steer.stop, SLOW_S)
        return reply

    ev = await run_plan(plan, Deadline.after(5.0), run=run)
    assert ev.addresses[0].echo == reply


async def test_dead_next_hop_stops_the_waiting_connect() -> None:
    """The watch's INCOMPLETE reaches the connect in flight as a stop."""
    plan = CheckPlan(TARGET, CheckSettings())
    ev = await run_plan(
        plan, Deadline.after(5.0), run=_fake(c.echo_timeout(IP), None, neighbour="INCOMPLETE")
    )
    head = ev.addresses[0]
    assert head.tcp is not None and head.tcp.timeout_basis == "neighbour"


async def test_echo_rtt_reaches_the_waiting_connect() -> None:
    """The echo's RTT is handed to the connect in flight (then the dead hop stops it)."""
    plan = CheckPlan(TARGET, CheckSettings())
    echo = c.echo_reply(IP, rtt=4.25)
    ev = await run_plan(plan, Deadline.after(5.0), run=_fake(echo, None, neighbour="FAILED"))
    head = ev.addresses[0]
    assert head.tcp is not None and head.tcp.rtt_ms == 4.25


async def test_a_probe_that_overruns_is_left_behind() -> None:
    """A probe ignoring its deadline cannot hold the check past the budget plus the overrun
    margin: the loop stops and keeps what it has."""
    plan = CheckPlan(TARGET, CheckSettings())

    async def stuck(probe: Probe, deadline: Deadline, steer: Steering | None) -> Result:
        await asyncio.sleep(SLOW_S)
        raise AssertionError("not reached")

    start = time.monotonic()
    ev = await run_plan(plan, Deadline.after(0.0), run=stuck)
    assert time.monotonic() - start < SLOW_S / 2
    assert ev.addresses[0].route is None


async def test_probe_below_its_floor_is_not_run() -> None:
    """With less budget left than a probe's floor it is not started: NotRun, no I/O."""
    probe = AskAuthoritative(id=1, budget=Budget(cap_s=1.5, floor_s=0.1), name="x", rtype="A")
    result = await run_probe(probe, Deadline.after(0.0), None)
    assert isinstance(result, NotRun)


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
