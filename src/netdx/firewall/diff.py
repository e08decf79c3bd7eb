"""Snapshots of a host's firewall, and what changed between two: rule by rule, chain
policies, and which of a list of flows changed verdict."""

from __future__ import annotations

import difflib
import re
from typing import Any, Literal

from netdx.errors import CannotRun
from netdx.firewall.explain import explain, infer_hook
from netdx.firewall.flows import Flow
from netdx.firewall.model import Chain, Ruleset
from netdx.firewall.sources import Capture, build_ruleset, local_addresses
from netdx.model.firewall import ChainLocation, FirewallMatch
from netdx.model.record import record
from netdx.model.vantage import THIS_HOST, Vantage, vantage_data

SNAPSHOT_SCHEMA = "netdx.firewall.snapshot/1"
DIFF_SCHEMA = "netdx.firewall.diff/1"
_COUNTERS = re.compile(r"counter packets \d+ bytes \d+")


@record
class Snapshot:
    """A capture with when and where it was taken."""

    capture: Capture
    taken_at: str
    host: str
    observed_on: Vantage = THIS_HOST  # this host, a netns (--netns) or the SSH destination


@record
class RuleChange(ChainLocation):
    """A rule added or removed; `position` is its place in the new (added) or old chain."""

    change: Literal["added", "removed"]
    position: int
    text: str
    source: str = "nft"  # a legacy table's rule is not the nft table's of the same name


@record
class ChainChange(ChainLocation):
    """A chain added or removed, or a base chain whose policy changed."""

    change: Literal["added", "removed", "policy"]
    old_policy: str | None = None
    new_policy: str | None = None
    source: str = "nft"


@record
class FlowVerdict:
    """One flow before and after; `changed` when the decision or deciding rule differs."""

    flow: Flow
    old: FirewallMatch
    new: FirewallMatch

    @property
    def changed(self) -> bool:
        return (self.old.decision, self.old.reject_with) != (
            self.new.decision,
            self.new.reject_with,
        )


@record
class RulesetDiff:
    """Everything that changed between two snapshots."""

    rules: tuple[RuleChange, ...]
    chains: tuple[ChainChange, ...]
    flows: tuple[FlowVerdict, ...]


def snapshot_to_json(snap: Snapshot) -> dict[str, Any]:
    """The `netdx.firewall.snapshot/1` document."""
    return {
        "schema": SNAPSHOT_SCHEMA,
        "observed_on": vantage_data(snap.observed_on),
        "taken_at": snap.taken_at,
        "host": snap.host,
        "capture": snap.capture.to_json(),
    }


def snapshot_from_json(data: Any) -> Snapshot:
    """Read a snapshot document; UsageError naming the bad field when it is not one."""
    from netdx.firewall.snapshot_schema import validated_capture

    capture, taken_at, host, observed_on = validated_capture(data)
    return Snapshot(capture=capture, taken_at=taken_at, host=host, observed_on=observed_on)


def _chains(ruleset: Ruleset) -> dict[tuple[str, str, str, str], Chain]:
    """Every chain by (family, table, chain, source): a legacy `ip filter INPUT` and the nft
    one are different chains, and a rule of one is never the rule of the other."""
    return {
        (t.family, t.name, c.name, t.source): c for t in ruleset.tables for c in t.chains.values()
    }


def _texts(chain: Chain) -> list[str]:
    return [_COUNTERS.sub("counter", r.text) for r in chain.rules]


