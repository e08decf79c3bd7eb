"""`explain`: the evaluator's answer for one flow as the model's `FirewallMatch` (the one
firewall match type, also the check's evidence), its `netdx.firewall.explain/1` document, and
`explain_local` that reads this host's ruleset first.
"""

from __future__ import annotations

import ipaddress

from netdx.budget import Deadline
from netdx.firewall import live
from netdx.firewall.evaluate import Direction, Evaluation, RuleRef, evaluate
from netdx.firewall.live import Runner, capture, route_interface
from netdx.firewall.model import Packet, Ruleset
from netdx.firewall.nearmiss import near_misses
from netdx.firewall.origin import origin_of
from netdx.firewall.sources import build_ruleset, local_addresses
from netdx.model.firewall import FirewallMatch, FlowPacket, Origin
from netdx.model.record import fields, replace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from netdx.firewall.present import Present

EXPLAIN_SCHEMA = "netdx.firewall.explain/1"


def explain(
    ruleset: Ruleset, packet: Packet, hook: Direction, *, hook_reason: str = "given"
) -> FirewallMatch:
    """Evaluate `packet` at `hook` and name the deciding rule, in its tool's words too."""
    evaluation: Evaluation = evaluate(ruleset, packet, hook)
    return replace(
        evaluation,
        packet=flow_packet(packet),
        origin=origin_of(evaluation, ruleset) if evaluation.decision != "unknown" else None,
        near_misses=near_misses(evaluation, ruleset, packet),
        hook_reason=hook_reason,
    )


def flow_packet(packet: Packet) -> FlowPacket:
    """The packet as the match records it (the fields a reader of the match needs): a Packet
    is a FlowPacket plus the walk's own state, which is left out."""
    return FlowPacket(**{f.name: getattr(packet, f.name) for f in fields(FlowPacket)})


def infer_hook(packet: Packet, local: frozenset[str]) -> tuple[Direction, str]:
    """input when the destination is a local address, output when the source is, else
    forward; with the reason in words."""
    if _is_local(packet.daddr, local):
        return "input", f"{packet.daddr} is a local address"
    if _is_local(packet.saddr, local):
        return "output", f"{packet.saddr} is a local address"
    return "forward", f"neither {packet.saddr} nor {packet.daddr} is a local address"


def _is_local(address: str, local: frozenset[str]) -> bool:
    return address in local or ipaddress.ip_address(address).is_loopback


def explain_local(
    packet: Packet,
    hook: Direction | None = None,
    *,
    runner: Runner | None = None,
    deadline: Deadline | None = None,
    netns: str | None = None,
    present: Present | None = None,
) -> FirewallMatch:
    """Read this host's live ruleset (through `runner`) and explain `packet` at `hook`
    (inferred from the local addresses when None). A packet without `iif` (input, forward)
    or `oif` (output, forward) gets the interface of the route toward its peer. `present`:
    the tables `live.present_here` already found here (read again when None)."""
    budget = deadline or Deadline.after(5.0)
    run = runner or live.subprocess_runner(budget, netns)
    # This process's own namespace, the hook known (no local addresses needed to infer it):
    # only the commands that can add a rule run.
    here = runner is None and netns is None and hook is not None
    if here and present is None:
        present = live.present_here(budget)
    captured = capture(run, present=present if here else None)
    ruleset = build_ruleset(captured)
    reason = "given"
    if hook is None:
        hook, reason = infer_hook(packet, local_addresses(captured.addresses_json))
    return explain(ruleset, with_interfaces(packet, hook, run), hook, hook_reason=reason)


def with_interfaces(packet: Packet, hook: Direction, runner: Runner) -> Packet:
    """Fill a missing input/output interface from the routing table (`ip route get`)."""
    iif, oif = packet.iif, packet.oif
    if iif is None and hook in ("input", "forward"):
        iif = route_interface(runner, packet.saddr)
    if oif is None and hook in ("output", "forward"):
        oif = route_interface(runner, packet.daddr)
    if hook == "input" and iif is not None and _is_local(packet.saddr, frozenset()):
        iif = "lo"
    return replace(packet, iif=iif, oif=oif)


def _rule_json(rule: RuleRef | None, origin: Origin | None) -> dict[str, Any] | None:
    if rule is None:
        return None
    return {
        "family": rule.family,
        "table": rule.table,
        "chain": rule.chain,
        "handle": rule.handle,
        "position": rule.position,
        "text": rule.text,
        "comment": rule.comment,
        "source": rule.source,
        "tool": origin.tool if origin else None,
        "origin": origin.description if origin else None,
    }


def to_json(explanation: FirewallMatch) -> dict[str, Any]:
    """The `netdx.firewall.explain/1` document."""
    from dataclasses import asdict  # for a document only: a check imports no dataclasses

    p = explanation.packet
    return {
        "schema": EXPLAIN_SCHEMA,
        "packet": None if p is None else asdict(p),
        "hook": explanation.hook,
        "hook_reason": explanation.hook_reason,
        "decision": explanation.decision,
        "reject_with": explanation.reject_with,
        "rule": _rule_json(explanation.rule, explanation.origin),
        "policy": explanation.policy,
        "origin": (
            {"tool": explanation.origin.tool, "description": explanation.origin.description}
            if explanation.origin
            else None
        ),
        "path": [
            {
                "action": s.action,
                "family": s.family,
                "table": s.table,
                "chain": s.chain,
                "source": s.source,
                "handle": s.rule.handle if s.rule else None,
                "position": s.rule.position if s.rule else None,
                "verdict": s.verdict,
            }
            for s in explanation.path
        ],
        "near_misses": [
            {**(_rule_json(m.rule, None) or {}), "failed": m.failed}
            for m in explanation.near_misses
        ],
        "unknown": list(explanation.unknown),
        "notes": list(explanation.notes),
    }
