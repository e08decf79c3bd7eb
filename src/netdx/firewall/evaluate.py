"""`evaluate(ruleset, packet, hook)`: which rule decides a packet's fate, and how it got there.

The walk follows the kernel: every base chain on the hook's stages (prerouting then input for
traffic to this host; output then postrouting for traffic it sends; prerouting, forward,
postrouting for a router), of every table whose family sees the packet (ip or ip6, and inet),
in priority order. A legacy iptables table and the nft table of the same family and name are
two kernel objects, two `Table`s here: each of their base chains hooks in on its own. accept
ends one base chain and the packet goes on to the next; drop and reject end everything.
Inside a chain: jump pushes a return point, goto does not, return pops, the end of a regular
chain returns, the end of a base chain applies its policy.

Anything the model cannot decide (a construct it does not understand in a rule whose other
matches all hold, a field the packet does not carry, such as an unknown source port) stops
the walk with the decision "unknown" and names the construct: never a guess.
"""

from __future__ import annotations

import functools
import ipaddress
import itertools

from netdx.firewall.matching import Undecided, rule_verdict
from netdx.firewall.model import Chain, Hook, Packet, Rule, Ruleset, Table, Verdict
from netdx.firewall.unhooked import unhooked

# The walk's values are the model's (one firewall match type: netdx.model.firewall),
# re-exported under the names the firewall package has always used.
from netdx.model.firewall import ChainStep as Step
from netdx.model.firewall import Decision as Decision
from netdx.model.firewall import Direction as Direction
from netdx.model.firewall import FirewallMatch
from netdx.model.firewall import RuleRef as RuleRef
from netdx.model.record import record, replace

STAGES: dict[Direction, tuple[Hook, ...]] = {
    "input": ("prerouting", "input"),
    "output": ("output", "postrouting"),
    "forward": ("prerouting", "forward", "postrouting"),
}
_FILTER_TYPES = frozenset({"filter", "route"})
_CONNTRACK_PRIORITY = -200  # NF_IP_PRI_CONNTRACK: chains before it see no conntrack entry
_MAX_DEPTH = 64  # the kernel's own jump stack limit is 16 per table; loops cannot exist


# The outcome for one packet is the one match type: the decision, the deciding rule (None
# when a policy decided: `policy` then names it, e.g. "inet filter input policy drop"), every
# step, and the constructs that made the answer unknown. The walk leaves the rest of it (the
# packet as recorded, the tool's origin, near misses, why this hook) to `explain`.
Evaluation = FirewallMatch


def rule_ref(table: Table, chain: Chain, rule: Rule) -> RuleRef:
    """Where `rule` lives and what it says, as the walk's steps and the match name it."""
    return RuleRef(
        family=table.family,
        table=table.name,
        chain=chain.name,
        position=rule.position,
        text=rule.text,
        handle=rule.handle,
        comment=rule.comment,
        source=table.source,
    )


@record
class _ChainOutcome:
    verdict: Verdict | None  # None: the policy decided
    rule: RuleRef | None
    steps: tuple[Step, ...]


def _walk_base(table: Table, base: Chain, packet: Packet, stage: Hook) -> _ChainOutcome:
    """Run one base chain to its verdict (accept/drop/reject, or None for its policy)."""
    step = functools.partial(Step, family=table.family, table=table.name, source=table.source)
    steps: list[Step] = [step(action="hook", chain=base.name)]
    stack: list[tuple[Chain, int]] = []
    chain, index = base, 0
    while True:
        if index >= len(chain.rules):  # the end of a chain: policy, or back to the caller
            if not stack:
                return _ChainOutcome(verdict=None, rule=None, steps=tuple(steps))
            chain, index = stack.pop()
            steps.append(step(action="return", chain=chain.name))
            continue
        rule, index = chain.rules[index], index + 1
        ref = rule_ref(table, chain, rule)
        try:
            verdict = rule_verdict(rule, table, packet, stage)
        except Undecided as exc:
            steps.append(step(action="unknown", chain=chain.name, rule=ref, verdict=exc.construct))
            raise _UndecidedWalk(exc.construct, ref, tuple(steps)) from None
        if verdict is None:
            continue
        if verdict.kind in ("jump", "goto"):
            target = table.chains.get(verdict.target or "")
            if target is None or len(stack) >= _MAX_DEPTH:
                why = f"{verdict.kind} to missing chain {verdict.target}"
                raise _UndecidedWalk(why, ref, tuple(steps))
            if verdict.kind == "jump":
                stack.append((chain, index))
            steps.append(step(action=verdict.kind, chain=target.name, rule=ref))
            chain, index = target, 0
        elif verdict.kind == "return":
            if not stack:  # return from a base chain: its policy decides
                steps.append(step(action="return", chain=chain.name, rule=ref))
                return _ChainOutcome(verdict=None, rule=None, steps=tuple(steps))
            chain, index = stack.pop()
            steps.append(step(action="return", chain=chain.name, rule=ref))
        else:
            steps.append(step(action="rule", chain=chain.name, rule=ref, verdict=verdict.kind))
            return _ChainOutcome(verdict=verdict, rule=ref, steps=tuple(steps))


class _UndecidedWalk(Exception):
    def __init__(self, construct: str, rule: RuleRef, steps: tuple[Step, ...]) -> None:
        super().__init__(construct)
        self.construct, self.rule, self.steps = construct, rule, steps


