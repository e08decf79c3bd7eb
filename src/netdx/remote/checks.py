"""The checks `remote.document` applies to a server's document, one small function per shape.

Each takes a JSON value and the place it came from ("owners.holders"), and returns it typed
or raises `DocumentError` naming the place. Sizes are bounded: a hostile server cannot make
netdx build a billion objects or print megabytes of one name.
"""

from __future__ import annotations

import math
import re
import socket
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from netdx.collect.owners import Walk
    from netdx.collect.system import RunResult
    from netdx.model.remote import PacketSeen
    from netdx.model.route import RouteLookup
    from netdx.netlink.diag import DiagSocket
    from netdx.netlink.rtnl import Route
    from netdx.netlink.wire import ErrorAck

MAX_TEXT = 64 << 20  # a 100k-rule ruleset prints a few MiB
MAX_ITEMS = 4_000_000  # sockets of a very busy host, with room
U32 = (1 << 32) - 1
U64 = (1 << 64) - 1
_FLAGS = re.compile(r"[A-Z.]{1,12}|none")  # collect.capture.flags_text


class DocumentError(ValueError):
    """A `netdx.collect/1` document that is malformed or hostile: one line saying where.
    Callers make what depended on it "unknown"."""


def short(value: object) -> str:
    """A value for an error message: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def mapping(value: object, where: str, *, limit: int = MAX_ITEMS) -> Mapping[str, Any]:
    if not isinstance(value, dict) or len(value) > limit:
        raise DocumentError(f"{where}: expected an object, got {short(value)}")
    if not all(isinstance(k, str) for k in value):
        raise DocumentError(f"{where}: keys must be strings")
    return value


def item_list(value: object, where: str, *, limit: int = MAX_ITEMS) -> list[Any]:
    if not isinstance(value, list):
        raise DocumentError(f"{where}: expected a list, got {short(value)}")
    if len(value) > limit:
        raise DocumentError(f"{where}: more than {limit} items")
    return value


def integer(value: object, where: str, *, lo: int = 0, hi: int = U64) -> int:
    if type(value) is not int or not lo <= value <= hi:
        raise DocumentError(f"{where}: expected an integer in [{lo}, {hi}], got {short(value)}")
    return value


def opt_integer(value: object, where: str, *, lo: int = 0, hi: int = U64) -> int | None:
    return None if value is None else integer(value, where, lo=lo, hi=hi)


def number(value: object, where: str) -> float:
    if type(value) not in (int, float) or not math.isfinite(value) or abs(value) > 1e12:  # type: ignore[arg-type]
        raise DocumentError(f"{where}: expected a finite number, got {short(value)}")
    return float(value)  # type: ignore[arg-type]


def boolean(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise DocumentError(f"{where}: expected true or false, got {short(value)}")
    return value


def text(value: object, where: str, *, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise DocumentError(f"{where}: expected a string of at most {limit} characters")
    return value


def opt_text(value: object, where: str, *, limit: int = MAX_TEXT) -> str | None:
    return None if value is None else text(value, where, limit=limit)


def text_list(value: object, where: str, *, limit: int = 4096) -> list[str]:
    return [text(v, where, limit=limit) for v in item_list(value, where, limit=10_000)]


def text_map(value: object, where: str, *, limit: int = MAX_TEXT) -> dict[str, str]:
    return {k: text(v, f"{where}.{k[:40]}", limit=limit) for k, v in mapping(value, where).items()}


def is_ip(value: str) -> bool:
    """An IPv4 or IPv6 address literal (inet_pton: fast for 100k sockets, and a string it
    accepts holds nothing but address characters)."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, value)
        except (OSError, ValueError):
            continue
        return True
    return False


def address(value: object, where: str) -> str:
    if not isinstance(value, str) or len(value) > 64 or not is_ip(value):
        raise DocumentError(f"{where}: expected an IP address, got {short(value)}")
    return value


def opt_address(value: object, where: str) -> str | None:
    return None if value is None else address(value, where)


def _port(value: object, where: str) -> int:
    return integer(value, where, hi=65535)


def _u32(value: object, where: str) -> int:
    return integer(value, where, hi=U32)


def _state(value: object, where: str) -> int:
    return integer(value, where, hi=255)


def _proto(value: object, where: str) -> str:
    if value not in ("tcp", "udp"):
        raise DocumentError(f"{where}: expected tcp or udp, got {short(value)}")
    return str(value)


def _family(value: object, where: str) -> int:
    if value not in (2, 10) or type(value) is not int:
        raise DocumentError(f"{where}: expected family 2 or 10, got {short(value)}")
    return value


def _v6only(value: object, where: str) -> bool | None:
    return None if value is None else boolean(value, where)


def _inode(value: object, where: str) -> int:
    return integer(value, where)


# One check per DiagSocket field, in its order.
_ROW_CHECKS = {
    "proto": _proto, "family": _family, "state": _state, "src": address, "sport": _port,
    "dst": address, "dport": _port, "ifindex": _u32, "rqueue": _u32, "wqueue": _u32,
    "uid": _u32, "inode": _inode, "v6only": _v6only,
}  # fmt: skip


