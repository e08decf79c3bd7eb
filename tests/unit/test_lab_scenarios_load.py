"""Lab scenario files: every shipped file validates, and bad files fail with one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import netdx.lab
from netdx.errors import UsageError
from netdx.lab import list_scenarios, load_scenario, parse_scenario
from netdx.lab.loader import load_scenario_file, scenario_files
from netdx.lab.model import PREFIX
from netdx.lab.run import _cause
from netdx.lab.serve import split_hostport
from netdx.lab.services import ready_target, zone_text

EXPECTED = {
    "healthy-flat": "ok",
    "healthy-routed": "ok",
    "healthy-ping": "ok",
    "payment-db-firewall": "port.filtered",
    "dns-nxdomain": "dns.nxdomain",
    "dns-no-address": "dns.no_address",
    "dns-resolver-unreachable": "dns.resolver_unreachable",
    "dns-hosts-override": "dns.hosts_override",
    "route-no-route": "route.no_route",
    "reach-host-down": "reach.host_unreachable",
    "reach-router-unreachable": "reach.host_unreachable",
    "port-refused": "port.refused",
    "firewall-reject-port-unreachable": "firewall.reject_port_unreachable",
    "firewall-reject-admin": "firewall.reject_admin",
    "firewall-local-egress": "firewall.local_egress",
    "path-filtered-midway": "path.filtered_midway",
    "service-ipv6-only-mismatch": "service.ipv6_only_mismatch",
    "service-ipv4-only-mismatch": "service.ipv4_only_mismatch",
    "service-http-error": "service.http_error",
    "service-tls-error": "service.tls_error",
}

MINIMAL = """
name: tiny
topology: flat
description: Two hosts.
fault: none
client: a
check: ["b:1"]
expect: ok
links:
  lan: [a, b]
hosts:
  a: {addresses: {lan: [10.0.0.1/24]}}
  b: {addresses: {lan: [10.0.0.2/24]}}
"""


@pytest.mark.parametrize("path", scenario_files(), ids=lambda p: p.stem)
def test_shipped_scenario_loads(path: Path) -> None:
    """Every shipped scenario file validates, and its expected cause is the documented one."""
    scenario = load_scenario_file(path)
    assert scenario.name == path.stem
    assert scenario.expect == EXPECTED[scenario.name]
    assert scenario.client in {host.name for host in scenario.hosts}


def test_every_documented_scenario_is_shipped() -> None:
    """The shipped set is exactly the twenty documented failure modes."""
    assert {scenario.name for scenario in list_scenarios()} == set(EXPECTED)


@pytest.mark.parametrize("scenario", list_scenarios(), ids=lambda s: s.name)
def test_names_carry_the_prefix_and_fit_ifnamsiz(scenario: netdx.lab.Scenario) -> None:
    """Every namespace and interface starts with ndx- and interface names fit in 15 chars."""
    assert all(name.startswith(PREFIX) for name in scenario.namespaces)
    for host in scenario.hosts:
        for interface in host.interfaces:
            assert interface.ifname.startswith(PREFIX)
            assert len(interface.ifname) <= 15


def test_minimal_file_parses() -> None:
    """A two-host file gives a direct (unswitched) link and interfaces named after it."""
    scenario = parse_scenario(MINIMAL)
    assert scenario.links[0].switched is False
    assert scenario.host("a").interfaces[0].ifname == "ndx-lan"
    assert scenario.namespaces == ("ndx-a", "ndx-b")


BAD = [
    ("name: ok\ntopology: [unclosed\n", "invalid YAML at line 3"),
    ("- a list", "must be a mapping"),
    (MINIMAL.replace("expect: ok", "expect: Port Filtered"), "expect"),
    (MINIMAL.replace("client: a", "client: zz"), "client: unknown host 'zz'"),
    (MINIMAL.replace("lan: [a, b]", "lan: [a, c]"), "links.lan: unknown host 'c'"),
    (MINIMAL.replace("fault: none", "fault: none\ncolour: red"), "colour"),
    (MINIMAL.replace("10.0.0.2/24", "10.0.0.2"), "needs a prefix length"),
    (MINIMAL.replace('check: ["b:1"]', "check: []"), "check"),
    (MINIMAL.replace("lan:", "averyverylonglink:"), "averyverylonglink"),
]


@pytest.mark.parametrize(("text", "needle"), BAD)
def test_bad_file_gives_one_line_error(text: str, needle: str) -> None:
    """A malformed scenario raises UsageError with one line naming the source and the field."""
    with pytest.raises(UsageError) as caught:
        parse_scenario(text, source="bad.yaml")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("bad.yaml: ")
    assert needle in message


def test_name_must_match_file(tmp_path: Path) -> None:
    """A file whose name field differs from its file name is refused."""
    path = tmp_path / "other.yaml"
    path.write_text(MINIMAL)
    with pytest.raises(UsageError, match="does not match the file name"):
        load_scenario_file(path)


def test_unknown_scenario_is_usage_error() -> None:
    """Asking for a scenario that is not shipped names the known ones."""
    with pytest.raises(UsageError, match=r"unknown lab scenario 'nope'.*healthy-flat"):
        load_scenario("nope")


def test_zone_has_soa_ns_and_records() -> None:
    """The generated zone carries SOA, NS, the ns1 glue and the scenario's records."""
    service = next(s for s in load_scenario("dns-no-address").services if s.kind == "dns")
    text = zone_text(service)
    assert "@ IN SOA ns1.netdx.internal. " in text
    assert "ns1 IN A 10.0.0.53" in text
    assert "db-server-03 IN MX 10 mail.netdx.internal." in text
    assert ready_target(service) == "10.0.0.53:53"


def test_split_hostport_handles_v6() -> None:
    """Listen addresses parse for IPv4 and bracketed IPv6."""
    assert split_hostport("0.0.0.0:5432") == ("0.0.0.0", 5432)
    assert split_hostport("[::]:5432") == ("::", 5432)


def test_cause_is_read_from_the_verdict() -> None:
    """The run result reads the cause from a netdx.check/1 document's verdict."""
    assert _cause({"verdict": {"cause": "port.filtered"}}) == "port.filtered"
    assert _cause({"verdict": "garbage"}) is None
    assert _cause(None) is None


def test_public_api_is_exported() -> None:
    """Every name in netdx.lab.__all__ exists."""
    assert all(hasattr(netdx.lab, name) for name in netdx.lab.__all__)


def test_lab_cli_import_is_light() -> None:
    """Importing the lab click group pulls in neither yaml nor pydantic."""
    code = "import sys, netdx.lab.cli; print(sorted({'yaml', 'pydantic'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_lab_list_prints_every_scenario() -> None:
    """`lab list` shows one line per scenario with its topology and expected cause."""
    from click.testing import CliRunner

    from netdx.lab.cli import lab

    result = CliRunner().invoke(lab, ["list"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == len(EXPECTED)
    demo = next(line for line in lines if line.startswith("payment-db-firewall"))
    assert "flat" in demo and "port.filtered" in demo


def test_missing_binary_is_cannot_run() -> None:
    """A binary the scenario needs but PATH lacks gives a one-line CannotRun naming it."""
    from netdx.errors import CannotRun
    from netdx.lab.netns import require_binaries

    with pytest.raises(CannotRun, match="ndx-no-such-binary is not installed"):
        require_binaries(["sh", "ndx-no-such-binary"])
