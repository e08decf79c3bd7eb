"""This host's own firewall, evaluated for the probed flow (the `netdx firewall explain`
engine): which rule of the live ruleset drops or rejects the SYN, or that none does.

Reading the ruleset runs `nft` and the iptables-save variants (root only); the evaluation is
pure. It runs in a worker thread under the check's deadline.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Literal

from netdx.budget import Deadline
from netdx.model import FirewallMatch, RouteLookup

if TYPE_CHECKING:
    from netdx.firewall.explain import Explanation

Hook = Literal["input", "output"]


async def local_firewall(
    address: str, port: int, *, route: RouteLookup | None, hook: Hook, deadline: Deadline
) -> FirewallMatch:
    """Evaluate a TCP SYN from this host to address:port (hook "output") or to one of this
    host's own addresses (hook "input") against the live ruleset."""
    from netdx.firewall.explain import explain_local
    from netdx.firewall.model import Packet

    source = route.source if route is not None and route.source else None
    if source is None:
        return FirewallMatch(hook=hook, decision="unknown", error="no source address known")
    packet = Packet(
        family=6 if ":" in address else 4,
        saddr=source,
        daddr=address,
        proto="tcp",
        dport=port,
        oif=route.interface if route is not None and hook == "output" else None,
        iif="lo" if hook == "input" else None,
    )
    try:
        found = await asyncio.to_thread(explain_local, packet, hook, deadline=deadline)
    except OSError as exc:
        return FirewallMatch(hook=hook, decision="unknown", error=str(exc))
    return to_match(found)


def to_match(found: Explanation) -> FirewallMatch:
    """The explanation as an evidence value."""
    rule = found.rule
    return FirewallMatch(
        hook=found.hook,
        decision=found.decision,
        rule=rule.text if rule else None,
        family=rule.family if rule else None,
        table=rule.table if rule else None,
        chain=rule.chain if rule else None,
        handle=rule.handle if rule else None,
        position=rule.position if rule else None,
        source=rule.source if rule else None,
        origin=found.origin.description if found.origin else None,
        policy=found.policy,
        reject_with=found.reject_with,
        unknown=found.unknown,
        error=("; ".join(found.notes) or None) if found.decision == "unknown" else None,
    )
