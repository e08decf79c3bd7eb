"""`netdx check` end to end in lab scenarios: deadlines, exit codes, outputs, early stops."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from netdx.lab import Lab, load_scenario, run_scenario

pytestmark = pytest.mark.lab

# A guard against a hang only: the wall clock of `ip netns exec python -m netdx` includes
# start-up and the machine's load, so it never measures whether a check kept its budget.
HANG_GUARD_S = 30.0
# How far past its --timeout a check may say it finished (its own elapsed_ms, measured
# inside the process): the synchronous work after the last probe gave up (lazy imports, the
# ruleset read, the diagnosis) takes about 0.1 s on an idle machine. A check that ignores
# its deadline overruns by a second or more (a SYN retransmission, ARP's 3 s), well beyond.
LATE_S = 0.75

# What each scenario concludes even when --timeout is short.
SHORT_BUDGET_CAUSES: dict[str, tuple[str, ...]] = {
    "payment-db-firewall": ("port.filtered",),
    "dns-resolver-unreachable": ("dns.resolver_unreachable",),
    # The path trace runs in the reserve the connect leaves; on a busy machine it may not end.
    "path-filtered-midway": ("path.filtered_midway", "port.filtered"),
    # Under 1 s the neighbour watch may not yet have seen ARP fail: the SYN is still silent.
    "reach-host-down": ("reach.host_unreachable", "port.filtered"),
}


def _check(lab: Lab, client: str, *args: str, budget: float = 5.0) -> tuple[int, str]:
    """`netdx check ARGS` on `client`: exit code and stdout (killed only if it hangs)."""
    argv = lab.exec_argv(client, [sys.executable, "-m", "netdx", "check", *args])
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=budget + HANG_GUARD_S, check=False
    )
    return proc.returncode, proc.stdout


def _check_json(lab: Lab, client: str, *args: str, budget: float) -> tuple[int, dict[str, Any]]:
    """`netdx check ARGS --timeout BUDGET --json` on `client`: exit code and the report."""
    rc, out = _check(lab, client, *args, "--timeout", str(budget), "--json", budget=budget)
    doc: dict[str, Any] = json.loads(out)
    assert doc["schema"] == "netdx.check/1"
    assert [s["layer"] for s in doc["steps"]] == ["dns", "route", "reach", "port", "service"]
    return rc, doc


@pytest.mark.parametrize("name", sorted(SHORT_BUDGET_CAUSES))
@pytest.mark.parametrize("budget", [0.5, 1.0])
def test_check_ends_within_its_budget(lab_env: Path, name: str, budget: float) -> None:
    """Whatever the network does (dropped SYNs, a silent resolver, a dead host), a check
    with --timeout T reports finishing within T (its own clock) with its diagnosis."""
    scenario = load_scenario(name)
    with Lab(scenario) as lab:
        rc, doc = _check_json(lab, scenario.client, *scenario.check, budget=budget)
    took = doc["elapsed_ms"] / 1000
    assert took <= budget + LATE_S, f"{name} took {took:.2f} s with --timeout {budget}"
    assert doc["verdict"]["cause"] in SHORT_BUDGET_CAUSES[name]
    assert rc == 1


def test_report_json_is_parseable_under_tiny_budget(lab_env: Path) -> None:
    """Even a 0.2 s budget yields a complete netdx.check/1 document with the DNS verdict,
    never a traceback."""
    scenario = load_scenario("dns-resolver-unreachable")
    with Lab(scenario) as lab:
        rc, doc = _check_json(lab, scenario.client, *scenario.check, budget=0.2)
    assert rc == 1
    assert doc["verdict"]["cause"] == "dns.resolver_unreachable"
    assert doc["elapsed_ms"] <= (0.2 + LATE_S) * 1000


def test_exit_codes_ok_and_problem(lab_env: Path) -> None:
    """Exit 0 for a healthy target, 1 for a diagnosed problem, in the same lab."""
    scenario = load_scenario("healthy-flat")
    with Lab(scenario) as lab:
        ok_rc, _ = _check(lab, scenario.client, "db-server-01:5432")
        bad_rc, out = _check(lab, scenario.client, "db-server-01:5433", "--quiet")
    assert ok_rc == 0
    assert bad_rc == 1
    assert out.startswith("✘ port.refused")


def test_dead_neighbour_stops_the_connect_early(lab_env: Path) -> None:
    """An on-link address nobody answers ARP for is diagnosed in about a second, not after
    the kernel's 3 s of ARP retries, and the connect says why it stopped."""
    result = run_scenario("reach-host-down")
    assert result.cause == "reach.host_unreachable"
    assert result.doc is not None
    port = next(s for s in result.doc["steps"] if s["layer"] == "port")
    tcp = port["evidence"]["tcp"][0]
    assert tcp["timeout_basis"] == "neighbour"
    assert tcp["elapsed_ms"] < 1500
    assert result.doc["elapsed_ms"] < 2000


def test_show_report_gives_terminal_text_and_json(lab_env: Path) -> None:
    """`--json-file` writes the JSON report while the terminal report goes to stdout."""
    result = run_scenario("port-refused", show_report=True)
    assert result.cause == "port.refused"
    assert "✘ port.refused" in result.stdout
    assert not result.stdout.lstrip().startswith("{")


def test_family_flags_pick_the_family(lab_env: Path) -> None:
    """With a v4-only listener, -4 connects and -6 is refused, where the default (IPv6
    first) names the mismatch."""
    scenario = load_scenario("service-ipv6-only-mismatch")
    with Lab(scenario) as lab:
        rc4, out4 = _check(lab, scenario.client, "db-server-01:5432", "-4", "--json")
        rc6, out6 = _check(lab, scenario.client, "db-server-01:5432", "-6", "--json")
    assert (rc4, json.loads(out4)["verdict"]["cause"]) == (0, "ok")
    assert (rc6, json.loads(out6)["verdict"]["cause"]) == (1, "port.refused")


def test_dns_server_option_bypasses_a_stale_hosts_pin(lab_env: Path) -> None:
    """--dns-server takes the addresses from that server, so a stale /etc/hosts pin no
    longer decides, and the evidence says where the address came from."""
    scenario = load_scenario("dns-hosts-override")
    with Lab(scenario) as lab:
        rc, out = _check(
            lab, scenario.client, "db-server-01:5432", "--dns-server", "10.0.0.53", "--json"
        )
    doc = json.loads(out)
    dns = doc["steps"][0]
    assert rc == 0
    assert doc["verdict"]["cause"] == "ok"
    assert dns["evidence"]["source"] == "dns"
    assert "10.0.0.20" in dns["summary"]


def test_markdown_report(lab_env: Path) -> None:
    """--markdown prints the steps table and the verdict with its evidence."""
    scenario = load_scenario("firewall-reject-admin")
    with Lab(scenario) as lab:
        rc, out = _check(lab, scenario.client, *scenario.check, "--markdown")
    assert rc == 1
    assert "| Step | Status | Summary |" in out
    assert "**Verdict: `firewall.reject_admin`**" in out
    assert "10.0.1.1" in out
