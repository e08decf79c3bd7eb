"""Naming a decision in the words of the tool that made the rule: ufw, firewalld, Docker.

These tools leave recognisable chain names: ufw's `ufw-user-input` (one iptables rule per
`ufw` command, a tcp and a udp twin when no proto was given), firewalld's
`filter_IN_<zone>_allow` chains in `table inet firewalld`, Docker's `DOCKER-USER`, `DOCKER`
and `DOCKER-ISOLATION-STAGE-*`. The result is one sentence, or None for a plain rule.
"""

from __future__ import annotations

import ipaddress
import re

from netdx.firewall.evaluate import Evaluation, RuleRef
from netdx.firewall.model import Interval, Match, Rule, Ruleset, Verdict
from netdx.model.firewall import Origin

_UFW_ACTIONS = {"drop": "deny", "accept": "allow", "reject": "reject"}
_UFW_USER = re.compile(r"^ufw6?-user-(input|output|forward)$")
# nftables backend: filter_IN_public_allow; iptables backend (older firewalld): IN_public_allow.
_FIREWALLD_ZONE = re.compile(
    r"^(filter_)?(IN|FWD|FWDI|FWDO|OUT)_(?P<zone>.+?)(_(pre|log|deny|allow|post))?$"
)
_DIRECTIONS = {"input": "in", "output": "out", "forward": "routed"}


def origin_of(evaluation: Evaluation, ruleset: Ruleset) -> Origin | None:
    """The ufw / firewalld / Docker reading of the decision, when one applies."""
    chains = [s.chain for s in evaluation.path]
    rule = evaluation.rule
    if rule is not None and (_UFW_USER.match(rule.chain) or rule.chain.startswith("ufw")):
        return _ufw(rule, ruleset)
    if rule is None and any(c.startswith(("ufw-", "ufw6-")) for c in chains):
        return Origin(
            tool="ufw",
            description=f"ufw default {evaluation.hook} policy: "
            f"{'deny' if evaluation.decision == 'drop' else evaluation.decision}",
        )
    if any(_FIREWALLD_ZONE.match(c) for c in chains) or (rule and rule.table == "firewalld"):
        return _firewalld(evaluation, chains)
    if rule is not None and rule.chain.startswith("DOCKER"):
        return _docker(rule)
    return None


def _chain_rules(ref: RuleRef, ruleset: Ruleset) -> tuple[Rule, ...]:
    """The rules of the chain `ref` lives in: of its own table, by source too (a legacy
    `ip filter` beside the iptables-nft one has other chains)."""
    for table in ruleset.tables:
        if (table.source, table.family, table.name) == (ref.source, ref.family, ref.table):
            chain = table.chains.get(ref.chain)
            return chain.rules if chain is not None else ()
    return ()


def _rule_model(ref: RuleRef, ruleset: Ruleset) -> Rule | None:
    rules = _chain_rules(ref, ruleset)
    return rules[ref.position - 1] if 0 < ref.position <= len(rules) else None


def _atom_text(match: Match) -> str:
    if not isinstance(match.elements, tuple) or len(match.elements) != 1:
        return "?"
    atom = match.elements[0][0]
    if not isinstance(atom, Interval):
        return atom.text
    if "addr" in match.fields[0]:
        v4 = match.fields[0].startswith("ip ")
        lo = ipaddress.IPv4Address(atom.lo) if v4 else ipaddress.IPv6Address(atom.lo)
        span = atom.hi - atom.lo + 1
        if span == 1:
            return str(lo)
        return f"{lo}/{lo.max_prefixlen - span.bit_length() + 1}"
    return str(atom.lo) if atom.lo == atom.hi else f"{atom.lo}:{atom.hi}"


def _ufw(ref: RuleRef, ruleset: Ruleset) -> Origin:
    model = _rule_model(ref, ruleset)
    user = _UFW_USER.match(ref.chain)
    if model is None or not user:
        return Origin(
            tool="ufw",
            description=f"ufw built-in rule in {ref.chain} "
            "(from /etc/ufw/before.rules or after.rules)",
        )
    parts: dict[str, str] = {}
    action = "limit" if "ufw-user-limit" in ref.text else ""
    for expr in model.exprs:
        if isinstance(expr, Match) and expr.op == "==":
            parts[expr.fields[0].split(" ", 1)[1]] = _atom_text(expr)
        elif isinstance(expr, Verdict):
            action = action or _UFW_ACTIONS.get(expr.kind, expr.kind)
    direction = _DIRECTIONS[user.group(1)]
    words = [f"ufw rule: {action or 'deny'}"]
    if direction != "in":
        words.append(direction)
    iface = parts.get("iifname") or parts.get("oifname")
    if iface:
        words.append(f"on {iface}")
    words.append(f"from {parts.get('saddr', 'any')}")
    words.append(f"to {parts.get('daddr', 'any')}")
    if "dport" in parts:
        words.append(f"port {parts['dport']}")
    proto = parts.get("l4proto")
    if proto and not _has_twin(ref, ruleset):
        words.append(f"proto {'tcp' if proto == '6' else 'udp' if proto == '17' else proto}")
    return Origin(tool="ufw", description=" ".join(words))


def _has_twin(ref: RuleRef, ruleset: Ruleset) -> bool:
    """ufw turns a rule without proto into a tcp and a udp twin on adjacent lines."""
    twin = ref.text.replace("-p tcp", "-p udp").replace("-m tcp", "-m udp")
    if twin == ref.text:
        twin = ref.text.replace("-p udp", "-p tcp").replace("-m udp", "-m tcp")
    return any(rule.text == twin for rule in _chain_rules(ref, ruleset))


def _firewalld(evaluation: Evaluation, chains: list[str]) -> Origin:
    zones = [m["zone"] for c in chains if (m := _FIREWALLD_ZONE.match(c))]
    zone = zones[-1] if zones else None
    rule = evaluation.rule
    where = f"zone {zone}" if zone else "firewalld"
    if rule is not None and rule.chain.endswith("_allow"):
        return Origin(tool="firewalld", description=f"firewalld {where} allows it: {rule.text}")
    if rule is not None and rule.chain.endswith("_deny"):
        return Origin(
            tool="firewalld", description=f"firewalld {where} rich rule denies it: {rule.text}"
        )
    if evaluation.decision in ("reject", "drop") and rule is not None and zone:
        return Origin(
            tool="firewalld",
            description=f"firewalld {where}: no service, port or "
            f"rich rule allows this flow, so the zone's default target "
            f"{evaluation.decision}s it",
        )
    return Origin(
        tool="firewalld", description=f"firewalld rule in {rule.chain if rule else where}"
    )


def _docker(ref: RuleRef) -> Origin:
    if ref.chain == "DOCKER-USER":
        text = "Docker: DOCKER-USER rule (yours: Docker runs it before its own rules)"
    elif ref.chain.startswith("DOCKER-ISOLATION"):
        text = "Docker network isolation: traffic between Docker networks is dropped"
    elif ref.chain == "DOCKER":
        text = "Docker: a published container port"
    else:
        text = f"Docker rule in {ref.chain}"
    return Origin(tool="docker", description=text)
