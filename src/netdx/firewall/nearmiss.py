"""Near misses: when a flow is dropped or rejected, the accept rules on its path that fail on
exactly one match — usually the rule the user meant to match ("ip saddr @pg_clients: 10.0.0.30
is not in it"). Pure; reads the ruleset and a finished evaluation."""

from __future__ import annotations

from netdx.firewall.evaluate import Evaluation, rule_ref
from netdx.firewall.matching import Undecided, match_holds
from netdx.firewall.model import Match, Packet, Rule, Ruleset, SetRef, Table, Verdict
from netdx.model.firewall import NearMiss

_LIMIT = 3


def _packet_value(field: str, packet: Packet) -> str:
    values = {
        "saddr": packet.saddr,
        "daddr": packet.daddr,
        "dport": str(packet.dport),
        "sport": str(packet.sport),
        "iifname": str(packet.iif),
        "oifname": str(packet.oif),
        "iif": str(packet.iif),
        "oif": str(packet.oif),
        "state": packet.ct_state,
        "l4proto": packet.proto,
        "protocol": packet.proto,
        "nexthdr": packet.proto,
    }
    return values.get(field.rsplit(" ", 1)[-1], "?")


def _describe(m: Match, packet: Packet) -> str:
    fields = " . ".join(m.fields)
    have = " . ".join(_packet_value(f, packet) for f in m.fields)
    if isinstance(m.elements, SetRef):
        where = f"@{m.elements.name}"
        return f"{fields}: {have} is {'' if m.op == '!=' else 'not '}in {where}"
    return f"{fields} {m.op} …: the packet has {have}"


def _single_failure(rule: Rule, table: Table, packet: Packet, evaluation: Evaluation) -> str | None:
    """The one failing match of an accept rule for this flow's port ("the rule for this
    service, but not for this client"), or None."""
    if not any(isinstance(e, Verdict) and e.kind == "accept" for e in rule.exprs):
        return None
    failures, port_holds = [], False
    for expr in rule.exprs:
        if isinstance(expr, Match):
            try:
                holds = match_holds(expr, table, packet, evaluation.hook)
            except Undecided:
                return None
            if not holds:
                failures.append(expr)
            port_holds = port_holds or (holds and any(f.endswith("dport") for f in expr.fields))
    if len(failures) != 1 or not port_holds:
        return None
    if any(f.endswith(("dport", "l4proto", "protocol", "nexthdr")) for f in failures[0].fields):
        return None
    return _describe(failures[0], packet)


def near_misses(evaluation: Evaluation, ruleset: Ruleset, packet: Packet) -> tuple[NearMiss, ...]:
    """Up to three accept rules on the path of a drop/reject that failed on one match."""
    if evaluation.decision not in ("drop", "reject"):
        return ()
    # By source too: the legacy `ip filter INPUT` is not the nft one the walk went through.
    visited = {
        (s.source, s.family, s.table, s.chain) for s in evaluation.path if s.action != "unknown"
    }
    found: list[NearMiss] = []
    for table in ruleset.tables:
        for chain in table.chains.values():
            if (table.source, table.family, table.name, chain.name) not in visited:
                continue
            for rule in chain.rules:
                failed = _single_failure(rule, table, packet, evaluation)
                if failed is not None:
                    found.append(NearMiss(rule=rule_ref(table, chain, rule), failed=failed))
                if len(found) >= _LIMIT:
                    return tuple(found)
    return tuple(found)
