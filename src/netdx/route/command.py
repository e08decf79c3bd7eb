"""Gather the facts `netdx route` reports: the kernel's route (with its table), the rules
that led there, the next hop's neighbour state, the MTU, and rp_filter for the return path.
Reads only (netlink, /proc/sys, /sys/class/net); the judging is in explain.py."""

from __future__ import annotations

import dataclasses
import errno
import socket
from dataclasses import dataclass
from pathlib import Path

from netdx.budget import Deadline
from netdx.netlink import ErrorAck, NetlinkError, NetlinkSocket, Route
from netdx.netlink.lookup import get_route, get_routes, get_rules
from netdx.netlink.rtnl import RT_TABLE_NAMES
from netdx.probes.route import neighbour_state, route_evidence
from netdx.route.explain import Selectors, reject_reason, rule_text, walk_rules

_SYS = Path("/proc/sys/net/ipv4/conf")
_RP_NAMES = {0: "off", 1: "strict", 2: "loose"}
_NO_NEIGHBOUR = frozenset({"local", "broadcast", "multicast", "anycast"})


@dataclass(frozen=True, slots=True, kw_only=True)
class ReturnPath:
    """rp_filter for a packet from `source` arriving on `iif`: the mode, and which
    interface the route back to `source` leaves by."""

    mode: str  # off / strict / loose (the max of conf/all and conf/IIF, as the kernel uses)
    iif: str | None
    back_via: str | None  # the interface of the route back to the source
    ok: bool
    note: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteReport:
    destination: str
    source_asked: str | None
    iif: str | None
    mark: int | None
    status: str  # ok / local / no_route / error
    route_type: str | None
    error: str | None
    table: str | None
    rule: str | None
    why: str
    tried_tables: tuple[str, ...]
    interface: str | None
    gateway: str | None
    neighbour: str | None
    source: str | None
    mtu: int | None
    mtu_from: str | None  # "route" or "interface"
    return_path: ReturnPath | None
    unjudged_rules: tuple[str, ...] = ()

    @property
    def usable(self) -> bool:
        return self.status in ("ok", "local")


def _table_name(table: int) -> str:
    return RT_TABLE_NAMES.get(table, str(table))


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _ifname(index: int | None) -> str | None:
    if index is None:
        return None
    try:
        return socket.if_indextoname(index)
    except OSError:
        return None


def rp_filter_mode(iif: str | None) -> str:
    """The rp_filter the kernel applies on `iif`: max(conf/all, conf/IIF)."""
    values = [_read_int(_SYS / "all" / "rp_filter")]
    if iif is not None:
        values.append(_read_int(_SYS / iif / "rp_filter"))
    return _RP_NAMES.get(max((v for v in values if v is not None), default=0), "unknown")


def _return_path(sock: NetlinkSocket, source: str, iif: str | None, deadline: Deadline) -> (
    ReturnPath
):
    mode = rp_filter_mode(iif)
    back = get_route(sock, source, timeout=deadline.remaining())
    back_via = _ifname(back.oif) if isinstance(back, Route) else None
    if isinstance(back, Route) and back.type == "local":
        ok, note = mode == "off" or iif is None, f"{source} is an address of this host"
    elif isinstance(back, ErrorAck):
        ok = mode == "off"
        note = f"no route back to {source} ({back.name})"
    elif iif is None:
        ok, note = True, f"the route back to {source} leaves by {back_via}"
    elif back_via == iif or mode in ("off", "loose"):
        ok = True
        note = f"the route back to {source} leaves by {back_via}"
        if back_via != iif:
            note += f", not {iif}: only {mode} rp_filter lets it in"
    else:
        ok = False
        note = (
            f"strict rp_filter drops it: the route back to {source} leaves by {back_via},"
            f" not {iif}"
        )
    return ReturnPath(mode=mode, iif=iif, back_via=back_via, ok=ok, note=note)


def explain_route(
    destination: str,
    *,
    source: str | None,
    iif: str | None,
    mark: int | None,
    deadline: Deadline,
) -> RouteReport:
    """Ask the kernel for the route and the rules; raise ValueError for an unknown --iif."""
    iif_index = socket.if_nametoindex(iif) if iif is not None else None
    family = socket.AF_INET6 if ":" in destination else socket.AF_INET
    flow = Selectors(dst=destination, src=source, iif=iif, mark=mark or 0)
    with NetlinkSocket() as sock:
        answer = get_route(sock, destination, timeout=deadline.remaining(), src=source,
                           iif=iif_index, mark=mark, lookup_table=True)
        try:
            rules = get_rules(sock, family, timeout=deadline.remaining())
        except NetlinkError:
            rules = ()
        table = answer.table if isinstance(answer, Route) else None
        walk = walk_rules(rules, flow, table)
        evidence = route_evidence(destination, answer, ifname=_ifname)
        why = walk.why
        if isinstance(answer, ErrorAck) and walk.decided_by is None:
            try:
                routes = get_routes(sock, family, timeout=deadline.remaining())
            except NetlinkError:
                routes = ()
            rejected = reject_reason(routes, walk.tried, destination)
            if rejected is not None:
                walk = dataclasses.replace(walk, decided_by=rejected[0], why=rejected[1])
                why = walk.why
        neighbour = None
        if (isinstance(answer, Route) and evidence.status == "ok" and answer.oif is not None
                and answer.type not in _NO_NEIGHBOUR):
            neighbour = neighbour_state(answer.next_hop or destination, answer.oif,
                                        timeout=min(0.5, deadline.remaining()))
        back = None
        if source is not None and not deadline.expired:
            back = _return_path(sock, source, iif, deadline)
    mtu, mtu_from = None, None
    if isinstance(answer, Route) and answer.mtu:
        mtu, mtu_from = answer.mtu, "route"
    elif evidence.interface is not None:
        mtu = _read_int(Path("/sys/class/net") / evidence.interface / "mtu")
        mtu_from = "interface" if mtu is not None else None
    error = evidence.error
    status = evidence.status
    if isinstance(answer, ErrorAck) and answer.errno == errno.EXDEV:
        status, why = "no_route", "the kernel refused the source on this interface (rp_filter)"
    elif iif is not None and status == "no_route" and _read_int(_SYS / iif / "forwarding") == 0:
        why = f"forwarding is off on {iif} (net.ipv4.conf.{iif}.forwarding=0): not routed on"
    return RouteReport(
        destination=destination,
        source_asked=source,
        iif=iif,
        mark=mark,
        status=status,
        route_type=evidence.route_type,
        error=error,
        table=_table_name(table) if table is not None else None,
        rule=rule_text(walk.decided_by) if walk.decided_by else None,
        why=why,
        tried_tables=tuple(_table_name(r.table) for r in walk.tried),
        interface=evidence.interface,
        gateway=evidence.gateway,
        neighbour=neighbour,
        source=evidence.source,
        mtu=mtu,
        mtu_from=mtu_from,
        return_path=back,
        unjudged_rules=tuple(rule_text(r) for r in walk.unjudged),
    )
