"""The check's lean firewall read (`firewall.present`, `live.capture(present=...)`) against
the full capture, on real kernel tables (root, one namespace `ndx-fwp` with no link out).

For each loaded state — nothing; a native inet table; iptables-nft rules (v4, v6); legacy
iptables rules; all at once — a script inside the namespace lists the tables through
netlink and /proc, captures the ruleset both ways, and compares what the evaluator decides
for a set of SYNs at the input and output hooks: the lean read must decide the same, name
the same rules, and skip only commands that could add nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab

NS = "ndx-fwp"
# The tool-shaped rulesets of the firewall scenarios (ufw via iptables-nft, firewalld, a
# legacy REJECT, an nft set, Docker's chains): loaded as tests/lab/test_firewall_scenarios.py
# loads them.
SCENARIOS = Path(__file__).parent.parent / "unit" / "fixtures" / "firewall" / "scenarios"

NATIVE = """
table inet ndxp {
  chain input {
    type filter hook input priority 0; policy accept;
    tcp dport 5432 ip saddr 10.9.0.7 drop comment "payment"
    tcp dport 6379 reject with tcp reset
  }
  chain output {
    type filter hook output priority 0; policy accept;
    ip daddr 10.9.0.99 tcp dport 443 drop
  }
}
"""
IPT_V4 = ["-A", "INPUT", "-p", "tcp", "--dport", "8080", "-s", "10.9.0.8", "-j", "DROP"]
IPT_V6 = ["-A", "INPUT", "-p", "tcp", "--dport", "8443", "-j", "REJECT"]
LEGACY_V4 = ["-A", "INPUT", "-p", "tcp", "--dport", "9000", "-j", "DROP"]

# Inside the namespace: both captures, the tables listed, the decisions for each flow.
SCRIPT = """
import json, sys
from netdx.budget import Deadline
from netdx.firewall import live
from netdx.firewall.explain import explain
from netdx.firewall.model import Packet
from netdx.firewall.sources import build_ruleset
run = live.subprocess_runner(Deadline.after(10))
present = live.present_here(Deadline.after(10))
full, lean = live.capture(run), live.capture(run, present=present)
flows = [(4, "10.9.0.7", "10.9.0.1", 5432), (4, "10.9.0.1", "10.9.0.1", 6379),
         (4, "10.9.0.8", "10.9.0.1", 8080), (4, "10.9.0.1", "10.9.0.1", 9000),
         (6, "fd09::2", "fd09::1", 8443), (4, "10.9.0.1", "10.9.0.99", 443),
         (4, "10.9.0.3", "10.9.0.1", 22), (4, "10.0.0.10", "10.0.0.20", 5432),
         (4, "10.0.0.30", "10.0.0.20", 5432), (4, "10.0.0.10", "172.17.0.2", 80)]
out = []
for ruleset in (build_ruleset(full), build_ruleset(lean)):
    decisions = []
    for family, saddr, daddr, port in flows:
        for hook in ("input", "output", "forward"):
            packet = Packet(family=family, saddr=saddr, daddr=daddr, proto="tcp", dport=port,
                            iif="ndx-fwp0" if hook != "output" else None,
                            oif="ndx-fwp0" if hook != "input" else None)
            decisions.append(repr(explain(ruleset, packet, hook)))
    out.append({"decisions": decisions, "tables": repr(ruleset.tables),
                "notes": list(ruleset.notes), "unreadable": list(ruleset.unreadable)})
print(json.dumps({"full": out[0], "lean": out[1], "nft": sorted(present.nft),
                  "legacy": sorted(present.legacy), "full_errors": list(full.errors),
                  "lean_errors": list(lean.errors)}))
"""


def ns(*argv: str) -> None:
    subprocess.run(["ip", "netns", "exec", NS, *argv], check=True, capture_output=True,
                   timeout=30)


@pytest.fixture
def namespace() -> Iterator[None]:
    """A namespace with one veth pair of its own (10.9.0.1/24, fd09::1/64 on one end),
    removed however the test ends."""
    if os.geteuid() != 0:
        pytest.fail("lab tests need root and network namespaces")
    subprocess.run(["ip", "netns", "add", NS], check=True, timeout=30)
    try:
        ns("ip", "link", "add", "ndx-fwp0", "type", "veth", "peer", "name", "ndx-fwp1")
        ns("ip", "addr", "add", "10.9.0.1/24", "dev", "ndx-fwp0")
        ns("ip", "-6", "addr", "add", "fd09::1/64", "dev", "ndx-fwp0", "nodad")
        ns("ip", "link", "set", "ndx-fwp0", "up")
        yield
    finally:
        subprocess.run(["ip", "netns", "del", NS], check=False, timeout=30)


def read() -> dict[str, object]:
    proc = subprocess.run(["ip", "netns", "exec", NS, sys.executable, "-c", SCRIPT],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def test_lean_capture_decides_as_the_full_one(namespace: None) -> None:
    """Whatever tables the kernel holds (none, native nft, iptables-nft v4/v6, legacy, all
    together), netlink and /proc name them, and the ruleset read with only the commands
    that can add a rule evaluates every flow exactly as the full capture's."""
    steps = [
        ("native", lambda: subprocess.run(["ip", "netns", "exec", NS, "nft", "-f", "-"],
                                          input=NATIVE, text=True, check=True, timeout=30),
         ["inet"], []),
        ("iptables-nft", lambda: ns("iptables-nft", *IPT_V4), ["inet", "ip"], []),
        ("ip6tables-nft", lambda: ns("ip6tables-nft", *IPT_V6), ["inet", "ip", "ip6"], []),
        ("legacy", lambda: ns("iptables-legacy", *LEGACY_V4), ["inet", "ip", "ip6"], [4]),
    ]
    first = read()
    assert (first["nft"], first["legacy"]) == ([], [])
    assert first["full"] == first["lean"]
    assert first["lean_errors"] == first["full_errors"] == []
    for name, load, nft, legacy in steps:
        load()
        got = read()
        assert (got["nft"], got["legacy"]) == (nft, legacy), name
        assert got["full"] == got["lean"], name
        assert got["lean_errors"] == got["full_errors"], name
    decisions = got["full"]["decisions"]  # type: ignore[index]
    assert sum("decision='drop'" in d for d in decisions) >= 3  # the rules were in force


@pytest.mark.parametrize("scenario", ["ufw", "firewalld", "reject", "nftset", "docker"])
def test_lean_capture_of_a_tool_shaped_ruleset(namespace: None, scenario: str) -> None:
    """ufw, firewalld, a legacy REJECT, an nft set and Docker's chains, each loaded by its
    own tool: the lean read decides every flow as the full capture does."""
    index = json.loads((SCENARIOS / "index.json").read_text())
    for argv, filename in index[scenario]:
        subprocess.run(["ip", "netns", "exec", NS, *argv], input=(SCENARIOS / filename).read_text(),
                       text=True, check=True, timeout=30, capture_output=True)
    got = read()
    assert got["nft"] or got["legacy"]
    assert got["full"] == got["lean"]
    assert got["lean_errors"] == got["full_errors"]
    decisions = got["full"]["decisions"]  # type: ignore[index]
    assert any("decision='drop'" in d or "decision='reject'" in d for d in decisions)
