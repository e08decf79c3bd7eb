"""Terminal text for firewall explanations and diffs: reads finished values, computes nothing."""

from __future__ import annotations

from netdx.model.firewall import ChainLocation, ChainStep, FirewallMatch, RuleRef


def flow_text(e: FirewallMatch) -> str:
    """`10.0.0.10 → 10.0.0.20:5432/tcp`, with brackets around IPv6 addresses."""
    p = e.packet
    if p is None:
        return "(no flow: the ruleset was not evaluated)"
    dst = f"[{p.daddr}]" if p.family == 6 else p.daddr
    port = f":{p.dport}" if p.dport is not None else ""
    return f"{p.saddr} → {dst}{port}/{p.proto}"


def rule_location(rule: RuleRef) -> str:
    """`inet filter input handle 7` or `ip filter INPUT rule 3 (iptables-legacy)`."""
    if rule.handle is not None:
        return f"{rule.chain_path} handle {rule.handle}"
    return f"{rule.chain_path} rule {rule.position} ({rule.source})"


def chain_text(where: ChainLocation, source: str) -> str:
    """`inet filter input`, or `ip filter INPUT (iptables-legacy)`: a legacy table and the nft
    table of the same name are different tables."""
    legacy = " (iptables-legacy)" if source == "iptables-legacy" else ""
    return f"{where.chain_path}{legacy}"


def _step(s: ChainStep) -> str:
    if s.action == "hook":
        return chain_text(s, s.source)
    if s.action in ("jump", "goto"):
        return f"{s.action} {s.chain}"
    if s.action == "return":
        return f"return to {s.chain}"
    if s.action == "policy":
        return f"policy {s.verdict}"
    if s.action == "unknown":
        return "unknown"
    return str(s.verdict)


def path_text(path: tuple[ChainStep, ...]) -> str:
    """The walk in one line per base chain."""
    lines: list[list[str]] = []
    for s in path:
        if s.action == "hook" or not lines:
            lines.append([])
        lines[-1].append(_step(s))
    return "\n".join(" → ".join(parts) for parts in lines)


def render_explanation(e: FirewallMatch) -> str:
    """The terminal form of one explanation."""
    verdict = e.decision.upper()
    if e.reject_with:
        verdict += f" ({e.reject_with})"
    out = [f"firewall: {verdict}  {flow_text(e)}  [hook {e.hook}: {e.hook_reason}]"]
    if e.rule is not None:
        label = "rule" if e.decision != "unknown" else "at rule"
        out.append(f"{label}: {rule_location(e.rule)}")
        out.append(f"    {e.rule.text}")
        if e.rule.comment:
            out.append(f"    comment: {e.rule.comment}")
    elif e.policy:
        out.append(f"policy: {e.policy}")
    if e.origin is not None:
        out.append(f"{e.origin.tool}: {e.origin.description}")
    for miss in e.near_misses:
        out.append(f"near miss: {rule_location(miss.rule)}: {miss.rule.text}")
        out.append(f"    did not apply: {miss.failed}")
    if e.path:
        out.append("path:")
        out.extend(f"    {line}" for line in path_text(e.path).splitlines())
    for construct in e.unknown:
        out.append(f"unknown: {construct} (not modelled: netdx will not guess)")
    if e.error:
        out.append(f"error: {e.error}")
    for note in e.notes:
        out.append(f"note: {note}")
    return "\n".join(out)
