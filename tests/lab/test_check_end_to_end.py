"""`netdx check` end to end in lab scenarios: deadlines, exit codes, outputs, early stops."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netdx.lab import Lab, load_scenario, run_scenario

pytestmark = pytest.mark.lab

# Python start-up and imports of a fresh `python -m netdx` process, plus scheduling slack.
STARTUP_SLACK_S = 0.8


def _check(lab: Lab, client: str, *args: str) -> tuple[int, str, float]:
    argv = lab.exec_argv(client, [sys.executable, "-m", "netdx", "check", *args])
    start = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    return proc.returncode, proc.stdout, time.monotonic() - start


@pytest.mark.parametrize(
    "name",
    ["payment-db-firewall", "dns-resolver-unreachable", "path-filtered-midway", "reach-host-down"],
)
@pytest.mark.parametrize("budget", [0.5, 1.0])
def test_check_ends_within_its_budget(lab_env: Path, name: str, budget: float) -> None:
    """Whatever the network does (dropped SYNs, a silent resolver, a dead host), a check
    with --timeout T ends within T plus process start-up, with a valid report."""
    scenario = load_scenario(name)
    with Lab(scenario) as lab:
        rc, out, took = _check(lab, scenario.client, *scenario.check, "--timeout", str(budget))
    assert took <= budget + STARTUP_SLACK_S, f"{name} took {took:.2f} s with --timeout {budget}"
    assert rc in (0, 1)
    assert "✘" in out or "✔" in out


def test_report_json_is_parseable_under_tiny_budget(lab_env: Path) -> None:
    """Even a 0.2 s budget yields a complete netdx.check/1 document, never a traceback."""
    scenario = load_scenario("dns-resolver-unreachable")
    with Lab(scenario) as lab:
        rc, out, took = _check(lab, scenario.client, *scenario.check, "--timeout", "0.2", "--json")
    doc = json.loads(out)
    assert rc == 1
    assert doc["schema"] == "netdx.check/1"
    assert [s["layer"] for s in doc["steps"]] == ["dns", "route", "reach", "port", "service"]
    assert took <= 0.2 + STARTUP_SLACK_S


def test_exit_codes_ok_and_problem(lab_env: Path) -> None:
    """Exit 0 for a healthy target, 1 for a diagnosed problem, in the same lab."""
    scenario = load_scenario("healthy-flat")
    with Lab(scenario) as lab:
        ok_rc, _, _ = _check(lab, scenario.client, "db-server-01:5432")
        bad_rc, out, _ = _check(lab, scenario.client, "db-server-01:5433", "--quiet")
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
    assert result.elapsed < 2.0


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
        rc4, out4, _ = _check(lab, scenario.client, "db-server-01:5432", "-4", "--json")
        rc6, out6, _ = _check(lab, scenario.client, "db-server-01:5432", "-6", "--json")
    assert (rc4, json.loads(out4)["verdict"]["cause"]) == (0, "ok")
    assert (rc6, json.loads(out6)["verdict"]["cause"]) == (1, "port.refused")


def test_dns_server_option_bypasses_a_stale_hosts_pin(lab_env: Path) -> None:
    """--dns-server takes the addresses from that server, so a stale /etc/hosts pin no
    longer decides, and the evidence says where the address came from."""
    scenario = load_scenario("dns-hosts-override")
    with Lab(scenario) as lab:
        rc, out, _ = _check(
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
        rc, out, _ = _check(lab, scenario.client, *scenario.check, "--markdown")
    assert rc == 1
    assert "| Step | Status | Summary |" in out
    assert "**Verdict: `firewall.reject_admin`**" in out
    assert "10.0.1.1" in out
