"""Firewalls: read the live ruleset (nftables, iptables-nft, legacy iptables), evaluate a
packet against it and name the rule that decides it.

Data flows one way: capture (`live`, the only module that runs commands) → parse (`nft_json`,
`iptables_save`, merged by `sources`) → the typed `model` → `evaluate` → `explain` (with
`origin` naming ufw/firewalld/Docker rules: a `netdx.model.FirewallMatch`) → `render` / JSON.
"""


from netdx.model.firewall import ChainStep as Step
from netdx.model.firewall import FirewallMatch, RuleRef
from netdx.netlink._lazy import lazy_exports

TYPE_CHECKING = False
if TYPE_CHECKING:
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

# Imported on first use (PEP 562): a check that only evaluates the input hook for a
# refused local port needs neither the diff nor the near misses of `explain`'s JSON.
_LAZY = {
    "RulesetDiff": ".diff",
    "Snapshot": ".diff",
    "diff_rules": ".diff",
    "diff_snapshots": ".diff",
    "Evaluation": ".evaluate",
    "evaluate": ".evaluate",
    "EXPLAIN_SCHEMA": ".explain",
    "explain": ".explain",
    "explain_local": ".explain",
    "infer_hook": ".explain",
    "to_json": ".explain",
    "parse_save": ".iptables_save",
    "Runner": ".live",
    "RunResult": ".live",
    "capture": ".live",
    "subprocess_runner": ".live",
    "Packet": ".model",
    "Ruleset": ".model",
    "parse_rule_texts": ".nft_json",
    "parse_ruleset": ".nft_json",
    "Capture": ".sources",
    "SaveCapture": ".sources",
    "build_ruleset": ".sources",
}
__getattr__ = lazy_exports(__name__, _LAZY)

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
