"""This host's own firewall, evaluated for the probed flow (the `netdx firewall explain`
engine, and its very `FirewallMatch`): which rule of the live ruleset drops or rejects the
SYN, or that none does.

Reading the ruleset runs `nft` and the iptables-save variants (root only); the evaluation is
pure. It runs in a worker thread under the check's deadline.
"""

from __future__ import annotations

from netdx.budget import Deadline
from netdx.model import FirewallMatch, RouteLookup
from netdx.model.firewall import FlowPacket
from netdx.model.record import fields

TYPE_CHECKING = False  # mypy reads any name TYPE_CHECKING as typing's
if TYPE_CHECKING:
    from typing import Literal

    Hook = Literal["input", "output"]


async def local_firewall(
    address: str, port: int, *, route: RouteLookup | None, hook: Hook, deadline: Deadline
) -> FirewallMatch:
    """`local_firewall_sync` in a worker thread, for the probes of `netdx check` on an
    event loop."""
    import asyncio

    return await asyncio.to_thread(
        local_firewall_sync, address, port, route=route, hook=hook, deadline=deadline
    )


def local_firewall_sync(
    address: str, port: int, *, route: RouteLookup | None, hook: Hook, deadline: Deadline
) -> FirewallMatch:
    """Evaluate a TCP SYN from this host to address:port (hook "output") or to one of this
    host's own addresses (hook "input") against the live ruleset, in the calling thread."""
    from netdx.firewall.present import present
    from netdx.firewall.unhooked import bare, holds_no_table

    source = route.source if route is not None and route.source else None
    if source is None:
        return FirewallMatch(hook=hook, decision="unknown", error="no source address known")
    syn = FlowPacket(
        family=6 if ":" in address else 4,
        saddr=source,
        daddr=address,
        proto="tcp",
        dport=port,
        oif=route.interface if route is not None and hook == "output" else None,
        iif="lo" if hook == "input" else None,
    )
    # The tables this namespace holds (netlink and /proc, no command). None at all, and the
    # packet's interface already known (else `explain` asks `ip route get` for it): nothing
    # can decide the packet, and the parsers and the walk are not even imported.
    tables = present(deadline.remaining())
    if holds_no_table(tables) and (hook == "input" or syn.oif is not None):
        return bare(syn, hook)
    from netdx.firewall.explain import explain_local
    from netdx.firewall.model import Packet

    packet = Packet(**{f.name: getattr(syn, f.name) for f in fields(FlowPacket)})
    try:
        return explain_local(packet, hook, deadline=deadline, present=tables)
    except OSError as exc:
        return FirewallMatch(hook=hook, decision="unknown", error=str(exc))
