"""Which policy rule sent a lookup to its table, matched the way the kernel matches
(fib_rule_match + fib4_rule_match/fib6_rule_match). Pure: rules and selectors in, a
`RuleWalk` out.

The kernel's answer names the table the route came from (RTA_TABLE with
RTM_F_LOOKUP_TABLE); walking the rules in priority order, the first matching `lookup`
rule that names that table is the one that sent the packet there. Matching `lookup` rules
before it were tried and fell through (no route there, a throw, or a suppressor).
"""

from __future__ import annotations

import ipaddress

from netdx.model.record import record
from netdx.netlink.rtnl import RT_TABLE_NAMES, Route
from netdx.netlink.rules import Rule

_REJECT_ACTIONS = frozenset({"blackhole", "unreachable", "prohibit"})
# Locally generated packets are looked up with the loopback device as input interface.
_LOCAL_IIF = "lo"


@record
class Selectors:
    """The flow a lookup is for: what the rules' selectors are compared with."""

    dst: str
    src: str | None = None
    iif: str | None = None  # None: a locally generated packet
    mark: int = 0


@record
class RuleWalk:
    """The rules that mattered, in order: those tried before the decision, and the decision
    (the rule that sent the lookup to the answer's table, or a rule that rejected it)."""

    tried: tuple[Rule, ...]
    decided_by: Rule | None
    why: str
    unjudged: tuple[Rule, ...] = ()  # matching rules with selectors this reader cannot judge


def _prefix_match(rule_addr: str | None, length: int, addr: str | None) -> bool:
    if rule_addr is None or length == 0:
        return True
    if addr is None:
        addr = "::" if ":" in rule_addr else "0.0.0.0"  # no source given: the kernel uses 0
    network = ipaddress.ip_network(f"{rule_addr}/{length}", strict=False)
    return ipaddress.ip_address(addr) in network


def rule_matches(rule: Rule, flow: Selectors) -> bool:
    """True when the kernel would apply `rule` to `flow` (invert included)."""
    match = True
    if rule.iifname is not None and rule.iifname != (flow.iif or _LOCAL_IIF):
        match = False
    elif rule.oifname is not None or rule.l3mdev:
        match = False  # route get names no output device; VRF rules need one
    elif rule.fwmark is not None or rule.fwmask is not None:
        mask = 0xFFFFFFFF if rule.fwmask is None else rule.fwmask
        match = ((flow.mark ^ (rule.fwmark or 0)) & mask) == 0
    if match:
        match = _prefix_match(rule.src, rule.src_len, flow.src) and _prefix_match(
            rule.dst, rule.dst_len, flow.dst
        )
    return match != rule.invert


def _selector_text(rule: Rule) -> str:
    parts = []
    if rule.src is not None:
        parts.append(f"from {rule.src}/{rule.src_len}")
    if rule.dst is not None:
        parts.append(f"to {rule.dst}/{rule.dst_len}")
    if rule.iifname is not None:
        parts.append(f"iif {rule.iifname}")
    if rule.fwmark is not None:
        parts.append(f"fwmark {rule.fwmark:#x}")
    text = " ".join(parts) or "from all"
    return f"not {text}" if rule.invert else text


def rule_text(rule: Rule) -> str:
    """The rule as `ip rule` prints it: `100: from 10.0.0.1/32 lookup 100`."""
    table = RT_TABLE_NAMES.get(rule.table, str(rule.table))
    action = f"lookup {table}" if rule.action == "lookup" else rule.action
    if rule.action == "goto":
        action = f"goto {rule.goto}"
    return f"{rule.priority}: {_selector_text(rule)} {action}"


def walk_rules(rules: tuple[Rule, ...], flow: Selectors, table: int | None) -> RuleWalk:
    """Follow the rules in priority order for `flow`; `table` is the table the kernel's
    answer came from (None when it answered with an error: no route)."""
    tried: list[Rule] = []
    unjudged: list[Rule] = []
    goto: int | None = None
    for rule in rules:
        if goto is not None and rule.priority < goto:
            continue
        goto = None
        if not rule_matches(rule, flow):
            continue
        if rule.other_selectors:
            unjudged.append(rule)
        if rule.action == "goto" and rule.goto is not None:
            goto = rule.goto
        elif rule.action in _REJECT_ACTIONS:
            return RuleWalk(
                tried=tuple(tried),
                decided_by=rule,
                why=f"rule {rule.priority} matches and is a {rule.action} rule",
                unjudged=tuple(unjudged),
            )
        elif rule.action == "lookup":
            if table is not None and rule.table == table:
                return RuleWalk(
                    tried=tuple(tried),
                    decided_by=rule,
                    why=_why(rule, tried),
                    unjudged=tuple(unjudged),
                )
            tried.append(rule)
    why = (
        "no matching rule leads to the answer's table"
        if table is not None
        else "every matching rule's table was tried and none gave a usable route"
    )
    return RuleWalk(tried=tuple(tried), decided_by=None, why=why, unjudged=tuple(unjudged))


def _why(rule: Rule, tried: list[Rule]) -> str:
    what = _selector_text(rule)
    reason = f"rule {rule.priority} ({what}) is the first matching rule whose table has a route"
    if tried:
        fell = ", ".join(RT_TABLE_NAMES.get(r.table, str(r.table)) for r in tried)
        reason += f"; table(s) {fell} were tried first and had none"
    return reason


def best_match(routes: tuple[Route, ...], table: int, dst: str) -> Route | None:
    """The longest-prefix route of `table` that covers `dst` (the one a lookup there finds;
    metrics and TOS aside), or None."""
    address = ipaddress.ip_address(dst)
    best: Route | None = None
    for route in routes:
        if route.table != table:
            continue
        base = route.dst or ("::" if address.version == 6 else "0.0.0.0")
        if ipaddress.ip_address(base).version != address.version:
            continue
        network = ipaddress.ip_network(f"{base}/{route.dst_len}", strict=False)
        if address in network and (best is None or route.dst_len > best.dst_len):
            best = route
    return best


def reject_reason(
    routes: tuple[Route, ...], tried: tuple[Rule, ...], dst: str
) -> tuple[Rule, str] | None:
    """For a lookup the kernel refused: the first tried table whose best route for `dst` is
    a reject route (blackhole, prohibit, unreachable, throw), named with its prefix."""
    for rule in tried:
        found = best_match(routes, rule.table, dst)
        if found is None:
            continue
        if found.type in ("blackhole", "prohibit", "unreachable"):
            table = RT_TABLE_NAMES.get(rule.table, str(rule.table))
            prefix = f"{found.dst or 'default'}/{found.dst_len}" if found.dst else "default"
            return rule, (
                f"rule {rule.priority} sends the lookup to table {table}, where "
                f"`{found.type} {prefix}` is the best match"
            )
    return None