def base_chains(
    ruleset: Ruleset, packet: Packet, hook: Direction
) -> list[tuple[Hook, Table, Chain]]:
    """The base chains the packet traverses, in the kernel's order: by stage, then priority;
    among equal priorities the chain registered last runs first (the kernel inserts a new
    hook before those of the same priority), and listings are in creation order."""
    families = ("ip", "inet") if packet.family == 4 else ("ip6", "inet")
    stages = STAGES[hook]
    found = [
        (stages.index(chain.hook), chain.priority, -n, chain.hook, table, chain)
        for n, (table, chain) in enumerate(
            (t, c) for t in ruleset.tables if t.family in families for c in t.chains.values()
        )
        if chain.hook is not None and chain.hook in stages and chain.type in _FILTER_TYPES
    ]
    found.sort(key=lambda item: item[:3])
    return [(stage, table, chain) for _s, _p, _n, stage, table, chain in found if stage]


def _chain_name(table: Table, chain: Chain) -> str:
    """'inet filter input', or 'ip filter INPUT (iptables-legacy)': the legacy table is not the
    nft table of the same name."""
    legacy = " (iptables-legacy)" if table.source == "iptables-legacy" else ""
    return f"{table.family} {table.name} {chain.name}{legacy}"


def _tie_notes(chains: list[tuple[Hook, Table, Chain]]) -> list[str]:
    """Equal priorities across the nft and the legacy iptables kernel objects have no
    knowable order (each keeps its own registration order)."""
    notes = []
    for (h1, t1, c1), (h2, t2, c2) in itertools.pairwise(chains):
        legacy = (t1.source == "iptables-legacy", t2.source == "iptables-legacy")
        if h1 == h2 and c1.priority == c2.priority and legacy[0] != legacy[1]:
            notes.append(
                f"{_chain_name(t1, c1)} and {_chain_name(t2, c2)} share "
                f"priority {c1.priority} on {h1}: their order is the kernel's registration "
                "order, assumed here"
            )
    return notes


def _notes(ruleset: Ruleset, packet: Packet, hook: Direction) -> tuple[str, ...]:
    families = ("ip", "inet") if packet.family == 4 else ("ip6", "inet")
    notes = [
        f"{t.family} {t.name} {c.name}: {c.type} chain not evaluated "
        "(address translation is not modelled)"
        for t in ruleset.tables
        if t.family in families
        for c in t.chains.values()
        if c.hook in STAGES[hook] and c.type not in _FILTER_TYPES
    ]
    notes += [
        f"{t.family} {t.name} {c.name}: {c.hook} chain not evaluated"
        for t in ruleset.tables
        if t.family in ("netdev", "bridge")
        for c in t.chains.values()
        if c.is_base
    ]
    return (*ruleset.notes, *notes)


def address_type(address: str, ruleset: Ruleset) -> str | None:
    """The kernel's routing type of `address` on the ruleset's host (None when unknown)."""
    ip = ipaddress.ip_address(address)
    if ip.is_loopback or (ruleset.local_addresses and address in ruleset.local_addresses):
        return "local"
    if ip.is_multicast:
        return "multicast"
    if address in ruleset.broadcast_addresses or address == "255.255.255.255":
        return "broadcast"
    return "unicast" if ruleset.local_addresses is not None else None


def evaluate(ruleset: Ruleset, packet: Packet, hook: Direction) -> Evaluation:
    """The decision for `packet` at `hook`, with the deciding rule and the path to it."""
    packet = replace(
        packet,
        saddr_type=packet.saddr_type or address_type(packet.saddr, ruleset),
        daddr_type=packet.daddr_type or address_type(packet.daddr, ruleset),
    )
    path: list[Step] = []
    notes = _notes(ruleset, packet, hook)
    if ruleset.unreadable:
        return Evaluation(decision="unknown", hook=hook, unknown=ruleset.unreadable, notes=notes)
    last: tuple[_ChainOutcome, Table, Chain] | None = None
    chains = base_chains(ruleset, packet, hook)
    notes = (*notes, *_tie_notes(chains))
    for stage, table, chain in chains:
        seen = packet
        if stage in ("prerouting", "output") and chain.priority < _CONNTRACK_PRIORITY:
            seen = replace(packet, tracked=False)
        try:
            outcome = _walk_base(table, chain, seen, stage)
        except _UndecidedWalk as exc:
            path.extend(exc.steps)
            return Evaluation(
                decision="unknown",
                hook=hook,
                rule=exc.rule,
                path=tuple(path),
                unknown=(exc.construct,),
                notes=notes,
            )
        path.extend(outcome.steps)
        verdict = outcome.verdict.kind if outcome.verdict else chain.policy or "accept"
        if outcome.verdict is None:
            path.append(
                Step(
                    action="policy",
                    family=table.family,
                    table=table.name,
                    chain=chain.name,
                    verdict=verdict,
                    source=table.source,
                )
            )
        last = (outcome, table, chain)
        if verdict in ("drop", "reject"):
            break
    if last is None:
        return unhooked(hook, notes=notes)  # no chain walked: the path is empty
    outcome, table, chain = last
    decision: Decision = outcome.verdict.kind if outcome.verdict else chain.policy or "accept"  # type: ignore[assignment]
    rule = outcome.rule
    return Evaluation(
        decision=decision,
        hook=hook,
        reject_with=outcome.verdict.reject_with if outcome.verdict else None,
        rule=rule,
        policy=None if rule else f"{_chain_name(table, chain)} policy {decision}",
        path=tuple(path),
        notes=notes,
    )
