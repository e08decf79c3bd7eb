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
from netdx.lab.run import _cause, command_argv
from netdx.lab.serve import PortState, port_state, split_hostport
from netdx.lab.services import client_wait_argv, ready_target, service_argv, zone_text

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
    "firewall-local-input": "port.filtered",
    "firewall-legacy-and-nft": "firewall.local_egress",
    "path-filtered-midway": "path.filtered_midway",
    "service-ipv6-only-mismatch": "service.ipv6_only_mismatch",
    "service-ipv4-only-mismatch": "service.ipv4_only_mismatch",
    "service-http-error": "service.http_error",
    "service-tls-error": "service.tls_untrusted",
    "service-loopback-only": "service.loopback_only",
    "app-accept-queue-full": "app.accept_queue_full",
    "app-close-wait-leak": "app.close_wait_leak",
    # Read over SSH (`ssh: HOST`): decided by joining the server's evidence.
    "path-filtered-before-target": "path.filtered_midway",
    "route-rp-filter": "route.rp_filter",
    "port-refused-by-firewall": "port.refused",
    "port-refused-ssh": "port.refused",
    "service-loopback-only-ssh": "service.loopback_only",
    "app-close-wait-leak-ssh": "ok",  # the leak is a warning beside a connect that worked
    "app-accept-queue-full-ssh": "app.accept_queue_full",
    "dns-wrong-address": "dns.wrong_address",
    "path-filtered-midway-ssh": "path.filtered_midway",
    "firewall-reject-admin-ssh": "firewall.reject_admin",
    "firewall-reject-port-unreachable-ssh": "firewall.reject_port_unreachable",
    "service-ipv4-only-mismatch-ssh": "service.ipv4_only_mismatch",
    "service-ipv6-only-mismatch-ssh": "service.ipv6_only_mismatch",
    "service-http-error-ssh": "service.http_error",
    "service-tls-error-ssh": "service.tls_untrusted",
    # Protocol handshakes (postgres, redis with and without AUTH, mysql) and certificates.
    "service-postgres-ok": "ok",
    "service-redis-ok": "ok",
    "service-redis-auth": "ok",  # -NOAUTH: a healthy server that wants AUTH first
    "service-mysql-ok": "ok",
    "service-protocol-mismatch": "service.protocol_mismatch",
    "service-tls-expired": "service.tls_expired",
    "service-tls-name-mismatch": "service.tls_name_mismatch",
    "service-tls-plain-port-expired": "service.tls_expired",
    "service-postgres-tls-not-offered": "service.tls_not_offered",
    "service-mysql-tls-not-offered": "service.tls_not_offered",
    # The dns-tree family, built in Python (netdx.lab.dnstree), not from a file.
    "dns-tree": "dns.nxdomain",
    "dns-service-servfail": "service.dns_servfail",
    # UDP services (udp://): a closed port, and a dropped one (open|filtered, a warning).
    "udp-port-closed": "port.udp_closed",
    "udp-port-filtered": "port.udp_open_filtered",
    # Issue 10: internal zones without the public root, a dead host behind a router, a
    # blackhole route.
    "dns-internal-stale-cache": "dns.stale_cache",
    "dns-internal-lame-delegation": "dns.lame_delegation",
    "reach-host-down-routed": "reach.host_unreachable",
    "route-blackhole": "route.no_route",
    "firewall-local-reset": "port.refused",  # the reset rule named beside the listener
    # `netdx trace` (no verdict: ok when the target answers): hop 2's loss is a rate limit.
    "path-icmp-ratelimit-midway": "ok",
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
    """The shipped set is exactly the documented failure modes (twenty-three, and six read
    over SSH) and the dns-tree family's scenario."""
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
    names = netdx.lab.__all__
    assert names and [name for name in names if not hasattr(netdx.lab, name)] == []


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


def test_command_and_run_on_default_to_check_on_the_client() -> None:
    """A file without `command` or `run_on` runs `netdx check` on its client, as before."""
    scenario = parse_scenario(MINIMAL)
    assert (scenario.command, scenario.run_on, scenario.runner) == ("check", "a", "a")
    assert scenario.argv == ("check", "b:1")
    argv = command_argv(scenario)
    assert argv[:4] == ["ip", "netns", "exec", "ndx-a"]
    assert argv[-4:] == ["netdx", "check", "b:1", "--json"]


