"""`netdx trace` on a 4-hop path of namespaces (client, three routers, server), checked
against `traceroute -T` and `mtr --tcp --report` in the same run: same hops, a dropped
port stops at the right hop, and a middle router's ICMP rate limit is reported as such,
not as loss (root)."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.lab

PREFIX = "ndx-trQ"
NODES = ("c", "r1", "r2", "r3", "s")
TARGET = "10.91.4.2"
OPEN_PORT, DROPPED_PORT = 8080, 8081
# Hop n answers from the address on the link it received the probe on.
HOPS = ("10.91.1.2", "10.91.2.2", "10.91.3.2", TARGET)


def ns(node: str) -> str:
    return f"{PREFIX}-{node}"


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """One command as an argv list, bounded in time."""
    return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=60)


def in_ns(node: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run("ip", "netns", "exec", ns(node), *argv, check=check)


def build() -> None:
    """c -(10.91.1)- r1 -(10.91.2)- r2 -(10.91.3)- r3 -(10.91.4)- s; r3 drops tcp/8081."""
    for node in NODES:
        run("ip", "netns", "add", ns(node))
        in_ns(node, "ip", "link", "set", "lo", "up")
    for link, (left, right) in enumerate(itertools.pairwise(NODES), start=1):
        a, b = f"tq{link}a", f"tq{link}b"
        run("ip", "-n", ns(left), "link", "add", a, "type", "veth", "peer", "name", b,
            "netns", ns(right))
        in_ns(left, "ip", "addr", "add", f"10.91.{link}.1/24", "dev", a)
        in_ns(right, "ip", "addr", "add", f"10.91.{link}.2/24", "dev", b)
        in_ns(left, "ip", "link", "set", a, "up")
        in_ns(right, "ip", "link", "set", b, "up")
    for index, node in enumerate(NODES):
        if node.startswith("r"):
            in_ns(node, "sysctl", "-qw", "net.ipv4.ip_forward=1")
            # No ICMP rate limit unless a test sets one: rounds run back to back here.
            in_ns(node, "sysctl", "-qw", "net.ipv4.icmp_ratelimit=0")
        # Node i sits on links i (left) and i+1 (right): every other link via a neighbour.
        for link in range(1, len(NODES)):
            if link > index + 1:
                via = f"10.91.{index + 1}.2"
            elif link < index:
                via = f"10.91.{index}.1"
            else:
                continue
            in_ns(node, "ip", "route", "add", f"10.91.{link}.0/24", "via", via)
    ruleset = (
        "table inet ndxq {\n chain ndxqfwd {\n  type filter hook forward priority 0;\n"
        f"  tcp dport {DROPPED_PORT} drop\n }}\n}}\n"
    )
    subprocess.run(("ip", "netns", "exec", ns("r3"), "nft", "-f", "-"), input=ruleset,
                   check=True, capture_output=True, text=True, timeout=30)


def destroy() -> None:
    for node in NODES:
        run("ip", "netns", "del", ns(node), check=False)


@pytest.fixture(scope="module")
def path() -> Iterator[None]:
    destroy()
    try:
        build()
        yield
    finally:
        destroy()


def netdx_trace(*args: str) -> dict[str, Any]:
    argv = (sys.executable, "-m", "netdx", "trace", "--netns", ns("c"), "--json", *args, TARGET)
    done = run(*argv, check=False)
    assert done.returncode in (0, 1), done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def traceroute_hops(port: int) -> list[str | None]:
    """`traceroute -T -p PORT -n` from the client: the address per TTL, None for `*`."""
    done = in_ns("c", "traceroute", "-T", "-p", str(port), "-n", "-q", "1", "-w", "1",
                 "-m", "6", TARGET, check=False)
    hops: list[str | None] = []
    for line in done.stdout.splitlines()[1:]:
        match = re.match(r"\s*\d+\s+(\S+)", line)
        if match:
            hops.append(None if match.group(1) == "*" else match.group(1))
    return hops


def mtr_hops(port: int) -> list[str | None]:
    """`mtr --tcp -P PORT --report -c 1 -n` from the client: the address per TTL, None for
    `???` (mtr-tiny, from the Makefile's APT_PACKAGES)."""
    done = in_ns("c", "mtr", "--tcp", "-P", str(port), "--report", "-c", "1", "-n",
                 "-m", "6", TARGET, check=False)
    assert done.returncode == 0, done.stderr
    hops: list[str | None] = []
    for line in done.stdout.splitlines():
        match = re.match(r"\s*\d+\.\|--\s+(\S+)", line)
        if match:
            hops.append(None if match.group(1) == "???" else match.group(1))
    return hops


def addresses(report: dict[str, Any]) -> list[str | None]:
    return [hop["address"] for hop in report["hops"]]


def test_tcp_trace_same_hops_as_traceroute(path: None) -> None:
    """To an open (refusing) port, every hop and the end agree with traceroute -T and with
    mtr --tcp --report, run on the same path."""
    report = netdx_trace("--tcp", "-p", str(OPEN_PORT), "--rounds", "2", "--interval", "0")
    assert report["reached"] and report["end"] == "reached"
    assert addresses(report) == list(HOPS)
    assert traceroute_hops(OPEN_PORT)[: len(HOPS)] == list(HOPS)
    assert mtr_hops(OPEN_PORT) == list(HOPS)
    assert all(hop["loss_pct"] == 0 for hop in report["hops"])


def test_dropped_port_stops_after_the_dropping_router(path: None) -> None:
    """A port r3 drops: the path stops after hop 3, as traceroute -T and mtr show it."""
    report = netdx_trace("--tcp", "-p", str(DROPPED_PORT), "--rounds", "1", "--timeout", "4")
    theirs, mtr = traceroute_hops(DROPPED_PORT), mtr_hops(DROPPED_PORT)
    assert not report["reached"] and report["end"] == "silent"
    assert addresses(report)[:3] == list(HOPS[:3]) == theirs[:3] == mtr[:3]
    assert report["hops"][3]["address"] is None and theirs[3] is None and mtr[3] is None
    assert "after hop 3 (10.91.3.2)" in report["summary"]


def test_udp_and_icmp_reach_the_target(path: None) -> None:
    """UDP (port-unreachable from the target) and ICMP echo see the same four hops."""
    for method in ("--udp", "--icmp"):
        report = netdx_trace(method, "--rounds", "1")
        assert report["reached"], (method, report)
        assert addresses(report) == list(HOPS), method


def test_icmp_rate_limit_is_not_loss(path: None) -> None:
    """r2 limited to one time-exceeded per 10 s: hop 2 loses rounds, hops 3 and 4 do not,
    and the report names it a rate limit."""
    for key, value in (("icmp_ratelimit", "10000"), ("icmp_ratemask", "2048")):
        in_ns("r2", "sysctl", "-qw", f"net.ipv4.{key}={value}")
    try:
        report = netdx_trace("--tcp", "-p", str(OPEN_PORT), "--rounds", "10", "--interval", "0",
                             "--timeout", "20")
    finally:
        in_ns("r2", "sysctl", "-qw", "net.ipv4.icmp_ratelimit=0")
        in_ns("r2", "sysctl", "-qw", "net.ipv4.icmp_ratemask=6168")
    hops = report["hops"]
    assert report["reached"]
    assert hops[1]["loss_pct"] > 0 and hops[1]["rate_limited"], hops[1]
    assert hops[2]["loss_pct"] == 0 and hops[3]["loss_pct"] == 0
    assert any("rate-limits" in note and "hop 2" in note for note in report["notes"])
