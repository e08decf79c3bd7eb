"""The kernel's route to an address, as `ip route get` gives it (here or on a server)."""

from __future__ import annotations

from netdx.model.literal import Literal  # typing's to mypy; no typing import at run time
from netdx.model.record import record

__all__ = ["RouteLookup", "RouteStatus"]

RouteStatus = Literal["ok", "no_route", "local", "error"]


@record
class RouteLookup:
    """The kernel's answer to `ip route get ADDR` plus the next hop's neighbour state.

    `route_type` is the rtnetlink type name (unicast, local, unreachable, blackhole,
    prohibit, throw). `error` is the errno name when the lookup failed (ENETUNREACH...).
    `neighbour_state` is the NUD state name (REACHABLE, STALE, FAILED, INCOMPLETE, ...) of
    the gateway, or of the address itself when on-link; None when there is no entry yet.
    """

    address: str
    status: RouteStatus
    route_type: str | None = None
    interface: str | None = None
    ifindex: int | None = None
    source: str | None = None
    gateway: str | None = None
    neighbour_state: str | None = None
    error: str | None = None