def diff_rules(
    old: Ruleset, new: Ruleset
) -> tuple[tuple[RuleChange, ...], tuple[ChainChange, ...]]:
    """Rules and chains added, removed or changed (rules compared by text, in order:
    handles change on every reload, texts do not)."""
    before, after = _chains(old), _chains(new)
    rules: list[RuleChange] = []
    chains: list[ChainChange] = []
    for key in sorted(before.keys() | after.keys()):
        family, table, name, source = key
        a, b = before.get(key), after.get(key)
        if a is None or b is None:
            chains.append(
                ChainChange(
                    change="added" if a is None else "removed",
                    family=family,
                    table=table,
                    chain=name,
                    source=source,
                )
            )
        elif a.policy != b.policy:
            chains.append(
                ChainChange(
                    change="policy",
                    family=family,
                    table=table,
                    chain=name,
                    source=source,
                    old_policy=a.policy,
                    new_policy=b.policy,
                )
            )
        old_texts, new_texts = _texts(a) if a else [], _texts(b) if b else []
        matcher = difflib.SequenceMatcher(a=old_texts, b=new_texts, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag in ("delete", "replace"):
                rules.extend(_rule_changes("removed", key, old_texts, range(i1, i2)))
            if tag in ("insert", "replace"):
                rules.extend(_rule_changes("added", key, new_texts, range(j1, j2)))
    return tuple(rules), tuple(chains)


def _rule_changes(
    change: Literal["added", "removed"],
    key: tuple[str, str, str, str],
    texts: list[str],
    indexes: range,
) -> list[RuleChange]:
    """The rules at `indexes` of one chain's `texts` (the old chain's for a removal, the new
    one's for an addition), as changes numbered by their 1-based place in that chain."""
    family, table, chain, source = key
    return [
        RuleChange(
            change=change,
            family=family,
            table=table,
            chain=chain,
            source=source,
            position=i + 1,
            text=texts[i],
        )
        for i in indexes
    ]


def diff_snapshots(old: Snapshot, new: Snapshot, flows: tuple[Flow, ...] = ()) -> RulesetDiff:
    """The rule changes between two snapshots and each flow's verdict before and after
    (hooks inferred from each snapshot's own local addresses when a flow gives none)."""
    old_rs, new_rs = build_ruleset(old.capture), build_ruleset(new.capture)
    for side, ruleset in (("the old snapshot", old_rs), ("the new ruleset", new_rs)):
        if ruleset.unreadable:
            # Rules that could not be read would show as removed (or added): a diff against
            # them is a guess, so there is none.
            raise CannotRun(f"{side} could not be read: {ruleset.unreadable[0]}")
    rules, chains = diff_rules(old_rs, new_rs)
    verdicts = []
    for flow in flows:
        old_hook, old_why = _hook(flow, old)
        new_hook, new_why = _hook(flow, new)
        verdicts.append(
            FlowVerdict(
                flow=flow,
                old=explain(old_rs, flow.packet, old_hook, hook_reason=old_why),
                new=explain(new_rs, flow.packet, new_hook, hook_reason=new_why),
            )
        )
    return RulesetDiff(rules=rules, chains=chains, flows=tuple(verdicts))


def _hook(flow: Flow, snap: Snapshot) -> tuple[Any, str]:
    if flow.hook is not None:
        return flow.hook, "given"
    return infer_hook(flow.packet, local_addresses(snap.capture.addresses_json))


def diff_to_json(d: RulesetDiff) -> dict[str, Any]:
    """The `netdx.firewall.diff/1` document."""
    from netdx.firewall.explain import to_json

    return {
        "schema": DIFF_SCHEMA,
        "rules": [
            {
                "change": r.change,
                "family": r.family,
                "table": r.table,
                "chain": r.chain,
                "source": r.source,
                "position": r.position,
                "text": r.text,
            }
            for r in d.rules
        ],
        "chains": [
            {
                "change": c.change,
                "family": c.family,
                "table": c.table,
                "chain": c.chain,
                "source": c.source,
                "old_policy": c.old_policy,
                "new_policy": c.new_policy,
            }
            for c in d.chains
        ],
        "flows": [
            {
                "flow": f.flow.spec,
                "changed": f.changed,
                "old": to_json(f.old),
                "new": to_json(f.new),
            }
            for f in d.flows
        ],
    }


def render_diff(d: RulesetDiff) -> str:
    """The terminal form of a diff."""
    from netdx.firewall.render import chain_text, flow_text, rule_location

    out = []
    for c in d.chains:
        if c.change == "policy":
            out.append(f"~ chain {chain_text(c, c.source)}: policy {c.old_policy} → {c.new_policy}")
        else:
            out.append(f"{'+' if c.change == 'added' else '-'} chain {chain_text(c, c.source)}")
    for r in d.rules:
        sign = "+" if r.change == "added" else "-"
        out.append(f"{sign} {chain_text(r, r.source)} #{r.position}: {r.text}")
    if not d.rules and not d.chains:
        out.append("no rule changed")
    for f in d.flows:
        mark = "CHANGED" if f.changed else "same"
        line = f"{mark}: {flow_text(f.new)}  {f.old.decision} → {f.new.decision}"
        if f.changed and f.new.rule is not None:
            line += f"  ({rule_location(f.new.rule)}: {f.new.rule.text})"
        out.append(line)
    return "\n".join(out)