def socket_rows(data: Mapping[str, Any]) -> tuple[DiagSocket, ...]:
    """The `sockets` entry's rows as DiagSocket records (its `fields` must be ours)."""
    from netdx.netlink.diag import DiagSocket

    fields = data.get("fields")
    if fields != list(DiagSocket._fields):
        raise DocumentError(f"sockets.fields: not this netdx's socket fields: {short(fields)}")
    checks = [_ROW_CHECKS[name] for name in fields]
    width = len(checks)
    out = []
    for row in item_list(data.get("rows", []), "sockets.rows"):
        if not isinstance(row, list) or len(row) != width:
            raise DocumentError(f"sockets.rows: expected a list of {width} values")
        values: list[Any] = [
            check(v, "sockets.rows[]") for check, v in zip(checks, row, strict=True)
        ]
        out.append(DiagSocket(*values))
    return tuple(out)


def _pair(value: object, where: str) -> tuple[int, int]:
    items = item_list(value, where, limit=2)
    if len(items) != 2:
        raise DocumentError(f"{where}: expected [pid, fd]")
    return integer(items[0], where, hi=U32), integer(items[1], where, hi=U32)


def _key(key: str, where: str, hi: int = U64) -> int:
    if not key.isascii() or not key.isdigit() or len(key) > 20:
        raise DocumentError(f"{where}: expected a number as key, got {short(key)}")
    return integer(int(key), where, hi=hi)


def walk(data: Mapping[str, Any], wanted: set[int]) -> Walk:
    """The owners entry as the collector's `Walk` (its `wanted` are the dumped inodes)."""
    from netdx.collect.owners import Holder, Unreadable, Walk

    out = Walk(wanted=wanted)
    for key, pair in mapping(data.get("holders", {}), "owners.holders").items():
        out.holders[_key(key, "owners.holders")] = _pair(pair, "owners.holders")
    for key, proc in mapping(data.get("processes", {}), "owners.processes").items():
        pid = _key(key, "owners.processes", U32)
        p = mapping(proc, "owners.processes[]")
        out.processes[pid] = Holder(
            pid=pid,
            command=text(p.get("command"), "owners.processes[].command", limit=256),
            user=text(p.get("user"), "owners.processes[].user", limit=256),
            uid=integer(p.get("uid"), "owners.processes[].uid", lo=-1, hi=U32),
        )
    for key, more in mapping(data.get("shared", {}), "owners.shared").items():
        out.shared[_key(key, "owners.shared")] = [
            _pair(p, "owners.shared[]") for p in item_list(more, "owners.shared[]", limit=65536)
        ]
    for issue in item_list(data.get("unreadable", []), "owners.unreadable", limit=1 << 20):
        i = mapping(issue, "owners.unreadable[]")
        out.issues.append(
            Unreadable(
                pid=integer(i.get("pid"), "owners.unreadable[].pid", hi=U32),
                command=opt_text(i.get("command"), "owners.unreadable[].command", limit=256),
                reason=text(i.get("reason"), "owners.unreadable[].reason", limit=512),
            )
        )
    out.vanished = integer(data.get("vanished", 0), "owners.vanished", hi=U32)
    out.other_ns = integer(data.get("other_namespace", 0), "owners.other_namespace", hi=U32)
    out.complete = boolean(data.get("complete", False), "owners.complete")
    out.notes = text_list(data.get("notes", []), "owners.notes")
    return out


def command_results(data: Mapping[str, Any]) -> dict[tuple[str, ...], RunResult]:
    """The firewall entry's commands as {argv: RunResult}."""
    from netdx.collect.system import RunResult

    out: dict[tuple[str, ...], RunResult] = {}
    for raw in item_list(data.get("commands"), "firewall.commands", limit=64):
        cmd = mapping(raw, "firewall.commands[]")
        argv = tuple(text_list(cmd.get("argv"), "firewall.commands[].argv", limit=256))
        out[argv] = RunResult(
            returncode=opt_integer(cmd.get("returncode"), "firewall.returncode", lo=-255, hi=255),
            stdout=text(cmd.get("stdout", ""), "firewall.stdout"),
            stderr=text(cmd.get("stderr", ""), "firewall.stderr"),
            error=opt_text(cmd.get("error"), "firewall.error", limit=4096),
            missing=boolean(cmd.get("missing", False), "firewall.missing"),
            argv=argv,
        )
    return out


