"""The typed ruleset model: tables, chains, rules and the few expression kinds the evaluator
understands, plus the packet it evaluates. Pure values, no I/O.

Both parsers (nft JSON, iptables-save) produce this model. A rule is an ordered tuple of
expressions evaluated left to right like the kernel does: matches (a field compared with a set of
elements), verdicts, verdict maps, ignored side effects (counter, log) and `Unknown` — a
construct the model does not understand, kept with its name so the evaluator can say
"unknown: <construct>" instead of guessing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from netdx.model.firewall import CtState as CtState
from netdx.model.firewall import FlowPacket

# The flow fields and conntrack states are the match model's: a Packet is a FlowPacket.
from netdx.model.literal import Literal  # typing's to mypy; no typing import at run time
from netdx.model.record import field, record, replace

TableFamily = Literal["ip", "ip6", "inet", "arp", "bridge", "netdev"]
Hook = Literal["prerouting", "input", "forward", "output", "postrouting", "ingress", "egress"]
Source = Literal["nft", "iptables-nft", "iptables-legacy"]
VerdictKind = Literal["accept", "drop", "reject", "jump", "goto", "return", "continue"]
MatchOp = Literal["==", "!=", "in"]

# The named base-chain priorities of nft (`priority filter`), which are the classic
# priorities of the iptables tables (its nat table: dstnat before routing, srcnat after).
PRIORITIES: dict[str, int] = {
    "raw": -300,
    "mangle": -150,
    "dstnat": -100,
    "filter": 0,
    "security": 50,
    "srcnat": 100,
}

# The kinds of field values: how a field's elements are parsed and compared.
FieldKind = Literal["addr4", "addr6", "int", "ifname", "flags"]

# Field name → (value kind, protocols the field needs or None). A field whose header the packet
# lacks (a tcp port of a UDP packet, an ip address of an IPv6 packet) makes the rule not match,
# whatever the operator: the kernel's expression "breaks" the rule.
FIELDS: dict[str, FieldKind] = {
    "ip saddr": "addr4",
    "ip daddr": "addr4",
    "ip6 saddr": "addr6",
    "ip6 daddr": "addr6",
    "ip protocol": "int",
    "ip6 nexthdr": "int",
    "meta l4proto": "int",
    "meta nfproto": "int",
    "meta protocol": "int",
    "tcp sport": "int",
    "tcp dport": "int",
    "udp sport": "int",
    "udp dport": "int",
    "th sport": "int",
    "th dport": "int",
    "meta iifname": "ifname",
    "meta oifname": "ifname",
    "meta iif": "ifname",
    "meta oif": "ifname",
    "ct state": "flags",
    "ct status": "flags",
    "tcp flags": "flags",
    "fib daddr type": "flags",
    "fib saddr type": "flags",
}

PROTO_NUMBERS: dict[str, int] = {
    "icmp": 1,
    "igmp": 2,
    "tcp": 6,
    "udp": 17,
    "gre": 47,
    "esp": 50,
    "ah": 51,
    "icmpv6": 58,
    "ipv6-icmp": 58,
    "sctp": 132,
    "udplite": 136,
}
NFPROTO_NUMBERS: dict[str, int] = {"ipv4": 2, "ipv6": 10}
ETHERTYPE_NUMBERS: dict[str, int] = {"ip": 0x0800, "ip6": 0x86DD}


@record
class Interval:
    """A closed range of integers: an address prefix or range, a port, a port range."""

    lo: int
    hi: int

    def contains(self, value: int) -> bool:
        return self.lo <= value <= self.hi


@record
class Name:
    """An interface name (with `wildcard`, a prefix as in `eth*` / `eth+`) or a flag name."""

    text: str
    wildcard: bool = False

    def matches(self, value: str) -> bool:
        return value.startswith(self.text) if self.wildcard else value == self.text


Atom = Interval | Name
# One set element: one atom per field of a (possibly concatenated) key.
Element = tuple[Atom, ...]


@record
class SetRef:
    """A reference to a named set or map of the rule's table (`@name`)."""

    name: str


@record
class Match:
    """`fields` (one, or a concatenation) compared with `elements` or a named set.

    `==` is a membership test (a single value is a one-element set), `!=` its negation, `in`
    a flag test (any of the flags is set).
    """

    fields: tuple[str, ...]
    op: MatchOp
    elements: tuple[Element, ...] | SetRef
    # For `tcp flags & (syn|ack) == syn`: the flags that are tested; the elements' flag names
    # together are the value the masked flags must equal.
    mask: frozenset[str] | None = None


@record
class Verdict:
    """accept, drop, reject (with `reject_with`, e.g. "icmp port-unreachable", "tcp reset"),
    jump/goto (to `target`), return, continue."""

    kind: VerdictKind
    target: str | None = None
    reject_with: str | None = None


