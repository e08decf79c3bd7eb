"""Lab scenarios that read a server over SSH (`ssh: HOST`): what the schema accepts, where
the check logs in, and the facts of the server's evidence they assert (no network here)."""

from __future__ import annotations

import pytest

from netdx.errors import UsageError
from netdx.lab import list_scenarios, parse_scenario
from netdx.lab.evidence import FACTS, facts, missing
from netdx.lab.run import RunResult
from netdx.model.firewall import FirewallMatch, RuleRef
from netdx.model.remote import (
    CounterDelta,
    PacketSeen,
    RemoteEvidence,
    ReturnPath,
    ServerFirewall,
    SshOutcome,
    WireCapture,
)
from netdx.model.vantage import Vantage

BASE = """
name: tiny
topology: routed
description: Two hosts and a router.
fault: none
client: a
check: ["10.0.2.2:5432"]
expect: port.filtered
links:
  one: [a, r]
  two: [r, b]
  mgmt: [a, b]
hosts:
  a: {addresses: {one: [10.0.1.1/24], mgmt: [10.0.9.1/24]}}
  r: {addresses: {one: [10.0.1.254/24], two: [10.0.2.254/24]}}
  b: {addresses: {two: [10.0.2.2/24], mgmt: [10.0.9.2/24]}}
"""
DEST = "root@10.0.0.20"
OK = SshOutcome(destination=DEST, status="ok")
WHERE = Vantage(kind="ssh", name=DEST)
SYN = PacketSeen(direction="in", src="10.0.0.10", sport=40000, dst="10.0.0.20", dport=5432,
                 flags="S")  # fmt: skip
RESET = PacketSeen(direction="out", src="10.0.0.20", sport=5432, dst="10.0.0.10", dport=40000,
                   flags="R.")  # fmt: skip


def test_ssh_logs_in_on_a_link_the_runner_shares() -> None:
    """The check logs in where an operator would: the server's address on a link it shares
    with the client (here the management link), not the probed one."""
    scenario = parse_scenario(BASE + "ssh: b\nexpect_evidence: [ssh.ok, capture.syn_in]\n")
    assert scenario.ssh == "b" and scenario.ssh_address == "10.0.9.2"
    assert scenario.expect_evidence == ("ssh.ok", "capture.syn_in")
    routed = parse_scenario(BASE.replace("  mgmt: [a, b]\n", "").replace(
        ", mgmt: [10.0.9.1/24]", "").replace(", mgmt: [10.0.9.2/24]", "") + "ssh: b\n")
    assert routed.ssh_address == "10.0.2.2"


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ("ssh: zz\n", "ssh: unknown host 'zz'"),
        ("expect_evidence: [ssh.ok]\n", "needs `ssh: HOST`"),
        ("ssh: b\nexpect_evidence: [wishful]\n", "unknown fact 'wishful'"),
        ("ssh: b\ncommand: inspect\n", "only a check reads a server"),
        ("expect_warnings: [OK]\n", "expect_warnings"),
    ],
)
def test_bad_ssh_fields_give_one_line(extra: str, needle: str) -> None:
    """A wrong `ssh`, `expect_evidence` or `expect_warnings` is one line naming the field."""
    with pytest.raises(UsageError) as caught:
        parse_scenario(BASE + extra)
    assert needle in str(caught.value) and "\n" not in str(caught.value)


def test_every_ssh_scenario_asserts_the_link_and_a_server_fact() -> None:
    """Each shipped `ssh:` scenario expects the link to work and at least one more fact of
    the server's evidence: the verdict alone would not prove the join."""
    shipped = [s for s in list_scenarios() if s.ssh]
    assert len(shipped) >= 6
    for scenario in shipped:
        assert scenario.expect_evidence[:1] == ("ssh.ok",), scenario.name
        assert len(scenario.expect_evidence) >= 2, scenario.name
        assert scenario.ssh_address is not None


def _remote(**fields: object) -> RemoteEvidence:
    return RemoteEvidence(ssh=OK, client="10.0.0.10", observed_on=WHERE, **fields)  # type: ignore[arg-type]


def test_facts_read_the_server_evidence() -> None:
    """A confirmed drop rule, the SYN in the capture, strict rp_filter and a rising
    ListenOverflows are each their fact; a failed link has none but its status."""
    rule = RuleRef(family="inet", table="filter", chain="input", handle=2, position=1,
                   text="tcp dport 5432 counter drop")  # fmt: skip
    wall = ServerFirewall(match=FirewallMatch(hook="input", decision="drop", rule=rule),
                          counter_before=0, counter_after=3)  # fmt: skip
    remote = _remote(
        firewall=wall,
        capture=WireCapture(status="ok", port=5432, packets=(SYN, RESET)),
        return_path=ReturnPath(client="10.0.0.10", rp_filter=1),
        counters=(CounterDelta(name="TcpExtListenOverflows", before=1, after=4),),
        root=True,
    )
    assert facts(remote) == {
        "ssh.ok", "root", "firewall.drop", "firewall.confirmed", "capture.syn_in",
        "capture.reset_out", "rp_filter.strict", "listen_overflow",
    }  # fmt: skip
    from netdx.model.server import ServerEvidence

    elsewhere = _remote(server=ServerEvidence(port=5432, address="10.0.0.30"),
                        addresses=("10.0.0.20",))  # fmt: skip
    assert "address.foreign" in facts(elsewhere) and "address.foreign" not in facts(remote)
    silent = _remote(capture=WireCapture(status="ok", port=5432))
    assert "capture.no_syn" in facts(silent) and "capture.syn_in" not in facts(silent)
    lossy = _remote(capture=WireCapture(status="ok", port=5432, kernel_dropped=2))
    assert "capture.no_syn" not in facts(lossy)
    failed = RemoteEvidence(ssh=SshOutcome(destination=DEST, status="refused"),
                            observed_on=WHERE)  # fmt: skip
    assert facts(failed) == frozenset()
    assert missing(("ssh.ok", "capture.no_syn"), failed) == ("ssh.ok", "capture.no_syn")
    assert missing(("ssh.ok",), None) == ("ssh.ok",)
    assert set(FACTS) >= facts(remote)


def test_run_result_needs_the_cause_the_facts_and_the_warnings() -> None:
    """`lab run` matches only when the cause, every expected fact and every expected warning
    are there."""
    doc = {"verdict": {"cause": "ok", "warnings": [{"cause": "app.close_wait_leak"}]}}
    base = dict(scenario="x", expected="ok", cause="ok", elapsed=1.0, max_seconds=4.0,
                returncode=0, doc=doc, stdout="", stderr="")  # fmt: skip
    assert RunResult(**base, expected_warnings=("app.close_wait_leak",)).matched  # type: ignore[arg-type]
    assert not RunResult(**base, expected_warnings=("app.other",)).matched  # type: ignore[arg-type]
    assert not RunResult(**base, missing_evidence=("close_wait",)).matched  # type: ignore[arg-type]
