"""Values both parsers share: turning printed values (addresses, prefixes, ranges, ports,
protocol and interface names, flags) into atoms, and reject types into one spelling."""

from __future__ import annotations

import functools
import socket

from netdx.firewall.model import (
    ETHERTYPE_NUMBERS,
    NFPROTO_NUMBERS,
    PROTO_NUMBERS,
    Atom,
    FieldKind,
    Interval,
    Name,
)


class AtomError(ValueError):
    """A printed value the model cannot read for its field kind."""


@functools.lru_cache(maxsize=65536)
def address_interval(text: str, version: int) -> Interval:
    """`a.b.c.d`, `a.b.c.d/len` (also with a non-canonical host part) as an interval.

    inet_pton instead of ipaddress: a 10,000-rule ruleset has 10,000 addresses to read."""
    address, _, length = text.partition("/")
    family, bits = (socket.AF_INET, 32) if version == 4 else (socket.AF_INET6, 128)
    try:
        value = int.from_bytes(socket.inet_pton(family, address), "big")
        prefix = int(length) if length else bits
    except (OSError, ValueError) as exc:
        raise AtomError(f"not an IPv{version} address: {text!r}") from exc
    if not 0 <= prefix <= bits:
        raise AtomError(f"bad prefix length: {text!r}")
    host = (1 << (bits - prefix)) - 1
    return Interval(lo=value & ~host, hi=value | host)


def address_range(lo: str, hi: str, version: int) -> Interval:
    """An address range `lo-hi` as an interval."""
    return Interval(lo=address_interval(lo, version).lo, hi=address_interval(hi, version).hi)


def number(text: str | int, kind_hint: str = "") -> int:
    """A number, a protocol name (tcp), an nfproto (ipv4) or an ethertype (ip)."""
    if isinstance(text, int):
        return text
    lowered = text.lower()
    for table in (PROTO_NUMBERS, NFPROTO_NUMBERS, ETHERTYPE_NUMBERS):
        if lowered in table:
            return table[lowered]
    try:
        return int(text, 0)
    except ValueError as exc:
        raise AtomError(f"not a number{kind_hint}: {text!r}") from exc


def scalar_atom(kind: FieldKind, value: str | int) -> Atom:
    """One printed scalar for a field of `kind`."""
    if kind in ("addr4", "addr6"):
        version = 4 if kind == "addr4" else 6
        if isinstance(value, int):
            raise AtomError(f"not an address: {value!r}")
        if "-" in value and "/" not in value and kind == "addr4":
            lo, hi = value.split("-", 1)
            return address_range(lo, hi, version)
        return address_interval(value, version)
    if kind == "int":
        n = number(value)
        return Interval(lo=n, hi=n)
    text = str(value)
    if kind == "ifname":
        # nft prints a wildcard as `eth*` (a literal star as `eth\*`); iptables as `eth+`.
        if text.endswith("\\*"):
            return Name(text=text[:-2] + "*")
        if text.endswith(("*", "+")):
            return Name(text=text[:-1], wildcard=True)
        return Name(text=text)
    return Name(text=text)


def range_atom(kind: FieldKind, lo: str | int, hi: str | int) -> Atom:
    """A printed range `lo-hi` for a field of `kind` (ports, numbers, addresses)."""
    if kind in ("addr4", "addr6"):
        return address_range(str(lo), str(hi), 4 if kind == "addr4" else 6)
    if kind == "int":
        return Interval(lo=number(lo), hi=number(hi))
    raise AtomError(f"a range of {kind} values is not modelled")


# Reject types in one spelling: "<icmp|icmpv6|icmpx> <type>" or "tcp reset".
_IPTABLES_REJECT: dict[str, str] = {
    "icmp-net-unreachable": "icmp net-unreachable",
    "icmp-host-unreachable": "icmp host-unreachable",
    "icmp-port-unreachable": "icmp port-unreachable",
    "icmp-proto-unreachable": "icmp prot-unreachable",
    "icmp-net-prohibited": "icmp net-prohibited",
    "icmp-host-prohibited": "icmp host-prohibited",
    "icmp-admin-prohibited": "icmp admin-prohibited",
    "icmp6-no-route": "icmpv6 no-route",
    "no-route": "icmpv6 no-route",
    "icmp6-adm-prohibited": "icmpv6 admin-prohibited",
    "adm-prohibited": "icmpv6 admin-prohibited",
    "icmp6-addr-unreachable": "icmpv6 addr-unreachable",
    "addr-unreach": "icmpv6 addr-unreachable",
    "icmp6-port-unreachable": "icmpv6 port-unreachable",
    "port-unreach": "icmpv6 port-unreachable",
    "icmp6-policy-fail": "icmpv6 policy-fail",
    "icmp6-reject-route": "icmpv6 reject-route",
    "tcp-reset": "tcp reset",
}


def iptables_reject(name: str, version: int) -> str:
    """The canonical reject type of an iptables `--reject-with` value."""
    if name in _IPTABLES_REJECT:
        return _IPTABLES_REJECT[name]
    raise AtomError(f"REJECT --reject-with {name}")


def default_reject(family: str) -> str:
    """What `reject` without `with` sends in a table of `family`."""
    return {"ip": "icmp port-unreachable", "ip6": "icmpv6 port-unreachable"}.get(
        family, "icmpx port-unreachable"
    )


# ICMP (type, code) each reject type sends, by IP version: what a prober sees.
_ICMP4 = {
    "net-unreachable": (3, 0),
    "host-unreachable": (3, 1),
    "prot-unreachable": (3, 2),
    "port-unreachable": (3, 3),
    "net-prohibited": (3, 9),
    "host-prohibited": (3, 10),
    "admin-prohibited": (3, 13),
}
_ICMP6 = {
    "no-route": (1, 0),
    "admin-prohibited": (1, 1),
    "addr-unreachable": (1, 3),
    "port-unreachable": (1, 4),
    "policy-fail": (1, 5),
    "reject-route": (1, 6),
}
# icmpx: one name for both versions (nft's NFT_REJECT_ICMPX_*).
_ICMPX = {
    "no-route": ((3, 0), (1, 0)),
    "port-unreachable": ((3, 3), (1, 4)),
    "host-unreachable": ((3, 1), (1, 3)),
    "admin-prohibited": ((3, 13), (1, 1)),
}


def reject_icmp(reject_with: str, version: int) -> tuple[int, int] | None:
    """The ICMP (type, code) a reject sends for a packet of `version`; None for `tcp reset`
    or a type that does not apply to the version."""
    kind, _, name = reject_with.partition(" ")
    if kind == "icmp" and version == 4:
        return _ICMP4.get(name)
    if kind == "icmpv6" and version == 6:
        return _ICMP6.get(name)
    if kind == "icmpx" and name in _ICMPX:
        return _ICMPX[name][0 if version == 4 else 1]
    return None
