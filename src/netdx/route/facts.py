"""The facts `netdx route` judges, typed: the `route` collector's data (`collect.route_get`),
read here or on a server over SSH, checked the way every server document is checked
(`DocumentError` naming the place when a value has the wrong shape)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from netdx.model.record import record
from netdx.netlink.rtnl import Route
from netdx.netlink.rules import Rule
from netdx.netlink.wire import ErrorAck
from netdx.remote import checks as c
from netdx.remote.checks import DocumentError

_NAME = 64  # an interface name, with room
_RULE_FIELDS: dict[str, Callable[[Any, str], Any]] = {
    "family": lambda v, w: c.integer(v, w, hi=255),
    "priority": lambda v, w: c.integer(v, w, hi=c.U32),
    "action": lambda v, w: c.text(v, w, limit=32),
    "table": lambda v, w: c.integer(v, w, hi=c.U32),
    "invert": c.boolean,
    "src": c.opt_address,
    "src_len": lambda v, w: c.integer(v, w, hi=128),
    "dst": c.opt_address,
    "dst_len": lambda v, w: c.integer(v, w, hi=128),
    "tos": lambda v, w: c.integer(v, w, hi=255),
    "iifname": lambda v, w: c.opt_text(v, w, limit=_NAME),
    "oifname": lambda v, w: c.opt_text(v, w, limit=_NAME),
    "fwmark": lambda v, w: c.opt_integer(v, w, hi=c.U32),
    "fwmask": lambda v, w: c.opt_integer(v, w, hi=c.U32),
    "goto": lambda v, w: c.opt_integer(v, w, hi=c.U32),
    "suppress_prefixlen": lambda v, w: c.opt_integer(v, w, hi=c.U32),
    "l3mdev": c.boolean,
    "other_selectors": lambda v, w: tuple(c.text_list(v, w, limit=_NAME)),
}
_RULE_REQUIRED = {"family", "priority", "action", "table"}


@record
class RouteFacts:
    """What the kernel and the interface files said about one flow. `rules` is empty when
    they could not be read, `routes` is read only when the kernel refused the lookup,
    `neighbour` is the next hop's NUD state name (None: no entry or not asked)."""

    answer: Route | ErrorAck
    rules: tuple[Rule, ...]
    routes: tuple[Route, ...]
    neighbour: str | None
    back: Route | ErrorAck | None
    ifnames: Mapping[int, str]
    sysctls: Mapping[str, int | None]
    mtu: Mapping[str, int | None]

    def ifname(self, index: int | None) -> str | None:
        return None if index is None else self.ifnames.get(index)


def _rule(value: object, where: str) -> Rule:
    raw = c.mapping(value, where)
    if set(raw) - set(_RULE_FIELDS) or not set(raw) >= _RULE_REQUIRED:
        raise DocumentError(f"{where}: not a rule: fields {c.short(sorted(raw))}")
    values: dict[str, Any] = {
        k: check(raw[k], f"{where}.{k}") for k, check in _RULE_FIELDS.items() if k in raw
    }
    return Rule(**values)


def _route(value: object, where: str) -> Route:
    found = c.route_answer(value, where)
    if isinstance(found, ErrorAck):
        raise DocumentError(f"{where}: expected a route, got an error reply")
    return found


def _ints(value: object, where: str) -> dict[str, int | None]:
    return {
        c.text(k, where, limit=2 * _NAME): c.opt_integer(v, f"{where}.{k[:40]}", hi=c.U32)
        for k, v in c.mapping(value, where, limit=64).items()
    }


def unknown_iif(data: Mapping[str, Any]) -> str | None:
    """The `--iif` the host has no interface of, when that is the collector's answer."""
    return c.opt_text(data.get("unknown_iif"), "route.unknown_iif", limit=_NAME)


def route_facts(data: Mapping[str, Any]) -> RouteFacts:
    """The checked facts of one `route` collector entry's data."""
    from netdx.netlink.rtnl import Neighbour

    rules = data.get("rules")
    routes = data.get("routes")
    back = data.get("back")
    state = data.get("neighbour")
    neighbour = None
    if state is not None:
        state = c.integer(state, "route.neighbour", hi=0xFFFF)
        neighbour = Neighbour(family=0, ifindex=0, state=state, flags=0).state_name
    ifnames = {
        c.integer(int(k) if k.isdigit() else k, "route.ifnames", hi=c.U32):
            c.text(v, "route.ifnames[]", limit=_NAME)
        for k, v in c.mapping(data.get("ifnames"), "route.ifnames", limit=16).items()
    }  # fmt: skip
    return RouteFacts(
        answer=c.route_answer(data.get("answer"), "route.answer"),
        rules=() if rules is None else tuple(
            _rule(r, "route.rules[]") for r in c.item_list(rules, "route.rules")),
        routes=() if routes is None else tuple(
            _route(r, "route.routes[]") for r in c.item_list(routes, "route.routes")),
        neighbour=neighbour,
        back=None if back is None else c.route_answer(back, "route.back"),
        ifnames=ifnames,
        sysctls=_ints(data.get("sysctls"), "route.sysctls"),
        mtu=_ints(data.get("mtu"), "route.mtu"),
    )  # fmt: skip
