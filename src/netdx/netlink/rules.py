"""rtnetlink policy rules (`ip rule`), declared as data: the fib_rule_hdr header, the FRA
attribute table (numbers from linux/fib_rules.h), the dump request and the parser.
No I/O here; `lookup.get_rules` does the dump over a Transport.
"""

from __future__ import annotations

from . import csocket as socket  # socket.py without its enums (csocket says why)
from ._compat import value
from .attrs import (
    AttrSpec,
    asciiz,
    attr,
    decode_record,
    ip_address,
    member,
    raw,
    struct_format,
    u8,
    u32,
)
from .rtnl import RTN_NAMES, RtHead, table_id
from .wire import NLM_F_DUMP, NLM_F_REQUEST, NlMsg, unpack_message

RTM_NEWRULE = 32
RTM_GETRULE = 34

FIB_RULE_INVERT = 0x2

# enum fr_act, named as `ip rule` prints them: lookup, goto and nop are a rule's own; the
# kernel numbers blackhole, unreachable and prohibit as the route types (FR_ACT_BLACKHOLE =
# RTN_BLACKHOLE...), and `ip rule` prints those with the route type names.
FR_ACT_NAMES: dict[int, str] = {1: "lookup", 2: "goto", 3: "nop"} | {
    n: RTN_NAMES[n] for n in (6, 7, 8)
}


@value
class FibRuleHdr(RtHead):
    """struct fib_rule_hdr: the fixed header of a rule message (rtmsg's first five members,
    then two reserved bytes where rtmsg has protocol and scope, and the action in its type)."""

    action: int = member("B", pad="2x")  # after res1, res2
    flags: int = member("I")


FIB_RULE_HDR = struct_format("fib_rule_hdr", FibRuleHdr)

FRA: dict[int, AttrSpec] = {
    1: AttrSpec("FRA_DST", ip_address),
    2: AttrSpec("FRA_SRC", ip_address),
    3: AttrSpec("FRA_IIFNAME", asciiz),
    4: AttrSpec("FRA_GOTO", u32),
    6: AttrSpec("FRA_PRIORITY", u32),
    10: AttrSpec("FRA_FWMARK", u32),
    11: AttrSpec("FRA_FLOW", u32),
    12: AttrSpec("FRA_TUN_ID", raw),
    13: AttrSpec("FRA_SUPPRESS_IFGROUP", u32),
    14: AttrSpec("FRA_SUPPRESS_PREFIXLEN", u32),
    15: AttrSpec("FRA_TABLE", u32),
    16: AttrSpec("FRA_FWMASK", u32),
    17: AttrSpec("FRA_OIFNAME", asciiz),
    18: AttrSpec("FRA_PAD", raw),
    19: AttrSpec("FRA_L3MDEV", u8),
    20: AttrSpec("FRA_UID_RANGE", raw),
    21: AttrSpec("FRA_PROTOCOL", u8),
    22: AttrSpec("FRA_IP_PROTO", u8),
    23: AttrSpec("FRA_SPORT_RANGE", raw),
    24: AttrSpec("FRA_DPORT_RANGE", raw),
    25: AttrSpec("FRA_DSCP", u8),
}


@value
class Rule:
    """One RTM_NEWRULE message: a policy routing rule, as `ip rule` lists it."""

    family: int
    priority: int
    action: str
    table: int
    invert: bool = False
    src: str | None = attr("FRA_SRC")
    src_len: int = 0
    dst: str | None = attr("FRA_DST")
    dst_len: int = 0
    tos: int = 0
    iifname: str | None = attr("FRA_IIFNAME")
    oifname: str | None = attr("FRA_OIFNAME")
    fwmark: int | None = attr("FRA_FWMARK")
    fwmask: int | None = attr("FRA_FWMASK")
    goto: int | None = attr("FRA_GOTO")
    suppress_prefixlen: int | None = None
    l3mdev: bool = False
    # Selectors this reader does not evaluate (uid, ports, ip proto, tunnel id, dscp):
    # a rule carrying one cannot be matched with confidence.
    other_selectors: tuple[str, ...] = ()


_UNJUDGED = ("FRA_UID_RANGE", "FRA_SPORT_RANGE", "FRA_DPORT_RANGE", "FRA_IP_PROTO",
             "FRA_TUN_ID", "FRA_DSCP")


def parse_rule(msg: NlMsg) -> Rule:
    """Decode one RTM_NEWRULE message."""
    head, attrs = unpack_message(msg, RTM_NEWRULE, "RTM_NEWRULE", FIB_RULE_HDR, FRA)
    names = attrs.names()
    return decode_record(
        Rule,
        head,
        attrs,
        priority=attrs.get_int("FRA_PRIORITY") or 0,
        action=FR_ACT_NAMES.get(head.action, str(head.action)),
        table=table_id(head, attrs, "FRA_TABLE"),
        invert=bool(head.flags & FIB_RULE_INVERT),
        suppress_prefixlen=_suppress(attrs.get_int("FRA_SUPPRESS_PREFIXLEN")),
        l3mdev=bool(attrs.get_int("FRA_L3MDEV")),
        other_selectors=tuple(n for n in _UNJUDGED if n in names),
    )


def _suppress(length: int | None) -> int | None:
    # The kernel reports -1 (0xffffffff) for "not set".
    return None if length is None or length == 0xFFFFFFFF else length


def rule_dump_request(family: int = socket.AF_INET) -> tuple[int, int, bytes]:
    """(type, flags, payload) of `ip rule list` for one address family."""
    return RTM_GETRULE, NLM_F_REQUEST | NLM_F_DUMP, FIB_RULE_HDR.pack(FibRuleHdr(family=family))
