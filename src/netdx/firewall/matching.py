"""Matching one rule against one packet: the packet's value for each field, set and verdict
map lookups, and the rule's verdict. `Undecided` is raised when a construct or a value the
model does not know decides whether the rule applies."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from netdx.firewall.atoms import number
from netdx.firewall.model import (
    Element,
    Hook,
    Interval,
    Match,
    Name,
    NamedSet,
    Packet,
    Rule,
    SetRef,
    Table,
    Unknown,
    Verdict,
    VerdictMap,
)
from netdx.model.record import replace

# Interfaces present at each stage: a rule on a missing one never matches; one the caller did
# not give is unknown.
_HAS_IIF = frozenset({"prerouting", "input", "forward"})
_HAS_OIF = frozenset({"forward", "output", "postrouting"})


class Undecided(Exception):
    """Raised inside the walk when a construct cannot be decided (caught in this module)."""

    def __init__(self, construct: str) -> None:
        super().__init__(construct)
        self.construct = construct


_MISSING = object()  # the packet does not carry the field: the rule does not match
Value = int | str | frozenset[str] | object


def _field_value(name: str, packet: Packet, stage: Hook) -> Value:
    """The packet's value for a field; `_MISSING` when absent; raises when not known."""
    v4 = packet.family == 4
    proto_number = number(packet.proto)
    if name in ("ip saddr", "ip daddr", "ip6 saddr", "ip6 daddr"):
        if v4 != name.startswith("ip "):
            return _MISSING
        return int(ipaddress.ip_address(packet.saddr if name.endswith("saddr") else packet.daddr))
    if name in ("ip protocol", "ip6 nexthdr"):
        return proto_number if v4 == (name == "ip protocol") else _MISSING
    if name == "meta l4proto":
        return proto_number
    if name == "meta nfproto":
        return 2 if v4 else 10
    if name == "meta protocol":
        return 0x0800 if v4 else 0x86DD
    if name.endswith(("sport", "dport")):
        return _port(name, packet)
    if name in ("meta iifname", "meta iif", "meta oifname", "meta oif"):
        inbound = name.startswith("meta ii")
        present = stage in (_HAS_IIF if inbound else _HAS_OIF)
        value = packet.iif if inbound else packet.oif
        if not present:
            return _MISSING
        if value is None:
            raise Undecided(
                f"{name} (the {'input' if inbound else 'output'} interface is not given)"
            )
        return value
    if name == "ct state":
        return frozenset({packet.ct_state if packet.tracked else "invalid"})
    if name == "ct status":
        return packet.ct_status if packet.tracked else _MISSING
    if name in ("fib daddr type", "fib saddr type"):
        kind = packet.daddr_type if name == "fib daddr type" else packet.saddr_type
        if kind is None:
            raise Undecided(f"{name} (the host's addresses are not known)")
        return frozenset({kind})
    if name == "tcp flags":
        if packet.proto != "tcp":
            return _MISSING
        # The first packet of a new TCP flow is a SYN; later ones carry ACK.
        return frozenset({"syn"} if packet.ct_state == "new" else {"ack"})
    raise Undecided(name)


def _port(name: str, packet: Packet) -> Value:
    proto = name.split(" ", 1)[0]
    has_ports = packet.proto in ("tcp", "udp", "sctp", "udplite", "dccp")
    if (proto == "th" and not has_ports) or (proto != "th" and packet.proto != proto):
        return _MISSING
    value = packet.sport if name.endswith("sport") else packet.dport
    if value is None:
        which = "source" if name.endswith("sport") else "destination"
        raise Undecided(f"{name} (the packet's {which} port is not given)")
    return value


def _atom_hits(atom: Interval | Name, value: Value) -> bool:
    if isinstance(atom, Interval):
        return isinstance(value, int) and atom.lo <= value <= atom.hi
    if isinstance(value, str):
        return atom.matches(value)
    return isinstance(value, frozenset) and frozenset({atom.text}) == value


def _element_hits(element: Element, values: tuple[Value, ...]) -> bool:
    return all(_atom_hits(a, v) for a, v in zip(element, values, strict=True))


def _set(table: Table, ref: SetRef) -> NamedSet:
    named = table.sets.get(ref.name)
    if named is None:
        raise Undecided(f"set @{ref.name} (not in the ruleset)")
    if named.unknown:
        raise Undecided(f"set @{ref.name}: {named.unknown}")
    return named


def _values(fields: tuple[str, ...], packet: Packet, stage: Hook) -> tuple[Value, ...] | None:
    values = tuple(_field_value(f, packet, stage) for f in fields)
    return None if any(v is _MISSING for v in values) else values


