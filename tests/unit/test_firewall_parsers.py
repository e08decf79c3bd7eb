"""The nft JSON and iptables-save parsers, fed with output captured in a namespace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netdx.firewall.iptables_save import IptablesSaveError, detect_source, parse_save
from netdx.firewall.model import Interval, Match, Name, SetRef, Unknown, Verdict, VerdictMap
from netdx.firewall.nft_json import NftJsonError, parse_rule_texts, parse_ruleset
from netdx.firewall.sources import Capture, build_ruleset

FIXTURES = Path(__file__).parent / "fixtures" / "firewall"


def capture(name: str) -> Capture:
    return Capture.from_json(json.loads((FIXTURES / f"{name}.capture.json").read_text()))


def test_nft_sets_maps_and_texts() -> None:
    """Named interval sets, concatenations and verdict maps parse with their elements, and
    rule texts come from `nft -a list ruleset`."""
    cap = capture("constructs")
    assert cap.nft_json is not None and cap.nft_text is not None
    ruleset = parse_ruleset(cap.nft_json, parse_rule_texts(cap.nft_text))
    (table,) = ruleset.tables
    allowed = table.sets["allowed"]
    assert allowed.key_kinds == ("addr4",)
    assert Interval(lo=0x0A000000, hi=0x0A0000FF) in (e[0] for e in allowed.elements)
    assert table.sets["pairs"].key_kinds == ("addr4", "int")
    portv = table.sets["portv"]
    assert portv.is_map and [v.kind for v in portv.verdicts] == ["accept", "drop"]
    web = next(r for r in table.chains["input"].rules if r.comment == "web ok")
    assert web.text == 'ip saddr @allowed tcp dport { 80, 443, 8000-8080 } accept comment "web ok"'
    assert web.handle is not None
    assert isinstance(web.exprs[0], Match) and web.exprs[0].elements == SetRef(name="allowed")


def test_nft_exprs_typed_and_unknown_named() -> None:
    """Each nft expression becomes a typed value; an unmodelled one (limit) is named."""
    cap = capture("constructs")
    assert cap.nft_json is not None
    rules = parse_ruleset(cap.nft_json).tables[0].chains["input"].rules
    by_text = {r.text: r for r in rules}  # rendered from JSON: no nft -a text given
    kinds = [type(e).__name__ for r in rules for e in r.exprs]
    assert "VerdictMap" in kinds
    flags_rule = next(r for r in rules if any(isinstance(e, Unknown) for e in r.exprs))
    unknown = next(e for e in flags_rule.exprs if isinstance(e, Unknown))
    assert unknown.construct == "limit" and unknown.is_match
    masked = next(e for e in flags_rule.exprs if isinstance(e, Match))
    assert masked.fields == ("tcp flags",) and masked.mask == frozenset({"syn", "ack"})
    reject = [e for r in rules for e in r.exprs if isinstance(e, Verdict) and e.kind == "reject"]
    assert [v.reject_with for v in reject] == [
        "icmp host-prohibited",
        "tcp reset",
        "icmpx port-unreachable",
        "icmpx admin-prohibited",
    ]
    vmaps = [e for r in rules for e in r.exprs if isinstance(e, VerdictMap)]
    assert vmaps[0].entries == SetRef(name="portv")
    assert by_text  # every rule got a rendering


def test_nft_rejects_other_json() -> None:
    """A JSON document that is not `nft -j list ruleset` output is refused."""
    with pytest.raises(NftJsonError):
        parse_ruleset('{"hello": []}')


def test_iptables_ufw_chains_and_matches() -> None:
    """ufw's iptables-nft-save output: built-in chains become base chains with policies,
    user chains regular ones, and `-m limit` stays an unknown match."""
    cap = capture("ufw")
    (save,) = cap.saves
    assert save.source == "iptables-nft" and detect_source(save.text) == "iptables-nft"
    (table,) = parse_save(save.text, version=4).tables
    assert table.chains["INPUT"].hook == "input" and table.chains["INPUT"].policy == "drop"
    assert table.chains["ufw-user-input"].hook is None
    deny = table.chains["ufw-user-input"].rules[1]
    assert deny.text == "-A ufw-user-input -s 10.0.0.10/32 -p tcp -m tcp --dport 5432 -j DROP"
    assert deny.position == 2
    assert [type(e).__name__ for e in deny.exprs] == ["Match", "Match", "Match", "Verdict"]
    limit = table.chains["ufw-not-local"].rules[3]
    assert isinstance(limit.exprs[0], Unknown) and limit.exprs[0].construct.startswith("-m limit")
    local = table.chains["ufw-not-local"].rules[0]
    assert local.exprs[0] == Match(
        fields=("fib daddr type",), op="==", elements=((Name(text="local"),),)
    )


def test_iptables_legacy_comment_and_reject() -> None:
    """Legacy iptables-save output keeps the rule's comment and its reject type."""
    (save,) = capture("reject").saves
    assert save.source == "iptables-legacy"
    rule = parse_save(save.text, version=4).tables[0].chains["INPUT"].rules[3]
    assert rule.comment == "postgres: app servers only"
    assert rule.exprs[-1] == Verdict(kind="reject", reject_with="icmp port-unreachable")


def test_iptables_garbage_refused() -> None:
    """Text that is not iptables-save output raises IptablesSaveError."""
    with pytest.raises(IptablesSaveError):
        parse_save("-A INPUT -j DROP\n", version=4)


def test_merge_replaces_iptables_nft_tables() -> None:
    """Tables iptables-nft manages come from iptables-nft-save, not from nft's parameterless
    xt expressions; legacy tables sit beside them."""
    ruleset = build_ruleset(capture("mixed"))
    sources = sorted((t.family, t.name, t.source) for t in ruleset.tables)
    assert ("ip", "filter", "iptables-nft") in sources
    assert ("ip", "filter", "iptables-legacy") in sources
    assert ("inet", "filter", "nft") in sources
    assert not any("xt" in note for note in ruleset.notes)
    assert ruleset.local_addresses is not None and "10.0.0.20" in ruleset.local_addresses
