"""Legacy iptables tables and nftables tables of the same family and name are two kernel
objects, both hooked in: the model, the walk, the ufw reading and the diff keep them apart.
Fixtures captured in a namespace (tests/unit/fixtures/firewall/capture.py coexist ufw_legacy)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Literal

import pytest

from netdx.cli import main
from netdx.firewall import live
from netdx.firewall.diff import Snapshot, diff_snapshots, diff_to_json, render_diff
from netdx.firewall.evaluate import Direction
from netdx.firewall.explain import explain, to_json
from netdx.firewall.model import Packet, Table
from netdx.firewall.render import render_explanation
from netdx.firewall.sources import Capture, SaveCapture, build_ruleset
from netdx.model.firewall import FirewallMatch

FIXTURES = Path(__file__).parent / "fixtures" / "firewall"


def _capture(name: str) -> Capture:
    return Capture.from_json(json.loads((FIXTURES / f"{name}.capture.json").read_text()))


def _explain(name: str, dport: int, hook: Direction, dst: str = "10.0.0.30") -> FirewallMatch:
    src, daddr = ("10.0.0.20", dst) if hook == "output" else ("10.0.0.10", "10.0.0.20")
    packet = Packet.build(saddr=src, daddr=daddr, proto="tcp", sport=40000, dport=dport)
    packet = dataclasses.replace(
        packet, oif="ndxh-eth0" if hook == "output" else None, iif="ndxh-eth0"
    )
    return explain(build_ruleset(_capture(name)), packet, hook)


def test_native_filter_beside_empty_legacy_filter_is_its_own_table() -> None:
    """`table ip filter` made with nft beside an empty legacy `filter`: its chains are the
    ones nft lists (not the INPUT/FORWARD/OUTPUT iptables-nft-save invents for it), and the
    legacy table stays a table of its own."""
    tables = {(t.source, t.family, t.name): t for t in build_ruleset(_capture("coexist")).tables}
    assert set(tables) == {("nft", "ip", "filter"), ("iptables-legacy", "ip", "filter")}
    assert list(tables["nft", "ip", "filter"].chains) == ["early", "late", "guard"]
    assert list(tables["iptables-legacy", "ip", "filter"].chains) == ["INPUT", "FORWARD", "OUTPUT"]


def test_native_chain_added_to_an_iptables_nft_table_is_walked() -> None:
    """A base chain nft added to the `filter` table iptables-nft made (`early`, priority
    mangle, policy drop) is walked from the JSON, the iptables chains keep iptables-nft-save's
    rules and texts."""
    (table,) = build_ruleset(_capture("ipt_nft_plus_native")).tables
    assert table.source == "iptables-nft"
    assert sorted(table.chains) == ["FORWARD", "INPUT", "OUTPUT", "early", "egress"]
    assert table.chains["OUTPUT"].rules[0].text.startswith("-A OUTPUT -p tcp -m multiport")
    assert (table.chains["early"].priority, table.chains["early"].policy) == (-150, "drop")
    assert _explain("ipt_nft_plus_native", 443, "output").policy == "ip filter early policy drop"
    e = _explain("ipt_nft_plus_native", 5432, "output")
    assert (e.decision, e.reject_with) == ("reject", "icmp admin-prohibited")
    assert e.rule is not None and e.rule.comment == "no db from here"
    assert e.rule.text.startswith("-A egress -d 10.0.0.30/32")
    assert _explain("ipt_nft_plus_native", 22, "output").decision == "accept"


def test_native_regular_chain_is_not_taken_from_iptables_nft_save() -> None:
    """A native `table ip filter` whose regular chain iptables-nft-save prints in its own
    words (losing the named set of ports) is read from nft: the set still drops 5432."""
    cap = _capture("native_filter")
    assert any(":checks - " in s.text for s in cap.saves if s.source == "iptables-nft")
    (table,) = build_ruleset(cap).tables
    assert (table.source, sorted(table.chains)) == ("nft", ["checks", "guard"])
    e = _explain("native_filter", 5432, "input")
    assert e.decision == "drop" and e.rule is not None
    assert e.rule.text == "tcp dport @blocked drop"


def test_first_chain_policy_drop_decides_as_the_kernel_does() -> None:
    """The known disagreement: `hook output priority mangle; policy drop;` drops the packet
    before the later chain's reject (the kernel times out), and an accept there ends only
    that chain: the later reject still applies (the kernel says port unreachable)."""
    dropped = _explain("coexist", 443, "output")
    assert (dropped.decision, dropped.rule) == ("drop", None)
    assert dropped.policy == "ip filter early policy drop"
    rejected = _explain("coexist", 22, "output")
    assert rejected.decision == "reject" and rejected.rule is not None
    assert (rejected.rule.chain, rejected.reject_with) == ("late", "icmp port-unreachable")
    hooks = [(s.chain, s.source) for s in rejected.path if s.action == "hook"]
    assert hooks == [("early", "nft"), ("OUTPUT", "iptables-legacy"), ("late", "nft")]
    assert "ip filter OUTPUT (iptables-legacy) → policy accept" in render_explanation(rejected)


def test_ufw_through_iptables_nft_beside_a_legacy_filter_explains() -> None:
    """ufw's chains (iptables-nft) with a legacy `filter` present: explain names the ufw rule
    in ufw's words instead of crashing on the legacy table, which has no ufw chains."""
    e = _explain("ufw_legacy", 5432, "input")
    assert e.decision == "drop" and e.rule is not None
    assert (e.rule.chain, e.rule.position, e.rule.source) == ("ufw-user-input", 2, "iptables-nft")
    assert e.origin is not None
    assert e.origin.description == "ufw rule: deny from 10.0.0.10 to any port 5432"
    steps = {(s.chain, s.source) for s in e.path}
    assert ("INPUT", "iptables-legacy") in steps and ("INPUT", "iptables-nft") in steps
    assert {"chain": "INPUT", "source": "iptables-legacy"}.items() <= to_json(e)["path"][0].items()