def _loopback_only(m: Match) -> bool:
    return isinstance(m.elements, tuple) and all(
        isinstance(e[0], Name) and e[0].text == "lo" and not e[0].wildcard for e in m.elements
    )


def _off_loopback(m: Match, packet: Packet) -> Packet | None:
    """`iif lo` for a packet whose interface was not given: only a packet between two local
    addresses travels over lo, so for any other the answer is known — not lo."""
    field = m.fields[0] if len(m.fields) == 1 else ""
    if field in ("meta iifname", "meta iif") and packet.iif is None:
        local = packet.saddr_type == "local"
    elif field in ("meta oifname", "meta oif") and packet.oif is None:
        local = packet.daddr_type == "local"
    else:
        return None
    if local or not _loopback_only(m):
        return None
    return replace(packet, iif=packet.iif or "(not lo)", oif=packet.oif or "(not lo)")


def match_holds(m: Match, table: Table, packet: Packet, stage: Hook) -> bool:
    """Whether one match holds for the packet (raises `Undecided` when it cannot tell)."""
    packet = _off_loopback(m, packet) or packet
    values = _values(m.fields, packet, stage)
    if values is None:
        return False
    elements = _set(table, m.elements).elements if isinstance(m.elements, SetRef) else m.elements
    if m.mask is not None:
        masked = values[0] & m.mask if isinstance(values[0], frozenset) else frozenset()
        wanted = frozenset(a.text for e in elements for a in e if isinstance(a, Name))
        return (masked == wanted) != (m.op == "!=")
    if m.op == "in":  # a flag test: any listed flag is set
        flags = values[0]
        hit = isinstance(flags, frozenset) and any(
            isinstance(e[0], Name) and e[0].text in flags for e in elements
        )
    else:
        hit = any(_element_hits(e, values) for e in elements)
    return hit if m.op != "!=" else not hit


def _vmap_verdict(vm: VerdictMap, table: Table, packet: Packet, stage: Hook) -> Verdict | None:
    values = _values(vm.fields, packet, stage)
    if values is None:
        return None
    pairs: Iterable[tuple[Element, Verdict]]
    if isinstance(vm.entries, SetRef):
        named = _set(table, vm.entries)
        pairs = zip(named.elements, named.verdicts, strict=True)
    else:
        pairs = vm.entries
    return next((v for e, v in pairs if _element_hits(e, values)), None)


def rule_verdict(rule: Rule, table: Table, packet: Packet, stage: Hook) -> Verdict | None:
    """The verdict `rule` gives `packet` (None: no match, or a match without a verdict).

    Raises `Undecided` when an unmodelled construct decides it. An unknown *match* only
    matters when every known match of the rule holds and the rule has an effect.
    """
    pending: str | None = None
    for expr in rule.exprs:
        if isinstance(expr, Match):
            try:
                if not match_holds(expr, table, packet, stage):
                    return None
            except Undecided as exc:  # a later known match may still rule the rule out
                pending = pending or exc.construct
        elif isinstance(expr, Unknown):
            if not _header_present(expr, packet):
                return None
            if not expr.is_match:
                raise Undecided(pending or expr.construct)
            pending = pending or expr.construct
        elif isinstance(expr, Verdict | VerdictMap):
            verdict = (
                expr if isinstance(expr, Verdict) else _vmap_verdict(expr, table, packet, stage)
            )
            if verdict is None or not _reject_applies(verdict, packet):
                return None  # a verdict-map miss ends the rule
            if pending:
                raise Undecided(pending)
            if verdict.kind != "continue":
                return verdict
    return None


def _header_present(expr: Unknown, packet: Packet) -> bool:
    if expr.needs_family is not None and expr.needs_family != packet.family:
        return False
    return expr.needs_proto is None or expr.needs_proto == packet.proto


def _reject_applies(verdict: Verdict, packet: Packet) -> bool:
    """nft adds a hidden dependency to a typed reject (`meta l4proto tcp` for a tcp reset,
    `meta nfproto ipv4` for an icmp type in an inet table) and does not print it: a packet
    it does not fit skips the rule."""
    if verdict.kind != "reject" or verdict.reject_with is None:
        return True
    kind = verdict.reject_with.split(" ", 1)[0]
    if kind == "tcp":
        return packet.proto == "tcp"
    return not (kind == "icmp" and packet.family == 6) and not (
        kind == "icmpv6" and packet.family == 4
    )