def test_inspect_runs_on_the_named_host() -> None:
    """`command: inspect` and `run_on: b` give ``netdx inspect ARGS --json`` in ndx-b."""
    text = MINIMAL.replace('check: ["b:1"]', 'check: ["--port", "1"]\ncommand: inspect\nrun_on: b')
    scenario = parse_scenario(text)
    assert (scenario.command, scenario.runner, scenario.client) == ("inspect", "b", "a")
    argv = command_argv(scenario)
    assert argv[:4] == ["ip", "netns", "exec", "ndx-b"]
    assert argv[-5:] == ["netdx", "inspect", "--port", "1", "--json"]
    with pytest.raises(ValueError, match="no --json-file"):
        command_argv(scenario, json_file="/tmp/x.json")


def test_shipped_server_side_scenarios_run_on_the_server() -> None:
    """The three server-side scenarios run on db-server-01; only the leak one uses inspect."""
    for name in ("service-loopback-only", "app-accept-queue-full", "app-close-wait-leak"):
        scenario = load_scenario(name)
        assert (scenario.client, scenario.runner) == ("payment", "db-server-01")
    assert load_scenario("app-close-wait-leak").argv == ("inspect", "--port", "8080")
    assert load_scenario("app-accept-queue-full").argv == ("check", "10.0.0.20:8080")


_ORPHAN_FILL = MINIMAL + 'services:\n  - {host: a, kind: fill, target: "10.0.0.2:80", count: 3}\n'
_SERVER = '  - {host: b, kind: tcp, listen: "0.0.0.0:80", mode: MODE}\n'

BAD_NEW = [
    (MINIMAL + "run_on: zz\n", "run_on: unknown host 'zz'"),
    (MINIMAL + "run_on: Bad_Name\n", "run_on"),
    (MINIMAL + "command: ping\n", "command"),
    (MINIMAL + "command: [check]\n", "command"),
    (MINIMAL + "services:\n  - {host: a, kind: churn, count: 3}\n", "target"),
    (MINIMAL + 'services:\n  - {host: a, kind: fill, target: "b:80", count: 3}\n', "ADDR:PORT"),
    (MINIMAL + 'services:\n  - {host: a, kind: fill, target: "10.0.0.2:80"}\n', "count"),
    (_ORPHAN_FILL, "no service of the scenario listens on 10.0.0.2:80"),
    (MINIMAL + "services:\n  - {host: b, kind: tcp}\n", "needs a listen address"),
    (MINIMAL + 'services:\n  - {host: b, kind: tcp, listen: ":80", mode: wedged}\n', "mode"),
    (MINIMAL + 'services:\n  - {host: b, kind: http, listen: ":80", mode: leak}\n', "mode"),
    (MINIMAL + 'services:\n  - {host: b, kind: tcp, listen: ":80", backlog: -1}\n', "backlog"),
    (MINIMAL + 'services:\n  - {host: a, kind: churn, listen: ":80", count: 1}\n', "listen"),
]


@pytest.mark.parametrize(("text", "needle"), BAD_NEW)
def test_bad_command_run_on_or_client_is_one_line_error(text: str, needle: str) -> None:
    """A bad run_on, command or churn/fill client is refused with one line naming the field."""
    with pytest.raises(UsageError) as caught:
        parse_scenario(text, source="bad.yaml")
    message = str(caught.value)
    assert "\n" not in message and message.startswith("bad.yaml: ")
    assert needle in message


def _with_client(mode: str, kind: str, count: int = 8, backlog: int = 4) -> netdx.lab.Scenario:
    server = _SERVER.replace("MODE", mode).replace("}", f", backlog: {backlog}}}")
    client = f'  - {{host: a, kind: {kind}, target: "10.0.0.2:80", count: {count}}}\n'
    return parse_scenario(MINIMAL + "services:\n" + server + client)


