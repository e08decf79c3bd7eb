"""How the server's evidence is quoted: the deciding rule with its counter, the capture, and
the commands to run on the server.

Every command printed here is safe to paste: a name read from the server (a table, a chain,
an interface, a rule's text) goes through `shlex.quote`, since a server's ruleset is data
netdx did not choose.
"""

from __future__ import annotations

import re
import shlex

from netdx.diagnose.facts import ms
from netdx.model.remote import ServerFirewall, WireCapture

__all__ = [
    "capture_text",
    "counter_fix",
    "counter_text",
    "firewall_line",
    "on_server",
    "rule_remove_fix",
]

# The verdict statement at the end of an nft rule, before an optional comment: where a
# `counter` statement goes so that it counts only the packets the rule matched.
_NFT_VERDICT = re.compile(r"\s(drop|accept|reject(?: with [^\"]*?)?)(\s+comment\s.*)?$")


def on_server(dest: str, text: str) -> str:
    """A fix line to run on the server (DEST is ssh's destination, as the user gave it)."""
    return f"on {dest}: {text}"


def counter_text(wall: ServerFirewall) -> str:
    """'counter +3 during this check', or why there is no count."""
    delta = wall.counter_delta
    if delta is None:
        if wall.match.rule is None:
            return "a chain policy has no counter"
        return "the rule has no counter: whether it saw the SYNs is unknown"
    if delta > 0:
        return f"counter +{delta} during this check"
    return (
        f"counter +0 during this check (it did not count the client's SYNs; "
        f"{wall.counter_after} in all)"
    )


_COUNTER_VALUES = re.compile(r"\bcounter packets \d+ bytes \d+")


def firewall_line(wall: ServerFirewall) -> str:
    """The server's answer for the flow in one line: where, the rule, the counter.

    `inet filter input handle 7: ip saddr 10.0.0.10 tcp dport 5432 drop, counter +3 during
    this check`."""
    match = wall.match
    if match.decision == "unknown":
        why = match.error or "; ".join(match.unknown) or "; ".join(match.notes) or "not evaluated"
        return f"the {match.hook} rules: unknown ({why})"
    origin = f" — {match.origin.description}" if match.origin else ""
    if match.rule is not None:
        # The rule's own counter values are the first reading's: the delta says more.
        text = _COUNTER_VALUES.sub("counter", match.rule.text)
        return f"{match.where}: {text}, {counter_text(wall)}{origin}"
    return f"{match.policy or match.hook + ' policy ' + match.decision} (no rule matched){origin}"


def rule_remove_fix(wall: ServerFirewall, dest: str) -> tuple[str, ...]:
    """The command that removes the deciding rule on the server (review it first)."""
    rule = wall.match.rule
    if rule is None:
        if wall.match.policy is None:
            return ()
        policy = wall.match.policy
        return (
            on_server(dest, f"the chain's policy decides: allow the flow before it ({policy})"),
        )
    q = shlex.quote
    if rule.source == "nft" and rule.handle is not None:
        cmd = (
            f"nft delete rule {q(rule.family)} {q(rule.table)} {q(rule.chain)} handle {rule.handle}"
        )
    else:
        tool = "ip6tables" if rule.family == "ip6" else "iptables"
        legacy = "-legacy" if rule.source == "iptables-legacy" else ""
        cmd = f"{tool}{legacy} -t {q(rule.table)} -D {q(rule.chain)} {rule.position}"
    origin = wall.match.origin
    via = f" (it comes from {origin.description}: change it there)" if origin else ""
    return (on_server(dest, f"remove or narrow the rule after review: {cmd}{via}"),)


def counter_fix(wall: ServerFirewall, dest: str) -> tuple[str, ...]:
    """When the deciding nft rule has no counter: the command that gives it one (the same
    rule with `counter` before its verdict), so that the next check can confirm it."""
    rule = wall.match.rule
    if rule is None or wall.has_counter:
        return ()
    q = shlex.quote
    if rule.source != "nft" or rule.handle is None:
        tool = "ip6tables" if rule.family == "ip6" else "iptables"
        return (
            on_server(dest, f"read the rule's counters: {tool} -t {q(rule.table)} -L "
                      f"{q(rule.chain)} -v -n --line-numbers"),
        )  # fmt: skip
    found = _NFT_VERDICT.search(rule.text)
    if found is None:
        return (
            on_server(dest, "give the rule a counter (`counter` before its verdict) to confirm "
                      f"it: nft -a list chain {q(rule.family)} {q(rule.table)} {q(rule.chain)}"),
        )  # fmt: skip
    counted = f"{rule.text[: found.start()]} counter{rule.text[found.start() :]}"
    return (
        on_server(
            dest,
            "give the rule a counter to confirm it, then check again: nft replace rule "
            f"{q(rule.family)} {q(rule.table)} {q(rule.chain)} handle {rule.handle} {q(counted)}",
        ),
    )


def capture_text(cap: WireCapture, client: str | None) -> str:
    """What the server's packet socket saw of the client's flow, in one line."""
    if cap.status == "not_root":
        return "capture: not root on the server: whether the SYN arrived is unknown"
    if cap.status == "error":
        why = cap.reason or "no reason given"
        return f"capture failed ({why}): whether the SYN arrived is unknown"
    who = f" from {client}" if client else ""
    window = f" in {ms(cap.window_ms)}" if cap.window_ms is not None else ""
    lost = []
    if cap.kernel_dropped:
        lost.append(f"the socket lost {cap.kernel_dropped} packet(s)")
    if cap.truncated:
        lost.append("more packets than kept")
    caveat = f" ({', '.join(lost)}: an absence is unproven)" if lost else ""
    syns = cap.syns_in(client)
    if not syns:
        return f"capture: no SYN{who} arrived on port {cap.port}{window}{caveat}"
    ifaces = sorted({p.ifname for p in syns if p.ifname})
    on = f" on {', '.join(ifaces)}" if ifaces else ""
    answers = cap.answers_out(client)
    synacks = sum(1 for p in answers if p.is_synack)
    resets = sum(1 for p in answers if p.is_reset)
    replied = []
    if synacks:
        replied.append(_count(synacks, "SYN-ACK"))
    if resets:
        replied.append(_count(resets, "reset"))
    back = f"{' and '.join(replied)} sent back" if replied else "no answer"
    return f"capture: {_count(len(syns), 'SYN')}{who} arrived{on}{window}, {back}{caveat}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
