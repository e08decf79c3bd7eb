"""Lab scenarios: each firewall failure is loaded into a namespace (root) and
`netdx firewall explain --netns` reads the live ruleset there and names the right rule.

The rulesets are the hand-written, tool-shaped files in tests/unit/fixtures/firewall/scenarios
(ufw via iptables-nft, firewalld's nft table, a legacy iptables REJECT, an nft set of allowed
sources, Docker's chains). The namespace has no link to the root namespace; nothing is sent.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from netdx.firewall.cli import firewall

pytestmark = pytest.mark.lab

NS = "ndxh-fw-s"
SCENARIOS = Path(__file__).parent.parent / "unit" / "fixtures" / "firewall" / "scenarios"
LINKS = (("ndxh-eth0", "10.0.0.20/24"), ("ndxh-docker0", "172.17.0.1/16"))

# scenario, explain arguments, expected (decision, chain, origin or comment fragment)
CASES: list[tuple[str, list[str], tuple[str, str | None, str | None]]] = [
    (
        "ufw",
        ["--from", "10.0.0.10", "--to", "10.0.0.20:5432"],
        ("drop", "ufw-user-input", "ufw rule: deny from 10.0.0.10 to any port 5432"),
    ),
    (
        "firewalld",
        ["--from", "10.0.0.10", "--to", "10.0.0.20:5432"],
        ("reject", "filter_INPUT", "zone public"),
    ),
    ("reject", ["--from", "10.0.0.10", "--to", "10.0.0.20:5432"], ("reject", "INPUT", None)),
    ("nftset", ["--from", "10.0.0.30", "--to", "10.0.0.20:5432"], ("drop", None, None)),
    (
        "docker",
        ["--from", "10.0.0.10", "--to", "172.17.0.2:80", "--hook", "forward"],
        ("drop", "DOCKER-USER", "DOCKER-USER"),
    ),
]


def _sh(*argv: str, stdin: str | None = None) -> None:
    subprocess.run(list(argv), input=stdin, text=True, check=True, timeout=20, capture_output=True)


@pytest.fixture
def namespace() -> Iterator[str]:
    """A fresh namespace with the scenario interfaces (veth pairs inside it only)."""
    if os.geteuid() != 0:
        pytest.fail("firewall lab scenarios need root and network namespaces")
    subprocess.run(["ip", "netns", "del", NS], capture_output=True, check=False)
    try:
        _sh("ip", "netns", "add", NS)
        _sh("ip", "-n", NS, "link", "set", "lo", "up")
        for name, address in LINKS:
            _sh("ip", "-n", NS, "link", "add", name, "type", "veth", "peer", "name", f"{name}p")
            _sh("ip", "-n", NS, "addr", "add", address, "dev", name)
            _sh("ip", "-n", NS, "link", "set", name, "up")
            _sh("ip", "-n", NS, "link", "set", f"{name}p", "up")
        yield NS
    finally:
        subprocess.run(["ip", "netns", "del", NS], capture_output=True, check=False)


def _load(ns: str, scenario: str) -> None:
    index = json.loads((SCENARIOS / "index.json").read_text())
    for argv, filename in index[scenario]:
        _sh("ip", "netns", "exec", ns, *argv, stdin=(SCENARIOS / filename).read_text())


def _explain(ns: str, args: list[str]) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(
        firewall, ["explain", "--netns", ns, "--json", *args], standalone_mode=False
    )
    assert result.exception is None, result.output
    return int(result.return_value), json.loads(result.output)


@pytest.mark.parametrize(("scenario", "args", "want"), CASES, ids=[c[0] for c in CASES])
def test_explain_names_rule(
    namespace: str, scenario: str, args: list[str], want: tuple[str, str | None, str | None]
) -> None:
    """explain on the live ruleset of the scenario gives the decision and names the rule."""
    _load(namespace, scenario)
    code, doc = _explain(namespace, args)
    decision, chain, words = want
    assert doc["decision"] == decision and code == 1
    assert doc["unknown"] == []
    if chain is None:
        assert doc["rule"] is None and doc["policy"] == "inet filter input policy drop"
        assert doc["near_misses"][0]["failed"] == "ip saddr: 10.0.0.30 is not in @pg_clients"
    else:
        assert doc["rule"]["chain"] == chain
    if words is not None:
        assert words in (doc["rule"]["origin"] or "")


def test_reject_scenario_reads_legacy(namespace: str) -> None:
    """The legacy iptables REJECT is read from iptables-legacy-save, with its ICMP type."""
    _load(namespace, "reject")
    _code, doc = _explain(namespace, ["--from", "10.0.0.10", "--to", "10.0.0.20:5432"])
    assert doc["rule"]["source"] == "iptables-legacy"
    assert doc["reject_with"] == "icmp port-unreachable"
    assert doc["packet"]["iif"] == "ndxh-eth0"
