"""Firewalls: read the live ruleset (nftables, iptables-nft, legacy iptables), evaluate a
packet against it and name the rule that decides it.

Data flows one way: capture (`live`, the only module that runs commands) → parse (`nft_json`,
`iptables_save`, merged by `sources`) → the typed `model` → `evaluate` → `explain` (with
`origin` naming ufw/firewalld/Docker rules: a `netdx.model.FirewallMatch`) → `render` / JSON.
"""

from netdx.firewall.diff import RulesetDiff, Snapshot, diff_rules, diff_snapshots
from netdx.firewall.evaluate import Evaluation, evaluate
from netdx.firewall.explain import (
    EXPLAIN_SCHEMA,
    explain,
    explain_local,
    infer_hook,
    to_json,
)
from netdx.firewall.iptables_save import parse_save
from netdx.firewall.live import Runner, RunResult, capture, subprocess_runner
from netdx.firewall.model import Packet, Ruleset
from netdx.firewall.nft_json import parse_rule_texts, parse_ruleset
from netdx.firewall.sources import Capture, SaveCapture, build_ruleset
from netdx.model.firewall import ChainStep as Step
from netdx.model.firewall import FirewallMatch, RuleRef

__all__ = [
    "EXPLAIN_SCHEMA",
    "Capture",
    "Evaluation",
    "FirewallMatch",
    "Packet",
    "RuleRef",
    "Ruleset",
    "RulesetDiff",
    "RunResult",
    "Runner",
    "SaveCapture",
    "Snapshot",
    "Step",
    "build_ruleset",
    "capture",
    "diff_rules",
    "diff_snapshots",
    "evaluate",
    "explain",
    "explain_local",
    "infer_hook",
    "parse_rule_texts",
    "parse_ruleset",
    "parse_save",
    "subprocess_runner",
    "to_json",
]
