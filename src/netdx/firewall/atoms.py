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


# Every reject type in its one spelling ("<icmp|icmpv6|icmpx> <type>" or "tcp reset"), with
# the ICMP (type, code) it sends by IP version (what a prober sees: an icmp or icmpv6 type
# for its own version, icmpx, nft's NFT_REJECT_ICMPX_*, for both) and iptables' spellings
# of it (`--reject-with`).
_REJECTS: dict[str, tuple[dict[int, tuple[int, int]], tuple[str, ...]]] = {
    "icmp net-unreachable": ({4: (3, 0)}, ("icmp-net-unreachable",)),
    "icmp host-unreachable": ({4: (3, 1)}, ("icmp-host-unreachable",)),
    "icmp prot-unreachable": ({4: (3, 2)}, ("icmp-proto-unreachable",)),
    "icmp port-unreachable": ({4: (3, 3)}, ("icmp-port-unreachable",)),
    "icmp net-prohibited": ({4: (3, 9)}, ("icmp-net-prohibited",)),
    "icmp host-prohibited": ({4: (3, 10)}, ("icmp-host-prohibited",)),
    "icmp admin-prohibited": ({4: (3, 13)}, ("icmp-admin-prohibited",)),
    "icmpv6 no-route": ({6: (1, 0)}, ("icmp6-no-route", "no-route")),
    "icmpv6 admin-prohibited": ({6: (1, 1)}, ("icmp6-adm-prohibited", "adm-prohibited")),
    "icmpv6 addr-unreachable": ({6: (1, 3)}, ("icmp6-addr-unreachable", "addr-unreach")),
    "icmpv6 port-unreachable": ({6: (1, 4)}, ("icmp6-port-unreachable", "port-unreach")),
    "icmpv6 policy-fail": ({6: (1, 5)}, ("icmp6-policy-fail",)),
    "icmpv6 reject-route": ({6: (1, 6)}, ("icmp6-reject-route",)),
    "icmpx no-route": ({4: (3, 0), 6: (1, 0)}, ()),
    "icmpx port-unreachable": ({4: (3, 3), 6: (1, 4)}, ()),
    "icmpx host-unreachable": ({4: (3, 1), 6: (1, 3)}, ()),
    "icmpx admin-prohibited": ({4: (3, 13), 6: (1, 1)}, ()),
    "tcp reset": ({}, ("tcp-reset",)),
}
_IPTABLES_REJECT: dict[str, str] = {
    spelling: name for name, (_, spellings) in _REJECTS.items() for spelling in spellings
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


def reject_icmp(reject_with: str, version: int) -> tuple[int, int] | None:
    """The ICMP (type, code) a reject sends for a packet of `version`; None for `tcp reset`
    or a type that does not apply to the version."""
    sends = _REJECTS.get(reject_with)
    return None if sends is None else sends[0].get(version)