def test_client_waits_for_the_state_it_exists_for() -> None:
    """fill on noaccept waits for a full queue (backlog + 1), churn on leak for `count`
    CLOSE-WAIT, both polled on the server; churn elsewhere waits for its own exit."""
    scenario = _with_client("noaccept", "fill")
    host, argv, timeout = client_wait_argv(scenario, scenario.services[1])
    assert host == "b" and argv[-2:] == ["--queue", "5"] and timeout > 5
    scenario = _with_client("noaccept", "fill", count=2)
    assert client_wait_argv(scenario, scenario.services[1])[1][-2:] == ["--queue", "2"]
    scenario = _with_client("leak", "churn", count=15)
    host, argv, _ = client_wait_argv(scenario, scenario.services[1])
    assert host == "b" and argv[-2:] == ["--close-wait", "15"]
    scenario = _with_client("hold", "fill", count=3)
    assert client_wait_argv(scenario, scenario.services[1])[1][-2:] == ["--established", "3"]
    scenario = _with_client("hold", "churn")
    assert client_wait_argv(scenario, scenario.services[1])[:2] == ("a", [])


def test_service_argv_carries_mode_backlog_and_client_options(tmp_path: Path) -> None:
    """The serve command line has the tcp mode and backlog, and a client's target and count."""
    scenario = _with_client("noaccept", "fill", count=8, backlog=4)
    server, client = scenario.services
    assert service_argv(server, tmp_path)[3:] == [
        "tcp", "--listen", "0.0.0.0:80", "--mode", "noaccept", "--backlog", "4"
    ]  # fmt: skip
    client_argv = service_argv(client, tmp_path)
    assert client_argv[3:8] == ["fill", "--target", "10.0.0.2:80", "--count", "8"]
    assert ready_target(client) == "10.0.0.2:80"


# /proc/net/tcp of db-server-01 in the app-accept-queue-full lab (captured): the listener on
# 0.0.0.0:8080 (1F90) with rx_queue 5 (its accept queue) and five established children.
QUEUE_TABLE = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000005 00:00000000 00000000     0        0 3916630 6 0000000068306025 100 0 0 10 0
   1: 1400000A:1F90 0A00000A:CC06 01 00000000:00000000 00:00000000 00000000     0        0 0 1 0000000079bc38d1 20 0 0 10 -1
   2: 1400000A:1F90 0A00000A:CBF4 01 00000000:00000000 00:00000000 00000000     0        0 0 1 0000000042382df3 20 0 0 10 -1
   3: 1400000A:1F90 0A00000A:CBF6 01 00000000:00000000 00:00000000 00000000     0        0 0 1 000000009ef20f47 20 0 0 10 -1
   4: 1400000A:1F90 0A00000A:CC0A 01 00000000:00000000 00:00000000 00000000     0        0 0 1 0000000013d989de 20 0 0 10 -1
   5: 1400000A:1F90 0A00000A:CBEE 01 00000000:00000000 00:00000000 00000000     0        0 0 1 0000000050b15be3 20 0 0 10 -1
"""  # noqa: E501

# The first lines of the same table in the app-close-wait-leak lab: CLOSE-WAIT is state 08.
CLOSE_WAIT_TABLE = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3917485 1 000000003c7346c4 100 0 0 10 0
   1: 1400000A:1F90 0A00000A:CC2A 08 00000000:00000001 00:00000000 00000000     0        0 3917493 1 00000000da87910e 20 4 0 10 -1
   2: 1400000A:1F90 0A00000A:CC4C 08 00000000:00000001 00:00000000 00000000     0        0 3916708 1 0000000049e95f86 20 4 0 10 -1
   3: 1400000A:1F90 0A00000A:CC8E 08 00000000:00000001 00:00000000 00000000     0        0 3917511 1 00000000cae762f6 20 4 0 10 -1
"""  # noqa: E501


def test_port_state_reads_queue_and_close_wait_from_proc() -> None:
    """Captured /proc/net/tcp: the listener's rx_queue is the accept queue, 08 is CLOSE-WAIT,
    and another port counts nothing."""
    assert port_state(8080, [QUEUE_TABLE]) == PortState(listening=1, established=5, queue=5)
    assert port_state(8080, [CLOSE_WAIT_TABLE, ""]) == PortState(listening=1, close_wait=3)
    assert port_state(5432, [QUEUE_TABLE, CLOSE_WAIT_TABLE]) == PortState()