def test_cli_explains_a_ufw_rule_without_twin_beside_a_legacy_filter(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`netdx firewall explain` for a ufw rule with no tcp/udp twin (`allow from 10.0.0.0/24
    to any port 5432 proto tcp`) beside a legacy `filter`: exit 0 and ufw's words, where it
    crashed with `internal error: KeyError: 'ufw-user-input'` looking in the legacy table."""
    runner = live.fake_runner(_capture("ufw_legacy"), routes={"10.0.0.11": "ndxh-eth0"})
    monkeypatch.setattr(live, "subprocess_runner", lambda _deadline, _netns=None: runner)
    argv = ["firewall", "explain", "--from", "10.0.0.11", "--to", "10.0.0.20:5432", "--json"]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["decision"] == "accept" and doc["rule"]["source"] == "iptables-nft"
    assert doc["rule"]["origin"] == "ufw rule: allow from 10.0.0.0/24 to any port 5432 proto tcp"


def _with_saves(capture: Capture, source: str, edit: dict[str, str]) -> Snapshot:
    """The capture with lines of one source's IPv4 save replaced (old line → new line)."""
    saves = []
    for save in capture.saves:
        text = save.text
        if (save.source, save.version) == (source, 4):
            for old, new in edit.items():
                assert old in text
                text = text.replace(old, new)
        saves.append(SaveCapture(version=save.version, source=save.source, text=text))
    changed = dataclasses.replace(capture, saves=tuple(saves))
    return Snapshot(capture=changed, taken_at="2026-12-03T10:00:00+00:00", host="h")


def test_diff_tells_the_legacy_chain_from_the_nft_one() -> None:
    """A rule removed from iptables-nft's `ip filter INPUT` and one added to the legacy
    `ip filter INPUT` are two changes of two chains, each naming its source (one chain of the
    same name hid the other before)."""
    base = _capture("ufw_legacy")
    old = Snapshot(capture=base, taken_at="2026-12-03T09:00:00+00:00", host="h")
    first = "-A INPUT -j ufw-before-logging-input\n"
    new = _with_saves(base, "iptables-nft", {first: ""})
    legacy_rule = "-A INPUT -s 10.0.0.99/32 -j DROP"
    new = _with_saves(new.capture, "iptables-legacy", {"COMMIT": f"{legacy_rule}\nCOMMIT"})
    d = diff_snapshots(old, new)
    changes = {(r.change, r.chain, r.source, r.text) for r in d.rules}
    assert changes == {
        ("removed", "INPUT", "iptables-nft", first.strip()),
        ("added", "INPUT", "iptables-legacy", legacy_rule),
    }
    assert d.chains == ()
    assert {r["source"] for r in diff_to_json(d)["rules"]} == {"iptables-nft", "iptables-legacy"}
    text = render_diff(d)
    assert f"+ ip filter INPUT (iptables-legacy) #1: {legacy_rule}" in text
    assert f"- ip filter INPUT #1: {first.strip()}" in text


def test_capture_without_nft_output_or_error_is_unreadable() -> None:
    """A capture that holds no nft ruleset and says no why (a snapshot from an older netdx
    run without root) cannot say what the kernel enforces: every answer is unknown."""
    ruleset = build_ruleset(Capture(nft_json=None, addresses_json="[]"))
    assert ruleset.unreadable and "nft" in ruleset.unreadable[0]


def test_near_misses_come_from_the_chains_walked_not_their_legacy_namesakes() -> None:
    """A legacy `checks` chain nothing jumps to is not the iptables-nft `checks` the walk went
    through: only the latter's accept rule is a near miss of the drop."""
    from netdx.firewall.iptables_save import parse_save
    from netdx.firewall.model import Ruleset

    def table(source: Literal["iptables-nft", "iptables-legacy"], head: str, rules: str) -> Table:
        text = f"*filter\n{head}:checks - [0:0]\n{rules}COMMIT\n"
        (parsed,) = parse_save(text, version=4, source=source).tables
        return parsed

    allow = "-A checks -s {} -p tcp -m tcp --dport 5432 -j ACCEPT\n"
    walked = table("iptables-nft", ":INPUT DROP [0:0]\n", "-A INPUT -j checks\n")
    walked = dataclasses.replace(
        walked,
        chains={
            **walked.chains,
            "checks": table("iptables-nft", "", allow.format("10.0.0.30/32")).chains["checks"],
        },
    )
    aside = table("iptables-legacy", ":INPUT ACCEPT [0:0]\n", allow.format("10.0.0.31/32"))
    packet = Packet.build(saddr="10.0.0.10", daddr="10.0.0.20", proto="tcp", dport=5432)
    e = explain(Ruleset(tables=(walked, aside)), packet, "input")
    assert (e.decision, e.policy) == ("drop", "ip filter INPUT policy drop")
    assert [(m.rule.source, m.rule.text) for m in e.near_misses] == [
        ("iptables-nft", allow.format("10.0.0.30/32").strip())
    ]


def test_iptables_nft_save_failing_on_a_native_rule_hides_nothing() -> None:
    """iptables-nft-save exits 1 on a native rule it cannot parse (seen on `th sport
    1024-65535 accept`): with nft's JSON read, the answer is still nft's, the failure a note."""
    error = (
        "iptables-nft-save: Error: unsupported layer 4 protocol value\n"
        "iptables-nft-save v1.8.9 (nf_tables): Parsing nftables rule failed"
    )
    cap = dataclasses.replace(_capture("native_filter"), saves=(), errors=(error,))
    ruleset = build_ruleset(cap)
    assert ruleset.unreadable == () and error in ruleset.notes
    packet = Packet.build(saddr="10.0.0.10", daddr="10.0.0.20", proto="tcp", dport=5432)
    assert explain(ruleset, packet, "input").decision == "drop"
    no_nft = dataclasses.replace(cap, nft_json=None, errors=(error, "nft -j list ruleset: denied"))
    assert len(build_ruleset(no_nft).unreadable) == 2
