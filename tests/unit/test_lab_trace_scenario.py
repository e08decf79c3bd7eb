"""Lab scenarios that run `netdx trace`: the file format (`command: trace`,
`expect_rate_limited`) and how `lab run` judges a trace report, which has no verdict."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from netdx.errors import UsageError
from netdx.lab import load_scenario, parse_scenario
from netdx.lab.cli import run_document
from netdx.lab.run import RunResult, _cause
from netdx.model.evidence import Hop
from netdx.trace.report import build_report

TARGET = "10.0.2.20"

TRACE = """
name: tiny-trace
topology: flat
description: Two hosts.
fault: none
client: a
command: trace
check: ["--tcp", "-p", "1", "10.0.0.2"]
expect: ok
expect_rate_limited: [1]
links:
  lan: [a, b]
hosts:
  a: {addresses: {lan: [10.0.0.1/24]}}
  b: {addresses: {lan: [10.0.0.2/24]}}
"""


def _report(hop2_answers: int, *, reached: bool = True) -> dict[str, Any]:
    """The JSON of a real 10-round trace report (client, r1, r2, target): hop 2 answers
    `hop2_answers` rounds, hops 1 and 3 every round (hop 3 silent when not `reached`)."""
    rounds = []
    for index in range(10):
        hops = {1: Hop(ttl=1, kind="time_exceeded", address="10.0.1.1", rtt_ms=0.2)}
        if index < hop2_answers:
            hops[2] = Hop(ttl=2, kind="time_exceeded", address="10.0.3.2", rtt_ms=0.3)
        if reached:
            hops[3] = Hop(ttl=3, kind="reached", address=TARGET, rtt_ms=0.4)
        rounds.append(hops)
    report = build_report(rounds, target=TARGET, method="tcp", port=8080, max_hops=30,
                          raw_socket=False, elapsed_ms=12.0)
    doc: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(report)))
    return doc


def _result(doc: dict[str, Any]) -> RunResult:
    return RunResult(scenario="path-icmp-ratelimit-midway", expected="ok", cause=_cause(doc),
                     elapsed=1.0, max_seconds=15.0, returncode=0, doc=doc, stdout="",
                     stderr="", expected_rate_limited=(2,))


def test_shipped_ratelimit_scenario_is_a_trace_through_the_limiting_router() -> None:
    """The shipped file runs `netdx trace --tcp` to the target across two routers, expects
    ok and hop 2 called rate-limited, and r2 (hop 2) is the router with the ICMP limit."""
    scenario = load_scenario("path-icmp-ratelimit-midway")
    assert scenario.command == "trace" and scenario.argv[:2] == ("trace", "--tcp")
    assert scenario.argv[-1] == TARGET
    assert (scenario.expect, scenario.expect_rate_limited) == ("ok", (2,))
    assert dict(scenario.host("r2").sysctls)["net.ipv4.icmp_ratelimit"] == "10000"
    assert "net.ipv4.icmp_ratelimit" not in dict(scenario.host("r1").sysctls)


def test_trace_run_matches_when_the_middle_hop_is_called_a_rate_limit() -> None:
    """A trace that reaches the target and flags hop 2 matches; its lab-run document
    lists hop 2 as expected and nothing missing."""
    result = _result(_report(6))
    assert (result.cause, result.rate_limited, result.missing_rate_limited) == ("ok", (2,), ())
    assert result.matched
    doc = run_document(result, "trace", "client", None)
    assert doc["expect_rate_limited"] == [2] and doc["missing_rate_limited"] == []


def test_trace_run_fails_without_the_rate_limit_or_the_target() -> None:
    """No loss at hop 2 (nothing to call a rate limit) does not match, nor does a trace
    that never reached the target (a trace names no cause then)."""
    clean = _result(_report(10))
    assert clean.cause == "ok" and clean.missing_rate_limited == (2,) and not clean.matched
    lost = _result(_report(6, reached=False))
    assert lost.cause is None and not lost.matched


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (("expect: ok", "expect: port.filtered"), "a trace names no cause"),
        (("command: trace", "command: check"), "only `command: trace` reports hops"),
        (("expect: ok", "expect: ok\nexpect_warnings: [app.x]"), "a trace carries no warnings"),
        (("[1]", "[0]"), "expect_rate_limited"),
    ],
)
def test_bad_trace_scenario_is_one_line_error(change: tuple[str, str], needle: str) -> None:
    """A trace expecting a cause or warnings, rate-limited hops outside a trace, or a TTL
    of 0 is refused with one line naming the field."""
    parse_scenario(TRACE)  # the unchanged file is valid
    with pytest.raises(UsageError) as caught:
        parse_scenario(TRACE.replace(*change))
    assert needle in str(caught.value) and "\n" not in str(caught.value)