@record
class VerdictMap:
    """`key vmap { element : verdict, ... }` or a named verdict map; a miss ends the rule."""

    fields: tuple[str, ...]
    entries: tuple[tuple[Element, Verdict], ...] | SetRef


@record
class Ignored:
    """A statement with no effect on the verdict (counter, log, nflog, comment)."""

    name: str


@record
class Unknown:
    """A construct the model does not understand. `is_match` tells a match (the rule may or may
    not apply) from a statement (the rule's effect is unknown)."""

    construct: str
    is_match: bool = True
    # A header the construct reads (`icmpv6 type` needs ICMPv6, `ip ttl` needs IPv4): nft
    # adds that dependency implicitly, so a packet without the header skips the rule.
    needs_proto: str | None = None
    needs_family: Literal[4, 6] | None = None


Expr = Match | Verdict | VerdictMap | Ignored | Unknown


@record
class Rule:
    """One rule. `handle` is nft's handle; `position` is the 1-based place in its chain (what
    `iptables -L --line-numbers` shows); `text` is how the tool that made it prints it."""

    exprs: tuple[Expr, ...]
    text: str
    position: int
    handle: int | None = None
    comment: str | None = None


@record
class Chain:
    """A chain; base chains have a `hook`, a `priority` and a `policy`."""

    name: str
    rules: tuple[Rule, ...] = ()
    hook: Hook | None = None
    priority: int = 0
    policy: Literal["accept", "drop"] | None = None
    type: str = "filter"
    handle: int | None = None

    @property
    def is_base(self) -> bool:
        return self.hook is not None

    def with_rules(self, rules: Iterable[Rule]) -> Chain:
        """This chain (hook, priority, policy, type, handle) holding `rules`: a parser reads
        a chain's declaration and its rules apart, from one listing or from two tools."""
        return replace(self, rules=tuple(rules))


@record
class NamedSet:
    """A named set (`data` None) or map; a verdict map has `verdicts`. `unknown` names a key or
    data type the model cannot compare (the set then makes any lookup unknown)."""

    name: str
    key_kinds: tuple[FieldKind, ...]
    elements: tuple[Element, ...] = ()
    verdicts: tuple[Verdict, ...] = ()  # for a verdict map: one per element
    is_map: bool = False
    unknown: str | None = None


@record
class Table:
    """A table of one family, from one source (native nft, iptables-nft, legacy iptables)."""

    family: TableFamily
    name: str
    chains: dict[str, Chain] = field(default_factory=dict)
    sets: dict[str, NamedSet] = field(default_factory=dict)
    source: Source = "nft"


@record
class Ruleset:
    """Every table the kernel enforces. `notes` records what the parsers could not read."""

    tables: tuple[Table, ...] = ()
    notes: tuple[str, ...] = ()
    # Sources of what the kernel enforces that could not be read or parsed: the tables that
    # were read cannot settle any flow then, so every evaluation is "unknown".
    unreadable: tuple[str, ...] = ()
    # The host's own addresses and broadcast addresses (from `ip -j addr`), for
    # `fib daddr type` / `-m addrtype`; None when not known.
    local_addresses: frozenset[str] | None = None
    broadcast_addresses: frozenset[str] = frozenset()


@record
class Packet(FlowPacket):
    """The first packet of a flow as the filter sees it (conntrack state `new` by default).

    `iif`/`oif` are interface names (None: no such interface at this hook, or not known);
    `proto` is a protocol name (tcp, udp, icmp, ...); ports are None for portless protocols.
    Those fields are the match's `FlowPacket`, what a reader of the answer is told; the ones
    below are what the walk alone needs.
    """

    ct_status: frozenset[str] = frozenset()
    # False in chains that run before conntrack (priority < -200 on prerouting/output):
    # there the packet has no conntrack entry yet, so `ct state` reads "invalid".
    tracked: bool = True
    # The routing type of each address (local, unicast, multicast, broadcast), as `fib ...
    # type` and `-m addrtype` read it; None when the host's addresses are not known.
    saddr_type: str | None = None
    daddr_type: str | None = None

    @classmethod
    def build(
        cls,
        *,
        saddr: str,
        daddr: str,
        proto: str = "tcp",
        sport: int | None = None,
        dport: int | None = None,
        iif: str | None = None,
        oif: str | None = None,
        ct_state: CtState = "new",
    ) -> Packet:
        """A packet with its family taken from the addresses (which must agree)."""
        src, dst = ipaddress.ip_address(saddr), ipaddress.ip_address(daddr)
        if src.version != dst.version:
            raise ValueError(f"{saddr} and {daddr} are of different IP versions")
        family: Literal[4, 6] = 4 if src.version == 4 else 6
        return cls(
            family=family,
            saddr=str(src),
            daddr=str(dst),
            proto=proto,
            sport=sport,
            dport=dport,
            iif=iif,
            oif=oif,
            ct_state=ct_state,
        )
