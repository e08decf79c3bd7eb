"""`netdx route`'s report from the facts of one flow: the kernel's route (with its table),
the rules that led there, the next hop's neighbour state, the MTU, and rp_filter for the
return path. The facts are read by the `route` collector (`collect.route_get`), here or on
a server over SSH, so both report alike; the rule matching is in explain.py."""

from __future__ import annotations

import dataclasses
import errno
from typing import Any

from netdx.budget import Deadline
from netdx.model.record import record
from netdx.netlink import ErrorAck, Route
from netdx.netlink.rtnl import RT_TABLE_NAMES
from netdx.probes.route import route_evidence
from netdx.route.explain import Selectors, reject_reason, rule_text, walk_rules
from netdx.route.facts import RouteFacts

_RP_NAMES = {0: "off", 1: "strict", 2: "loose"}
_NO_NEIGHBOUR = frozenset({"local", "broadcast", "multicast", "anycast"})


@record
class ReturnPath:
    """rp_filter for a packet from `source` arriving on `iif`: the mode, and which
    interface the route back to `source` leaves by."""

    mode: str  # off / strict / loose (the max of conf/all and conf/IIF, as the kernel uses)
    iif: str | None
    back_via: str | None  # the interface of the route back to the source
    ok: bool
    note: str


@record
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


def query(destination: str, *, source: str | None, iif: str | None, mark: int | None) -> (
    dict[str, Any]
):
    """The `route` collector's query for one flow (it travels as data)."""
    return {"destination": destination, "source": source, "iif": iif, "mark": mark}


def read_here(flow: dict[str, Any], deadline: Deadline) -> dict[str, Any]:
    """The `route` collector's data for `flow`, read in this process's network namespace."""
    from netdx.collect.route_get import facts
    from netdx.collect.system import LocalHost

    return facts(LocalHost(), flow, deadline)


def rp_filter_mode(facts: RouteFacts, iif: str | None) -> str:
    """The rp_filter the kernel applies on `iif`: max(conf/all, conf/IIF)."""
    values = [facts.sysctls.get("all/rp_filter")]
    if iif is not None:
        values.append(facts.sysctls.get(f"{iif}/rp_filter"))
    return _RP_NAMES.get(max((v for v in values if v is not None), default=0), "unknown")


def _return_path(facts: RouteFacts, source: str, iif: str | None) -> ReturnPath | None:
    back = facts.back
    if back is None:
        return None
    mode = rp_filter_mode(facts, iif)
    back_via = facts.ifname(back.oif) if isinstance(back, Route) else None
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
    """Read the facts here and judge them; ValueError for an --iif this host lacks."""
    from netdx.route.facts import route_facts, unknown_iif

    data = read_here(query(destination, source=source, iif=iif, mark=mark), deadline)
    if unknown_iif(data) is not None:
        raise ValueError(f"no interface {iif!r} here")
    return judge(route_facts(data), destination, source=source, iif=iif, mark=mark)


def judge(
    facts: RouteFacts,
    destination: str,
    *,
    source: str | None,
    iif: str | None,
    mark: int | None,
) -> RouteReport:
    """The report of the facts read for this flow (pure)."""
    flow = Selectors(dst=destination, src=source, iif=iif, mark=mark or 0)
    answer = facts.answer
    table = answer.table if isinstance(answer, Route) else None
    walk = walk_rules(facts.rules, flow, table)
    evidence = route_evidence(destination, answer, ifname=facts.ifname)
    why = walk.why
    if isinstance(answer, ErrorAck) and walk.decided_by is None:
        rejected = reject_reason(facts.routes, walk.tried, destination)
        if rejected is not None:
            walk = dataclasses.replace(walk, decided_by=rejected[0], why=rejected[1])
            why = walk.why
    neighbour = None
    if (isinstance(answer, Route) and evidence.status == "ok" and answer.oif is not None
            and answer.type not in _NO_NEIGHBOUR):
        neighbour = facts.neighbour
    back = None if source is None else _return_path(facts, source, iif)
    mtu, mtu_from = None, None
    if isinstance(answer, Route) and answer.mtu:
        mtu, mtu_from = answer.mtu, "route"
    elif evidence.interface is not None:
        mtu = facts.mtu.get(evidence.interface)
        mtu_from = "interface" if mtu is not None else None
    error = evidence.error
    status = evidence.status
    if isinstance(answer, ErrorAck) and answer.errno == errno.EXDEV:
        status, why = "no_route", "the kernel refused the source on this interface (rp_filter)"
    elif iif is not None and status == "no_route" and facts.sysctls.get(f"{iif}/forwarding") == 0:
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
