"""The --ssh step of the check plan without I/O: when the session opens, what holds the
connect, when the server reads again, and where its evidence lands."""

from __future__ import annotations

import evidence_cases as c
import pytest

from netdx.host.ssh import SshOptions
from netdx.model import Target
from netdx.model.remote import RemoteEvidence, SshOutcome
from netdx.model.vantage import Vantage
from netdx.plan import (
    Budget,
    CheckPlan,
    CheckSettings,
    CollectServer,
    Connect,
    Echo,
    LookupRoute,
    NotRun,
    OpenServer,
    Probe,
    ReadNeighbour,
    Resolve,
    Result,
    ServerArmed,
    limits,
)

IP = c.DB_IP
DB_PORT = Target(raw=f"{IP}:5432", host=IP, port=5432, ip_literal=True)
SSH = CheckSettings(ssh=SshOptions(destination=f"root@{IP}"))
REMOTE = RemoteEvidence(
    ssh=SshOutcome(destination=f"root@{IP}", status="ok"),
    client="10.0.0.10",
    observed_on=Vantage(kind="ssh", name=f"root@{IP}"),
)


def kinds(probes: tuple[Probe, ...]) -> list[str]:
    return [type(p).__name__ for p in probes]


def one(probes: tuple[Probe, ...], kind: type[Probe]) -> Probe:
    found = [p for p in probes if isinstance(p, kind)]
    assert len(found) == 1, kinds(probes)
    return found[0]


def answer_all(plan: CheckPlan, probes: tuple[Probe, ...], answers: dict[type, Result]) -> None:
    for probe in probes:
        plan.feed(probe.id, answers.get(type(probe), NotRun(reason="not in this test")))


def test_ip_target_opens_the_session_once_the_route_names_our_address() -> None:
    """For an IP target the route comes first (one netlink request); the session opens with
    the route's source address, and the connect waits for the server to be armed."""
    plan = CheckPlan(DB_PORT, SSH)
    plan.feed(one(plan.next_probes(), LookupRoute).id, c.route_ok(IP))
    probes = plan.next_probes()
    assert kinds(probes) == ["OpenServer"]
    opening = one(probes, OpenServer)
    assert isinstance(opening, OpenServer)
    assert opening.port == 5432 and opening.client == "10.0.0.10"
    assert opening.budget == Budget(cap_s=limits.SSH_ARM_MAX_S, share=limits.SSH_ARM_SHARE)
    plan.feed(opening.id, ServerArmed(armed=True))
    assert kinds(plan.next_probes()) == ["Connect", "Echo", "ReadNeighbour"]


def test_name_target_opens_the_session_beside_dns() -> None:
    """A name target opens the session at the very start, beside DNS: it needs only the
    port (our source address is not known yet)."""
    plan = CheckPlan(c.TARGETS["db"], SSH)
    probes = plan.next_probes()
    assert kinds(probes) == ["Resolve", "OpenServer"]
    opening = one(probes, OpenServer)
    assert isinstance(opening, OpenServer) and opening.client is None
    plan.feed(one(probes, Resolve).id, c.dns_ok(c.DB, IP))
    # The route comes, but the server is not armed yet: no SYN leaves.
    plan.feed(one(plan.next_probes(), LookupRoute).id, c.route_ok(IP))
    assert plan.next_probes() == ()
    plan.feed(opening.id, ServerArmed(armed=True))
    assert "Connect" in kinds(plan.next_probes())


@pytest.mark.parametrize("arm", [NotRun(reason="cap"), ServerArmed(armed=False)])
def test_a_late_or_failed_server_never_holds_the_connect(arm: Result) -> None:
    """When the arm wait runs out (NotRun) or the link failed, the connect starts anyway,
    and the server's read is then asked as not armed in time."""
    plan = CheckPlan(DB_PORT, SSH)
    plan.feed(one(plan.next_probes(), LookupRoute).id, c.route_ok(IP))
    plan.feed(one(plan.next_probes(), OpenServer).id, arm)
    probes = plan.next_probes()
    assert kinds(probes) == ["Connect", "Echo", "ReadNeighbour"]
    answer_all(plan, probes, {Connect: c.tcp(IP, 5432, "refused"), Echo: c.echo_reply(IP)})
    collect = one(plan.next_probes(), CollectServer)
    assert isinstance(collect, CollectServer) and collect.armed is False


def test_server_reads_again_once_the_probes_ended_and_its_evidence_lands() -> None:
    """After the connect and its follow-ups, the plan asks for the server's second read for
    the first address, from the route's source address; its RemoteEvidence is the check's."""
    plan = CheckPlan(DB_PORT, SSH)
    plan.feed(one(plan.next_probes(), LookupRoute).id, c.route_ok(IP))
    plan.feed(one(plan.next_probes(), OpenServer).id, ServerArmed(armed=True))
    probes = plan.next_probes()
    plan.feed(one(probes, Connect).id, c.tcp(IP, 5432, "timeout"))
    assert plan.next_probes() == () or "CollectServer" not in kinds(plan.next_probes())
    answer_all(plan, (one(probes, Echo), one(probes, ReadNeighbour)), {Echo: c.echo_reply(IP)})
    # The silent SYN's follow-ups run first; the server reads once they ended.
    while (follow := plan.next_probes()) and "CollectServer" not in kinds(follow):
        answer_all(plan, follow, {})
    collect = one(follow, CollectServer)
    assert isinstance(collect, CollectServer)
    assert (collect.address, collect.client, collect.port, collect.armed) == (
        IP, "10.0.0.10", 5432, True,
    )
    assert not plan.done and plan.evidence().remote is None
    plan.feed(collect.id, REMOTE)
    assert plan.done and plan.evidence().remote == REMOTE


def test_failed_resolution_still_reads_the_server() -> None:
    """DNS found nothing: no address to probe, but the server's read still ends the session
    (its evidence may say why), for no address."""
    plan = CheckPlan(c.TARGETS["db"], SSH)
    probes = plan.next_probes()
    plan.feed(one(probes, OpenServer).id, ServerArmed(armed=True))
    plan.feed(one(probes, Resolve).id, NotRun(reason="cancelled"))
    collect = one(plan.next_probes(), CollectServer)
    assert isinstance(collect, CollectServer) and collect.address is None


def test_without_ssh_nothing_of_the_server_is_asked() -> None:
    """Without --ssh the plan asks exactly what it always did: no session, no gate."""
    plan = CheckPlan(DB_PORT, CheckSettings())
    plan.feed(one(plan.next_probes(), LookupRoute).id, c.route_ok(IP))
    assert kinds(plan.next_probes()) == ["Connect", "Echo", "ReadNeighbour"]


def test_host_only_target_opens_no_session() -> None:
    """--ssh reads the side of a port: a host-only target has none (check refuses it)."""
    plan = CheckPlan(Target(raw=IP, host=IP, port=None, ip_literal=True), SSH)
    plan.feed(one(plan.next_probes(), LookupRoute).id, c.route_ok(IP))
    assert "OpenServer" not in kinds(plan.next_probes())


def test_server_reserve_is_a_bounded_share_of_the_budget() -> None:
    """The end of the budget kept for the server's second read: SSH_AFTER_RESERVE_S, never
    more than its share of a small budget."""
    assert limits.server_reserve(5.0) == limits.SSH_AFTER_RESERVE_S
    assert limits.server_reserve(1.0) == pytest.approx(limits.SSH_AFTER_RESERVE_SHARE)