def nft_counters(ruleset: object) -> dict[tuple[str, str, str, int], int]:
    """Packets of each rule with an anonymous `counter` in `nft -j list ruleset` output.
    Only well-formed rules count: the ruleset reader reports the rest."""
    out: dict[tuple[str, str, str, int], int] = {}
    items = ruleset.get("nftables") if isinstance(ruleset, dict) else None
    if not isinstance(items, list):
        return out
    for item in items:
        rule = item.get("rule") if isinstance(item, dict) else None
        if not isinstance(rule, dict):
            continue
        key = (rule.get("family"), rule.get("table"), rule.get("chain"), rule.get("handle"))
        if not all(isinstance(k, str) and len(k) <= 256 for k in key[:3]):
            continue
        if type(key[3]) is not int or not 0 <= key[3] <= U64:
            continue
        exprs = rule.get("expr")
        for expr in exprs if isinstance(exprs, list) else ():
            counter = expr.get("counter") if isinstance(expr, dict) else None
            packets = counter.get("packets") if isinstance(counter, dict) else None
            if type(packets) is int and 0 <= packets <= U64:
                out[(key[0], key[1], key[2], key[3])] = packets  # type: ignore[index]
                break
    return out


def link_names(links: object) -> dict[int, str]:
    """{ifindex: name} of `ip -j addr show` output."""
    out: dict[int, str] = {}
    for link in links if isinstance(links, list) else ():
        if not isinstance(link, dict):
            continue
        index, name = link.get("ifindex"), link.get("ifname")
        if type(index) is int and isinstance(name, str) and 0 < len(name) <= 64:
            out[index] = name
    return out


_ROUTE_FIELDS = {
    "family": _u32, "type": lambda v, w: text(v, w, limit=32), "table": _u32,
    "protocol": _u32, "scope": _u32, "flags": _u32, "dst": opt_address, "oif": None,
    "prefsrc": opt_address, "gateway": opt_address, "via": opt_address, "priority": None,
    "error": _u32, "dst_len": _u32, "iif": None, "src": opt_address, "mtu": None,
}  # fmt: skip


_ROUTE_REQUIRED = {"family", "type", "table", "protocol", "scope", "flags"}


def route_answer(value: object, where: str) -> Route | ErrorAck:
    """The kernel's answer to a route get, as `collect.routes` wrote it: a Route's fields,
    or {errno, name, message} for an error reply."""
    from netdx.netlink.rtnl import Route
    from netdx.netlink.wire import ErrorAck

    raw = mapping(value, where)
    if "errno" in raw:
        return ErrorAck(
            errno=integer(raw.get("errno"), f"{where}.errno", hi=4095),
            message=opt_text(raw.get("message"), f"{where}.message", limit=512),
        )
    if set(raw) - set(_ROUTE_FIELDS) or not set(raw) >= _ROUTE_REQUIRED:
        raise DocumentError(f"{where}: not a route: fields {short(sorted(raw))}")
    values: dict[str, Any] = {
        name: (check(raw[name], f"{where}.{name}") if check else
               opt_integer(raw[name], f"{where}.{name}", hi=U32))
        for name, check in _ROUTE_FIELDS.items() if name in raw
    }  # fmt: skip
    return Route(**values)


def route_lookup(addr: str, lookup: Any, ifnames: Mapping[int, str]) -> RouteLookup:
    """One `routes` lookup as `probes.route.route_evidence` maps the kernel's answer."""
    import dataclasses

    from netdx.model.route import RouteLookup
    from netdx.netlink.rtnl import Neighbour
    from netdx.probes.route import route_evidence

    entry = mapping(lookup, "routes.lookups[]")
    failed = opt_text(entry.get("error"), "routes.error", limit=512)
    if failed is not None:
        return RouteLookup(address=addr, status="error", error=failed)
    answer = route_answer(entry.get("route"), "routes.route")
    found = route_evidence(addr, answer, ifname=ifnames.get)
    hop = entry.get("neighbour")
    if found.status != "ok" or hop is None:
        return found
    where = "routes.neighbour.state"
    state = integer(mapping(hop, "routes.neighbour").get("state"), where, hi=0xFFFF)
    name = Neighbour(family=0, ifindex=0, state=state, flags=0).state_name
    return dataclasses.replace(found, neighbour_state=name)


def packets(value: object, *, limit: int) -> tuple[PacketSeen, ...]:
    """The capture's packets as `PacketSeen` values."""
    from netdx.model.remote import PacketSeen

    out = []
    for raw in item_list(value, "capture.packets", limit=limit):
        p = mapping(raw, "capture.packets[]")
        direction = p.get("direction")
        if direction not in ("in", "out"):
            raise DocumentError(f"capture.packets[].direction: {short(direction)}")
        flags = text(p.get("flags"), "capture.packets[].flags", limit=12)
        if not _FLAGS.fullmatch(flags):
            raise DocumentError(f"capture.packets[].flags: {short(flags)}")
        at_ms = number(p.get("at_ms", 0.0), "capture.packets[].at_ms")
        out.append(
            PacketSeen(
                direction="in" if direction == "in" else "out",
                src=address(p.get("src"), "capture.packets[].src"),
                sport=_port(p.get("sport"), "capture.packets[].sport"),
                dst=address(p.get("dst"), "capture.packets[].dst"),
                dport=_port(p.get("dport"), "capture.packets[].dport"),
                flags=flags,
                ifname=opt_text(p.get("ifname"), "capture.packets[].ifname", limit=64),
                at_ms=at_ms,
            )
        )
    return tuple(out)
