"""netdx route's pure parts: RTM_NEWRULE parsing on captured-layout bytes, rule matching as
the kernel does it, the rule walk to the answer's table, and the reject route named."""

from __future__ import annotations

import socket
import struct

from netdx.netlink.attrs import encode_attr
from netdx.netlink.rtnl import Route, route_get_request
from netdx.netlink.rules import RTM_NEWRULE, Rule, parse_rule
from netdx.netlink.wire import encode_message, parse_messages
from netdx.route.explain import Selectors, reject_reason, rule_matches, rule_text, walk_rules


def _rule_bytes() -> bytes:
    # `ip rule add from 10.93.8.1 table 100 priority 1000`, as the kernel dumps it:
    # fib_rule_hdr (family 2, src_len 32, table 100, action 1) + FRA_SRC, FRA_PRIORITY,
    # FRA_TABLE, FRA_PROTOCOL.
    head = struct.pack("=BBBBBBBBI", socket.AF_INET, 0, 32, 0, 100, 0, 0, 1, 0)
    body = (encode_attr(2, bytes([10, 93, 8, 1])) + encode_attr(6, struct.pack("=I", 1000))
            + encode_attr(15, struct.pack("=I", 100)) + encode_attr(21, b"\x03"))
    return encode_message(RTM_NEWRULE, 2, 1, head + body)


def _rule(priority: int, table: int, **kw: object) -> Rule:
    return Rule(family=2, priority=priority, action=kw.pop("action", "lookup"),  # type: ignore[arg-type]
                table=table, **kw)  # type: ignore[arg-type]


MAIN_RULES = (_rule(0, 255), _rule(32766, 254), _rule(32767, 253))


def test_parse_rule_from_wire_bytes() -> None:
    """fib_rule_hdr and FRA attributes decode to the rule `ip rule` prints."""
    rule = parse_rule(parse_messages(_rule_bytes())[0])
    assert (rule.priority, rule.action, rule.table, rule.src, rule.src_len) == (
        1000, "lookup", 100, "10.93.8.1", 32)
    assert rule_text(rule) == "1000: from 10.93.8.1/32 lookup 100"


def test_route_get_request_carries_selectors() -> None:
    """from/iif/mark become RTA_SRC/RTA_IIF/RTA_MARK; lookup_table sets RTM_F_LOOKUP_TABLE."""
    _type, _flags, body = route_get_request("10.0.0.1", src="10.0.9.1", iif=3, mark=7,
                                            lookup_table=True)
    assert body[2] == 32 and struct.unpack_from("=I", body, 8)[0] == 0x1000
    assert encode_attr(2, bytes([10, 0, 9, 1])) in body
    assert encode_attr(3, struct.pack("=I", 3)) in body
    assert encode_attr(16, struct.pack("=I", 7)) in body


def test_rule_matching_like_the_kernel() -> None:
    """A `from` rule needs the source; fwmark honours the mask; iif `lo` is local traffic;
    `not` inverts."""
    src_rule = _rule(100, 100, src="10.0.9.1", src_len=32)
    assert not rule_matches(src_rule, Selectors(dst="1.2.3.4"))
    assert rule_matches(src_rule, Selectors(dst="1.2.3.4", src="10.0.9.1"))
    mark_rule = _rule(100, 100, fwmark=0x10, fwmask=0xF0)
    assert rule_matches(mark_rule, Selectors(dst="1.2.3.4", mark=0x1F))
    assert not rule_matches(mark_rule, Selectors(dst="1.2.3.4", mark=0x20))
    lo_rule = _rule(100, 100, iifname="lo")
    assert rule_matches(lo_rule, Selectors(dst="1.2.3.4"))
    assert not rule_matches(lo_rule, Selectors(dst="1.2.3.4", src="1.1.1.1", iif="eth0"))
    assert rule_matches(_rule(100, 100, src="10.0.9.1", src_len=32, invert=True),
                        Selectors(dst="1.2.3.4"))


def test_walk_finds_the_rule_of_the_answer_table() -> None:
    """The first matching lookup rule naming the answer's table decided; the ones before
    were tried; a matching prohibit rule decides on its own."""
    rules = (MAIN_RULES[0], _rule(1000, 100, src="10.0.9.1", src_len=32), *MAIN_RULES[1:])
    walk = walk_rules(rules, Selectors(dst="1.2.3.4", src="10.0.9.1"), 100)
    assert walk.decided_by is not None and walk.decided_by.priority == 1000
    assert [r.table for r in walk.tried] == [255]
    walk = walk_rules(rules, Selectors(dst="1.2.3.4"), 254)
    assert walk.decided_by is not None and walk.decided_by.priority == 32766
    banned = (_rule(10, 0, action="prohibit", dst="1.2.3.0", dst_len=24), *rules)
    walk = walk_rules(banned, Selectors(dst="1.2.3.4"), None)
    assert walk.decided_by is not None and walk.decided_by.action == "prohibit"


def test_reject_reason_names_the_longest_match() -> None:
    """The blackhole /24 inside a routed /16 of table main is the reason; a /8 elsewhere
    is not considered."""
    routes = (
        Route(family=2, type="unicast", table=254, protocol=3, scope=0, flags=0,
              dst="10.0.0.0", dst_len=16, gateway="10.9.0.1"),
        Route(family=2, type="blackhole", table=254, protocol=3, scope=0, flags=0,
              dst="10.0.5.0", dst_len=24),
        Route(family=2, type="prohibit", table=100, protocol=3, scope=0, flags=0,
              dst="10.0.0.0", dst_len=8),
    )
    found = reject_reason(routes, MAIN_RULES, "10.0.5.9")
    assert found is not None and found[0].priority == 32766
    assert "`blackhole 10.0.5.0/24`" in found[1]
    assert reject_reason(routes, MAIN_RULES, "10.0.6.9") is None
