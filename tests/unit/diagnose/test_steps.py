"""The five steps of the walk (diagnose/steps.py): status, summary, evidence and time of each."""

from __future__ import annotations

import dataclasses
import json

import evidence_cases as c

from netdx.diagnose import diagnose


def test_unknown_says_what_would_settle_it() -> None:
    """An echo that could not run and no other probe: unknown verdict, reach step unknown."""
    steps, verdict = diagnose(c.HOST_ECHO_UNKNOWN)
    assert verdict.cause == "unknown"
    reach = steps[2]
    assert reach.status == "unknown" and "run as root" in reach.summary
    assert any("reach: unknown" in e for e in verdict.evidence)


def test_reach_quotes_each_echo_outcome() -> None:
    """The reach step words the echo exactly: not sent, could not run (and what settles it),
    or its status in a few words when TCP proved the host up."""
    head = c.PORT_FILTERED_NO_ECHO.addresses[0]
    no_echo = dataclasses.replace(
        c.PORT_FILTERED_NO_ECHO, addresses=(dataclasses.replace(head, echo=None),)
    )
    assert diagnose(no_echo)[0][2].summary == "ICMP echo not sent"
    assert diagnose(c.HOST_ECHO_UNKNOWN)[0][2].summary == (
        "ICMP echo unknown (no ICMP socket: EACCES (ping_group_range excludes this user, not "
        "root)); run as root or allow ping (sysctl net.ipv4.ping_group_range) to settle it"
    )
    refused = c.REFUSED.addresses[0]
    refused_no_echo = dataclasses.replace(
        c.REFUSED, addresses=(dataclasses.replace(refused, echo=c.echo_unknown(c.DB_IP)),)
    )
    summary = diagnose(refused_no_echo)[0][2].summary
    assert summary == f"{c.DB_IP} is up: it answered TCP (ICMP echo: unknown)"


def test_echo_unknown_with_liveness_passes_reach() -> None:
    """A reset on a liveness port passes the reach step even with the echo unknown."""
    steps, verdict = diagnose(c.HOST_LIVENESS)
    assert steps[2].status == "pass" and "TCP port 22 answered" in steps[2].summary
    assert verdict.ok


def test_echo_unknown_on_a_port_target_stays_unknown() -> None:
    """A port timeout with the echo unknown leaves reach unknown, never invents a down host."""
    steps, _ = diagnose(c.PORT_FILTERED_NO_ECHO)
    assert steps[2].status == "unknown"


def test_steps_skip_after_a_dns_failure() -> None:
    """With no address, route, reach and port are skipped, saying why."""
    steps, _ = diagnose(c.NXDOMAIN)
    assert [s.status for s in steps] == ["fail", "skip", "skip", "skip", "skip"]
    assert steps[1].summary == "skipped: no address to probe"


def test_step_evidence_is_json_ready_without_nones() -> None:
    """Step evidence dumps to JSON and carries no null values (None fields are dropped)."""
    from netdx.render.json import step_evidence

    steps, _ = diagnose(c.PATH_MIDWAY)
    text = json.dumps([step_evidence(s.evidence) for s in steps])
    assert "null" not in text
    port = step_evidence(steps[3].evidence)
    assert port["tcp"][0]["outcome"] == "timeout"
    assert port["path"][0]["hops"][2] == {"ttl": 3, "kind": "silent"}


def test_step_elapsed_from_payloads() -> None:
    """Each step's time is the longest of its probes' measured times."""
    steps, _ = diagnose(c.PATH_MIDWAY)
    assert steps[3].elapsed_ms == 1002.5
    steps, _ = diagnose(c.OK_HTTP)
    assert steps[0].elapsed_ms == 2.31 and steps[4].elapsed_ms == 1.5
