"""`netdx route` in a namespace of its own, against `ip route get` there: a policy-routed
source (`ip rule add from X table 100`), a blackhole and a prohibit route (root)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.lab

NS = "ndx-trQ-route"
SETUP: tuple[tuple[str, ...], ...] = (
    ("ip", "netns", "add", NS),
    ("ip", "-n", NS, "link", "set", "lo", "up"),
    ("ip", "-n", NS, "link", "add", "rq0", "type", "veth", "peer", "name", "rq1"),
    ("ip", "-n", NS, "link", "set", "rq0", "up"),
    ("ip", "-n", NS, "link", "set", "rq1", "up"),
    ("ip", "-n", NS, "addr", "add", "10.93.9.1/24", "dev", "rq0"),
    ("ip", "-n", NS, "addr", "add", "10.93.8.1/24", "dev", "rq1"),
    ("ip", "-n", NS, "route", "add", "10.93.0.0/24", "via", "10.93.9.254"),
    ("ip", "-n", NS, "route", "add", "10.93.0.0/24", "via", "10.93.8.254", "table", "100"),
    ("ip", "-n", NS, "rule", "add", "from", "10.93.8.1", "table", "100", "priority", "1000"),
    ("ip", "-n", NS, "route", "add", "blackhole", "10.93.5.0/24"),
    ("ip", "-n", NS, "route", "add", "prohibit", "10.93.6.0/24"),
)


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """One command as an argv list, bounded in time."""
    return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=30)


@pytest.fixture(scope="module")
def lab() -> Iterator[None]:
    run("ip", "netns", "del", NS, check=False)
    try:
        for argv in SETUP:
            run(*argv)
        yield
    finally:
        run("ip", "netns", "del", NS, check=False)


def netdx_route(*args: str) -> tuple[int, dict[str, Any]]:
    done = run(sys.executable, "-m", "netdx", "route", "--netns", NS, "--json", *args,
               check=False)
    return done.returncode, json.loads(done.stdout) if done.stdout else {}


def ip_route_get(*args: str) -> str:
    return run("ip", "-n", NS, "route", "get", *args, check=False).stdout


def test_policy_routed_source_names_rule_and_table(lab: None) -> None:
    """From 10.93.8.1 the rule of priority 1000 sends the lookup to table 100 (gateway
    10.93.8.254), as `ip route get ... from` says; without --from, main's gateway."""
    rc, report = netdx_route("10.93.0.7", "--from", "10.93.8.1")
    assert rc == 0
    assert "via 10.93.8.254" in ip_route_get("10.93.0.7", "from", "10.93.8.1")
    assert (report["table"], report["gateway"], report["interface"]) == (
        "100", "10.93.8.254", "rq1")
    assert report["rule"] == "1000: from 10.93.8.1/32 lookup 100"
    assert report["neighbour"] is None  # never resolved: no entry, said as such
    rc, plain = netdx_route("10.93.0.7")
    assert rc == 0 and (plain["table"], plain["gateway"]) == ("main", "10.93.9.254")
    assert plain["rule"] == "32766: from all lookup main"
    assert "via 10.93.9.254" in ip_route_get("10.93.0.7")


@pytest.mark.parametrize(("address", "kind", "error"), [
    ("10.93.5.1", "blackhole", "EINVAL"), ("10.93.6.1", "prohibit", "EACCES")])
def test_reject_routes_exit_1_with_the_route_named(
    lab: None, address: str, kind: str, error: str
) -> None:
    """A blackhole / prohibit route: exit 1, its type and errno, and the reject route in
    table main named as the reason."""
    rc, report = netdx_route(address)
    assert rc == 1
    assert (report["status"], report["route_type"], report["error"]) == ("no_route", kind, error)
    assert f"`{kind} {address.rsplit('.', 1)[0]}.0/24`" in report["why"]
    assert ip_route_get(address) == ""  # iproute2 has no route to show either


def test_bad_input_is_one_line_exit_2(lab: None) -> None:
    """A destination that is not an address, and --iif without --from: exit 2, one line."""
    for args in (("not-an-ip",), ("10.93.0.7", "--iif", "rq0")):
        done = run(sys.executable, "-m", "netdx", "route", "--netns", NS, *args, check=False)
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
