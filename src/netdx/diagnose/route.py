"""Route rules: does this host have a route to the first address at all?"""

from __future__ import annotations

from netdx.diagnose.facts import endpoint, fallback_finding, first, ms, tcp_text
from netdx.diagnose.shell import quote
from netdx.model import CheckEvidence, Finding, RouteLookup


def route_text(route: RouteLookup) -> str:
    """One line quoting `ip route get` for one address."""
    if route.status == "no_route":
        kind = f" (route type {route.route_type})" if route.route_type else ""
        err = f": {route.error}" if route.error else ""
        return f"ip route get {route.address}: no route{kind}{err}"
    if route.status == "error":
        return f"ip route get {route.address}: lookup failed ({route.error or 'unknown error'})"
    parts = [f"ip route get {route.address}:"]
    if route.status == "local":
        parts.append("local address")
    if route.gateway:
        parts.append(f"via {route.gateway}")
    if route.interface:
        parts.append(f"dev {route.interface}")
    if route.source:
        parts.append(f"src {route.source}")
    if route.neighbour_state:
        parts.append(f"(neighbour {route.gateway or route.address} {route.neighbour_state})")
    return " ".join(parts)


# Route types that exist and say "not this way" (`ip route add blackhole|prohibit|unreachable`):
# a route to delete, not one to add. A `throw` ends the table's lookup: that is no route.
_REJECT_ROUTES = {
    "blackhole": "discards every packet to it (the connect fails with EINVAL)",
    "prohibit": "refuses every packet to it (EACCES, ICMP administratively prohibited)",
    "unreachable": "refuses every packet to it (EHOSTUNREACH, ICMP host unreachable)",
}


def _reject_route(
    ev: CheckEvidence, address: str, kind: str, ip: str, evidence: list[str]
) -> Finding | None:
    """A blackhole/prohibit/unreachable route on this host: name it and delete it."""
    return fallback_finding(
        ev,
        cause="route.no_route",
        step="route",
        summary=f"this host has a {kind} route for {address}: it {_REJECT_ROUTES[kind]}",
        evidence=evidence,
        fix=(
            f"find the route: {ip} route show type {kind} match {address}",
            f"remove it (if nothing needs it): {ip} route del {kind} PREFIX, the prefix "
            "printed above",
        ),
        warn_summary=lambda other: (
            f"a {kind} route for {address} (tried first); the client falls back to {other}"
        ),
    )


def no_route(ev: CheckEvidence) -> Finding | None:
    """route.no_route: the kernel has no route to the first address (warn if another worked)."""
    head = first(ev)
    if head is None:
        return None
    route_says = head.route is not None and head.route.status == "no_route"
    tcp = head.tcp
    tcp_says = (
        tcp is not None
        and tcp.outcome == "error"
        and tcp.errno == "ENETUNREACH"
        and tcp.icmp is None
    )
    if not (route_says or tcp_says):
        return None
    evidence = []
    if head.route is not None:
        evidence.append(route_text(head.route))
    if tcp is not None and tcp_says:
        evidence.append(
            f"TCP connect to {endpoint(tcp.address, tcp.port)}: ENETUNREACH after "
            f"{ms(tcp.elapsed_ms)}, no packet left this host"
        )
    ip = "ip -6" if head.family == 6 else "ip"
    kind = head.route.route_type if head.route is not None else None
    if kind in _REJECT_ROUTES:
        if tcp is not None and tcp.outcome == "error" and not tcp_says:
            evidence.append(tcp_text(tcp))
        return _reject_route(ev, head.address, kind, ip, evidence)
    fix = (
        f"confirm: {ip} route get {quote(head.address)}",
        f"list the routes: {ip} route show (is there a default route via a gateway?)",
        f"add the missing route: {ip} route add {quote(head.address)} via GATEWAY "
        "(or a default route)",
    )
    return fallback_finding(
        ev,
        cause="route.no_route",
        step="route",
        summary=f"this host has no route to {head.address} (Network is unreachable)",
        evidence=evidence,
        fix=fix,
        warn_summary=lambda other: (
            f"no route to {head.address} (tried first); the client falls back to {other}"
        ),
    )
