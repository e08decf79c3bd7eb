"""What a host's firewall decides for one flow, naming the rule: the one match type.

`netdx firewall explain`, the check's follow-up probe (`probes.firewall`), `netdx firewall
diff` and the renderers all read a `FirewallMatch`; the evaluator (`firewall.evaluate`)
builds the rule references and steps below. Frozen dataclasses only: a match round-trips
through `model.codec` like any other evidence.
"""

from __future__ import annotations

from netdx.model.literal import Literal  # typing's to mypy; no typing import at run time
from netdx.model.record import record

Decision = Literal["accept", "drop", "reject", "unknown"]
Direction = Literal["input", "output", "forward"]
StepAction = Literal["hook", "jump", "goto", "return", "rule", "policy", "unknown"]
Tool = Literal["ufw", "firewalld", "docker"]
CtState = Literal["new", "established", "related", "invalid", "untracked"]


@record
class ChainLocation:
    """A chain by family, table and name: where a rule lives, a step of the walk, or what a
    diff changed."""

    family: str
    table: str
    chain: str

    @property
    def chain_path(self) -> str:
        """'inet filter output', as nft names a chain."""
        return f"{self.family} {self.table} {self.chain}"


@record
class RuleRef(ChainLocation):
    """Where a rule lives and what it says. `source` is nft, iptables-nft or
    iptables-legacy; nft rules have a `handle`, iptables ones only their `position`."""

    position: int
    text: str
    handle: int | None = None
    comment: str | None = None
    source: str = "nft"


@record
class ChainStep(ChainLocation):
    """One step of the walk, at the chain it names: entering a base chain (`hook`), a
    jump/goto/return, the rule that gave the chain's verdict (`rule`), a policy, or the rule
    that made it `unknown`."""

    action: StepAction
    rule: RuleRef | None = None
    verdict: str | None = None
    # nft, iptables-nft or iptables-legacy, as a RuleRef's: a legacy `ip filter INPUT` and
    # the nft one are two kernel objects, both hooked in.
    source: str = "nft"


@record
class Origin:
    """The tool a deciding rule (or policy) belongs to, and the rule in its own words."""

    tool: Tool
    description: str


@record
class NearMiss:
    """An accept rule on the path that one failing match kept from applying."""

    rule: RuleRef
    failed: str


@record
class FlowPacket:
    """The first packet of the flow that was evaluated (interfaces as filled in from the
    routes; conntrack state `new` unless asked otherwise). The evaluator's own packet
    (`firewall.model.Packet`) is this plus what only the walk needs."""

    family: Literal[4, 6]
    saddr: str
    daddr: str
    proto: str = "tcp"
    sport: int | None = None
    dport: int | None = None
    iif: str | None = None
    oif: str | None = None
    ct_state: CtState = "new"


@record
class FirewallMatch:
    """Why a flow is accepted, dropped or rejected at one hook of a host, naming the rule.

    `rule` is the deciding rule, or None when a chain policy decided (`policy` names it);
    `origin` the ufw/firewalld/Docker rule it comes from, in their words; `path` every step
    of the walk. `decision` is "unknown" when the ruleset uses constructs the model does not
    understand (`unknown` names them, `notes` say more) or could not be read at all
    (`error`, e.g. it needs root: then `packet` may be None and nothing else is filled).
    `hook_reason` says why this hook was chosen.
    """

    hook: Direction
    decision: Decision
    packet: FlowPacket | None = None
    rule: RuleRef | None = None
    origin: Origin | None = None
    policy: str | None = None
    reject_with: str | None = None
    path: tuple[ChainStep, ...] = ()
    unknown: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    near_misses: tuple[NearMiss, ...] = ()
    hook_reason: str = "given"
    error: str | None = None

    @property
    def where(self) -> str | None:
        """'inet filter output handle 3' (or 'ip filter OUTPUT rule 2'), None for a policy."""
        rule = self.rule
        if rule is None:
            return None
        spot = f"handle {rule.handle}" if rule.handle is not None else f"rule {rule.position}"
        return f"{rule.chain_path} {spot}"


__all__ = [
    "ChainLocation",
    "ChainStep",
    "CtState",
    "Decision",
    "Direction",
    "FirewallMatch",
    "FlowPacket",
    "NearMiss",
    "Origin",
    "RuleRef",
    "StepAction",
    "Tool",
]
