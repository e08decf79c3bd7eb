"""Snapshots, diffs and the `firewall` command group, fed from captured rulesets through the
package's fake runner (no root, no network)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from netdx.errors import UsageError
from netdx.firewall import cli as fw_cli
from netdx.firewall import live
from netdx.firewall.diff import (
    Snapshot,
    diff_snapshots,
    diff_to_json,
    snapshot_from_json,
    snapshot_to_json,
)
from netdx.firewall.flows import parse_endpoint, parse_flow, parse_flow_lines
from netdx.firewall.sources import Capture

FIXTURES = Path(__file__).parent / "fixtures" / "firewall"


def capture(name: str) -> Capture:
    return Capture.from_json(json.loads((FIXTURES / f"{name}.capture.json").read_text()))


def snapshot(name: str) -> Snapshot:
    return Snapshot(capture=capture(name), taken_at="2026-01-01T00:00:00+00:00", host=name)


def test_diff_names_rule_and_changed_flow() -> None:
    """A deployment that adds one deny rule shows as that rule, and only the flow it hits
    changes verdict."""
    flows = parse_flow_lines("10.0.0.3>10.0.0.20:5432\n# comment\n10.0.0.4>10.0.0.20:5432/tcp\n")
    d = diff_snapshots(snapshot("nftset"), snapshot("nftset_after"), flows)
    assert [(r.change, r.chain, r.position, r.text) for r in d.rules] == [
        ("added", "input", 6, 'ip saddr 10.0.0.3 tcp dport 5432 drop comment "ticket 4711"')
    ]
    assert [(f.flow.spec, f.changed) for f in d.flows] == [
        ("10.0.0.3>10.0.0.20:5432", True),
        ("10.0.0.4>10.0.0.20:5432/tcp", False),
    ]
    assert d.flows[0].old.decision == "accept" and d.flows[0].new.decision == "drop"
    assert diff_to_json(d)["schema"] == "netdx.firewall.diff/1"


def test_snapshot_roundtrip() -> None:
    """A snapshot document reads back to the same capture; anything else is refused."""
    snap = snapshot("mixed")
    assert snapshot_from_json(json.loads(json.dumps(snapshot_to_json(snap)))) == snap
    with pytest.raises(UsageError):
        snapshot_from_json({"schema": "other"})


def test_flow_and_endpoint_parsing() -> None:
    """Flows and endpoints parse, IPv6 in brackets; bad ones are usage errors."""
    flow = parse_flow("fd00::1>[fd00::2]:443/udp@forward")
    assert (flow.packet.daddr, flow.packet.dport, flow.packet.proto, flow.hook) == (
        "fd00::2",
        443,
        "udp",
        "forward",
    )
    for bad in ("10.0.0.1:99999", "host:80", "fd00::1:80"):
        with pytest.raises(UsageError):
            parse_endpoint(bad)
    with pytest.raises(UsageError):
        parse_flow("10.0.0.1>fd00::1:80")


@pytest.fixture
def fake_live(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads the ufw capture instead of the live host."""
    runner = live.fake_runner(capture("ufw"), routes={"10.0.0.10": "ndxh-eth0"})
    monkeypatch.setattr(live, "subprocess_runner", lambda _deadline, _netns=None: runner)


@pytest.mark.usefixtures("fake_live")
def test_cli_explain_json_and_exit_code() -> None:
    """`firewall explain --json` infers the input hook from the local address, fills the
    interface from the route, prints the document and exits 1 for a drop."""
    result = CliRunner().invoke(
        fw_cli.firewall,
        ["explain", "--from", "10.0.0.10", "--to", "10.0.0.20:5432", "--json"],
        standalone_mode=False,
    )
    assert result.exception is None, result.output
    assert result.return_value == 1
    doc = json.loads(result.output)
    assert doc["hook"] == "input" and doc["hook_reason"] == "10.0.0.20 is a local address"
    assert doc["packet"]["iif"] == "ndxh-eth0"
    assert doc["rule"]["origin"] == "ufw rule: deny from 10.0.0.10 to any port 5432"


@pytest.mark.usefixtures("fake_live")
def test_cli_snapshot_then_diff(tmp_path: Path) -> None:
    """`firewall snapshot -o` writes a snapshot; `diff` against the same live state changes
    nothing and exits 0."""
    path = tmp_path / "before.json"
    snap = CliRunner().invoke(fw_cli.firewall, ["snapshot", "-o", str(path)], standalone_mode=False)
    assert snap.exception is None and path.exists()
    result = CliRunner().invoke(
        fw_cli.firewall,
        ["diff", str(path), "--flow", "10.0.0.10>10.0.0.20:5432"],
        standalone_mode=False,
    )
    assert result.exception is None, result.output
    assert result.return_value == 0
    assert result.output.splitlines()[0] == "no rule changed"
