"""check --ssh driven end to end with fake probes and a fake SSH session: the session opens
before the SYN, "go" follows the probes, every wait stays inside the one budget, and an SSH
failure is evidence beside the client's own."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import evidence_cases as c
import pytest

from netdx import check_ssh
from netdx.budget import Deadline
from netdx.check import OVERRUN_S, Steering, gather_evidence
from netdx.check_ssh import LATE_CAPTURE, session_request
from netdx.host.ssh import SshOptions
from netdx.model import Target
from netdx.model.remote import PacketSeen, RemoteEvidence, SshOutcome, WireCapture
from netdx.model.vantage import THIS_HOST, Vantage
from netdx.plan import (
    CheckSettings,
    CollectServer,
    Connect,
    Echo,
    LookupRoute,
    NotRun,
    Probe,
    ReadNeighbour,
    Result,
)

IP = c.DB_IP
DEST = f"root@{IP}"
TARGET = Target(raw=f"{IP}:5432", host=IP, port=5432, ip_literal=True)
FOREVER_S = 60.0  # a fake wait that would hang the test if the check waited for it
BEFORE = {"schema": "netdx.collect/1", "phase": "before"}
AFTER = {"schema": "netdx.collect/1", "phase": "after"}


def settings(timeout: float = 5.0) -> CheckSettings:
    return CheckSettings(timeout=timeout, ssh=SshOptions(destination=DEST), observed_on=THIS_HOST)


class FakeSession:
    """A session whose first read takes `arm_s` (None: never comes) and that fails with
    `status` when it is not "ok"; it records when things happened."""

    def __init__(self, log: list[str], *, arm_s: float | None = 0.0, status: str = "ok") -> None:
        self.log = log
        self.arm_s = arm_s
        self.status = status
        self.request: dict[str, Any] = {}
        self.closed = False

    @property
    def outcome(self) -> SshOutcome:
        return SshOutcome(destination=DEST, status=self.status)  # type: ignore[arg-type]

    async def before(self) -> dict[str, Any] | None:
        if self.status != "ok":
            return None
        await asyncio.sleep(FOREVER_S if self.arm_s is None else self.arm_s)
        self.log.append("armed")
        return BEFORE

    async def after(self) -> dict[str, Any] | None:
        self.log.append("go")
        return AFTER

    async def close(self) -> None:
        self.closed = True


def factory(session: FakeSession):  # type: ignore[no-untyped-def]
    async def open_session(opts: SshOptions, request: dict[str, Any], deadline: Deadline):  # type: ignore[no-untyped-def]
        session.request = request
        session.log.append("open")
        return session

    return open_session


def fake_probes(log: list[str]):  # type: ignore[no-untyped-def]
    """The client's probes, instant: a refused connect, an echo reply."""

    async def run(probe: Probe, deadline: Deadline, steer: Steering | None) -> Result:
        if isinstance(probe, LookupRoute):
            return c.route_ok(IP)
        if isinstance(probe, Connect):
            log.append("syn")
            return c.tcp(IP, 5432, "refused")
        if isinstance(probe, Echo):
            return c.echo_reply(IP)
        if isinstance(probe, ReadNeighbour):
            return NotRun(reason="not faked")
        return NotRun(reason="not faked")

    return run


def joined(monkeypatch: pytest.MonkeyPatch, calls: list[dict[str, Any]]) -> None:
    """Replace the join of the two documents (netdx.remote.join) by a recorder."""

    def join(
        outcome: SshOutcome, before: Any, after: Any, address: str, probe: CollectServer
    ) -> RemoteEvidence:
        calls.append({"before": before, "after": after, "client": probe.client,
                      "address": address, "port": probe.port})  # fmt: skip
        return RemoteEvidence(ssh=outcome, client=probe.client,
                              observed_on=Vantage(kind="ssh", name=DEST))  # fmt: skip

    monkeypatch.setattr(check_ssh, "_join", join)


