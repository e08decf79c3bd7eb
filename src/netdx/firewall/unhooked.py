"""The firewall's answer when no base chain sees the packet: accept, by no rule.

`evaluate` gives it when no table of the packet's family hooks a filter chain on its stages;
`bare` is `explain`'s whole match for a namespace that holds no firewall table at all (the
`present` read of netlink and /proc found none). The check's firewall probe answers a refused
port on such a host (most hosts) with `bare` without importing the ruleset's parsers, model
and walk (~6 ms of a refused loopback check); tests/unit/test_firewall_unhooked.py holds it
equal to what `explain` makes of the same empty namespace.
"""

from __future__ import annotations

from netdx.model.firewall import FirewallMatch, FlowPacket
from netdx.model.record import replace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from netdx.firewall.present import Present
    from netdx.model.firewall import Direction

NO_BASE_CHAIN = "no base chain on this hook: accept"


def unhooked(hook: Direction, *, notes: tuple[str, ...] = ()) -> FirewallMatch:
    """The evaluation of a packet no base chain of its hook sees: accepted, by no rule."""
    return FirewallMatch(decision="accept", hook=hook, notes=notes, policy=NO_BASE_CHAIN)


def holds_no_table(present: Present | None) -> bool:
    """The namespace holds neither an nftables table nor a legacy iptables one (known: a
    `present` read that could not list them says nothing)."""
    return present is not None and not present.nft and not present.legacy


def bare(packet: FlowPacket, hook: Direction, *, hook_reason: str = "given") -> FirewallMatch:
    """`explain`'s match for `packet` (its interfaces filled in) at `hook` in a namespace
    without any table: nothing decides it, so it has no origin and no near miss."""
    return replace(unhooked(hook), packet=packet, hook_reason=hook_reason)