async def run_check(
    monkeypatch: pytest.MonkeyPatch, session: FakeSession, timeout: float = 5.0
) -> tuple[Any, float]:
    monkeypatch.setattr("netdx.check.run_probe", fake_probes(session.log))
    start = time.monotonic()
    ev = await gather_evidence(
        TARGET, settings(timeout), Deadline.after(timeout), session_factory=factory(session)
    )
    return ev, time.monotonic() - start


async def test_syn_leaves_after_the_arm_and_go_after_the_probes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The session opens first, the SYN leaves once the server is armed, "go" comes after
    the probes, and both documents are joined for the route's source address."""
    calls: list[dict[str, Any]] = []
    joined(monkeypatch, calls)
    session = FakeSession([], arm_s=0.05)
    ev, _ = await run_check(monkeypatch, session)
    assert session.log == ["open", "armed", "syn", "go"]
    assert calls == [{"before": BEFORE, "after": AFTER, "client": "10.0.0.10",
                      "address": IP, "port": 5432}]  # fmt: skip
    assert ev.remote is not None and ev.remote.ssh.ok and session.closed
    assert ev.addresses[0].tcp is not None and ev.addresses[0].tcp.outcome == "refused"


async def test_a_session_that_never_answers_does_not_delay_the_verdict(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server that never arms: the SYN leaves after the arm cap, the check ends within its
    budget with the client's evidence and `ssh.timeout` (not cut by the loop's overrun
    guard: the remote evidence is there)."""
    session = FakeSession([], arm_s=None)
    ev, took = await run_check(monkeypatch, session, timeout=1.0)
    assert session.log == ["open", "syn"]
    assert ev.remote is not None and ev.remote.ssh.status == "timeout"
    assert ev.addresses[0].tcp is not None and ev.addresses[0].tcp.outcome == "refused"
    assert took < 1.0 + OVERRUN_S / 2  # generous: only proves nothing waited past the budget
    assert session.closed


async def test_a_failed_link_is_evidence_and_never_holds_the_syn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ssh refused: the SYN leaves at once, the check has the client's verdict and the
    failed outcome as its remote evidence (no join, no "go")."""
    session = FakeSession([], status="refused")
    ev, _ = await run_check(monkeypatch, session)
    assert session.log == ["open", "syn"]
    assert ev.remote is not None and ev.remote.ssh.status == "refused"
    assert ev.remote.observed_on == Vantage(kind="ssh", name=DEST)


def test_session_request_reads_the_port_both_times_and_captures_every_source() -> None:
    """The request asks the same read before and after, routes back to the client, and
    captures the port from any source (NAT may change ours), waking by itself in time."""
    request = session_request(5432, "10.0.0.10", wake_s=3.2)
    assert request["schema"] == "netdx.session/1" and request["timeout"] == 3.2
    assert request["before"] == request["after"]
    assert request["before"]["addresses"] == ["10.0.0.10"]
    assert request["capture"] == {"port": 5432, "peer": None, "proto": "tcp"}


def test_a_late_capture_proves_no_absence() -> None:
    """A capture armed after the SYN left keeps the SYNs it saw, but one that saw none is
    no longer 'ok': it cannot prove the SYN never arrived."""
    empty = WireCapture(status="ok", port=5432)
    remote = RemoteEvidence(ssh=SshOutcome(destination=DEST, status="ok"), capture=empty,
                            observed_on=Vantage(kind="ssh", name=DEST))  # fmt: skip
    late = check_ssh._late(remote)
    assert late.capture is not None and late.capture.status == "error"
    assert LATE_CAPTURE in late.notes
    syn = PacketSeen(direction="in", src="10.0.0.10", sport=40000, dst=IP, dport=5432, flags="S")
    seen = RemoteEvidence(ssh=remote.ssh, capture=WireCapture(status="ok", port=5432,
                          packets=(syn,)), observed_on=remote.observed_on)  # fmt: skip
    assert check_ssh._late(seen) == seen
