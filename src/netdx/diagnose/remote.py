"""Rules over the server's side of a check (`CheckEvidence.remote`, read over SSH).

The client's evidence says *how* the connect failed (a reset, silence); the server's says
*why*: the rule that dropped the SYN and its counter, the capture that saw the SYN arrive
(or not), the route back and rp_filter, the listener and its owner. `evaluate` returns at
most one failing finding, the one that explains the client's outcome, in the vocabulary of
docs/causes.md (the cause keeps its meaning; the server names the culprit); every other
server finding comes back as a warning. A rule claims only what the evidence proves: no
"confirmed" without a counter that rose or a capture, no "never arrived" without a capture
that ran whole. The ssh link's own failures are `diagnose.remote_link`'s.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable

from netdx.diagnose import dns, port, remote_service
from netdx.diagnose import server as server_rules
from netdx.diagnose.facts import (
    connected,
    endpoint,
    failure,
    fallback,
    family_fallback,
    first,
    tcp_text,
)
from netdx.diagnose.remote_text import (
    capture_text,
    counter_fix,
    firewall_line,
    on_server,
    rule_remove_fix,
)
from netdx.diagnose.remote_wire import never_arrived, syns_unanswered
from netdx.model import AddressEvidence, CheckEvidence, Finding, TcpConnect
from netdx.model.record import replace
from netdx.model.remote import RemoteEvidence, ServerFirewall

__all__ = [
    "decisive",
    "evaluate",
    "never_arrived",
    "rp_asymmetry_fact",
    "rp_counter_fact",
    "syns_unanswered",
]

# Kernel counters that say the listener dropped SYNs (a full accept or SYN queue).
QUEUE_COUNTERS = ("TcpExtListenOverflows", "TcpExtListenDrops")
RP_COUNTER = "TcpExtIPReversePathFilter"

Rule = Callable[[CheckEvidence, RemoteEvidence], Finding | None]


def _linked(ev: CheckEvidence) -> RemoteEvidence | None:
    """The server's evidence, when the link worked."""
    remote = ev.remote
    return remote if remote is not None and remote.ssh.ok else None


def _failed(ev: CheckEvidence, outcome: str) -> tuple[AddressEvidence, TcpConnect] | None:
    """The first address and its connect, when it failed with `outcome` and no later
    address connected (then the service mismatch, or the client's fallback, is the story)."""
    head = first(ev)
    if ev.port is None or head is None or head.tcp is None or head.tcp.outcome != outcome:
        return None
    if family_fallback(ev) is not None or fallback(ev) is not None:
        return None
    return head, head.tcp


def _port_finding(
    cause: str, summary: str, evidence: list[str], fix: tuple[str, ...], step: str = "port"
) -> Finding:
    return failure(cause=cause, step=step, summary=summary, evidence=evidence, fix=fix)


# --- what the counters prove (the capture's proofs are remote_wire's) ----------------------


def _rose(remote: RemoteEvidence, name: str) -> int:
    counter = remote.counter(name)
    return counter.delta if counter is not None and counter.delta > 0 else 0


def _counted(wall: ServerFirewall) -> bool:
    delta = wall.counter_delta
    return delta is not None and delta > 0


# --- the rules, in the order that decides -------------------------------------------------


def wrong_address(ev: CheckEvidence, remote: RemoteEvidence) -> Finding | None:
    """dns.wrong_address (or dns.stale_cache, when the DNS evidence says the cache is stale):
    the connect failed and the server does not have the address the name gave."""
    head = first(ev)
    if ev.dns is None or ev.dns.source == "literal" or head is None or ev.port is None:
        return None
    if connected(head) or fallback(ev) is not None or remote.owns(head.address) is not False:
        return None
    cap = remote.capture
    if cap is not None and cap.status == "ok" and cap.syns_in(remote.client):
        return None  # the SYNs reach it all the same: a NAT or a load balancer forwards them
    dest = remote.ssh.destination
    owned = ", ".join(remote.addresses[:8])
    fact = f"the server {dest} does not have {head.address} (its addresses: {owned})"
    stale = dns.stale_cache(ev)
    if stale is not None:
        return replace(stale, evidence=(*stale.evidence, fact))
    seen = [tcp_text(head.tcp)] if head.tcp is not None else []
    if cap is not None and cap.status == "ok":
        seen.append(capture_text(cap, remote.client))
    return failure(
        cause="dns.wrong_address",
        summary=f"{ev.dns.name} resolves to {head.address}, an address the server {dest} does "
        "not have: the client talks to another host (or to nobody)",
        evidence=(fact, *seen),
        fix=(
            "compare the record with the server's addresses: "
            f"getent ahosts {shlex.quote(ev.dns.name)}",
            "correct the DNS record (or /etc/hosts line) to one of the server's addresses, "
            "or give the server that address",
        ),
    )


def midway(ev: CheckEvidence, remote: RemoteEvidence) -> Finding | None:
    """path.filtered_midway: the connect timed out and the server's capture proves the SYN
    never arrived; the last router that answered the client's TCP traceroute is named."""
    got = _failed(ev, "timeout")
    if got is None or not never_arrived(remote) or port.local_egress(ev) is not None:
        return None
    head, tcp = got
    assert remote.capture is not None  # never_arrived() holds
    where = endpoint(head.address, tcp.port)
    dest = remote.ssh.destination
    evidence = [tcp_text(tcp), f"on {dest}: {capture_text(remote.capture, remote.client)}"]
    last = head.path.last_answering if head.path is not None else None
    if head.path is not None:
        evidence.append(port.path_text(head.path))
    if last is not None and last.kind == "time_exceeded" and last.address is not None:
        summary = (
            f"the SYN to {where} never reached the server: it is dropped on the way, after "
            f"hop {last.ttl} ({last.address})"
        )
        check = port.midway_check(last.address, last.ttl)
    else:
        summary = f"the SYN to {where} never reached the server: it is dropped on the way"
        check = "find the filtering router: run the check as root for a TCP path trace"
    if port.egress_text(head.egress).startswith("local egress filtering could not"):
        summary += " (or by this host's own output rules, not ruled out without root)"
    return _port_finding(
        "path.filtered_midway",
        summary,
        evidence,
        (f"confirm: traceroute -T -p {tcp.port} -n {shlex.quote(head.address)}", check),
    )


def _dropping(remote: RemoteEvidence) -> ServerFirewall | None:
    wall = remote.firewall
    return wall if wall is not None and wall.match.decision == "drop" else None


def rule_drops(ev: CheckEvidence, remote: RemoteEvidence) -> Finding | None:
    """port.filtered, confirmed: the server's input firewall drops the client's flow and its
    rule counted the SYNs during the check (or the capture saw them arrive unanswered)."""
    return _filtered(ev, remote, confirmed=True)


def rule_may_drop(ev: CheckEvidence, remote: RemoteEvidence) -> Finding | None:
    """port.filtered, a candidate: the server's ruleset drops the flow, but no counter rose
    and no capture proves the SYNs reached it."""
    return _filtered(ev, remote, confirmed=False)


def _ruled(
    ev: CheckEvidence,
    remote: RemoteEvidence,
    wall: ServerFirewall | None,
    outcome: str,
    *,
    proven: bool,
    confirmed: bool,
) -> tuple[AddressEvidence, TcpConnect, ServerFirewall, str, list[str]] | None:
    """The client's connect that failed with `outcome` and the server's rule `wall` that would
    explain it, when the rule's proof is as `confirmed` asks (a confirmed finding needs it, a
    candidate stands only without it): the address, its connect, the rule, the rule's line
    and the first evidence lines (the connect, then the rule as read on the server)."""
    got = _failed(ev, outcome)
    if wall is None or got is None or proven != confirmed:
        return None
    head, tcp = got
    rule = firewall_line(wall)
    return head, tcp, wall, rule, [tcp_text(tcp), f"on {remote.ssh.destination}: {rule}"]


def _filtered(ev: CheckEvidence, remote: RemoteEvidence, *, confirmed: bool) -> Finding | None:
    wall = _dropping(remote)
    proven = wall is not None and (_counted(wall) or bool(syns_unanswered(remote)))
    found = _ruled(ev, remote, wall, "timeout", proven=proven, confirmed=confirmed)
    if found is None or port.local_egress(ev) is not None:
        return None
    head, tcp, wall, rule, evidence = found
    dest = remote.ssh.destination
    state = "confirmed" if confirmed else "a candidate"
    if remote.capture is not None:
        evidence.append(f"on {dest}: {capture_text(remote.capture, remote.client)}")
    fix = [*rule_remove_fix(wall, dest)]
    fix += counter_fix(wall, dest)
    if not confirmed:  # the rule may not be what drops: the listener is the next suspect
        fix.append(on_server(dest, f"ss -tlnp 'sport = :{tcp.port}'"))
    return _port_finding(
        "port.filtered",
        f"no answer from {endpoint(head.address, tcp.port)}: the server's firewall drops the "
        f"SYN ({state}) — {rule}",
        evidence,
        tuple(fix),
    )


def rp_counter_fact(remote: RemoteEvidence) -> str | None:
    """The reverse-path filter's counter rose during the check (None: it did not, or unread)."""
    rose = _rose(remote, RP_COUNTER)
    return f"{RP_COUNTER} +{rose} during this check (nstat)" if rose else None


def rp_asymmetry_fact(remote: RemoteEvidence) -> str | None:
    """The SYN came in on an interface with strict rp_filter while the route back to the
    client leaves by another (None: not so, or not known: no capture, no route)."""
    back = remote.return_path
    if back is None or back.route is None or back.syn_interface is None:
        return None
    out = back.route.interface
    if out is None or out == back.syn_interface or back.rp_filter != 1:
        return None
    via = f" via {back.route.gateway}" if back.route.gateway else ""
    return (
        f"the SYN from {back.client} arrives on {back.syn_interface}, the route back leaves "
        f"by {out}{via}; rp_filter on {back.syn_interface} is 1 (strict: the maximum of all "
        "and the interface)"
    )


def rp_filter(ev: CheckEvidence, remote: RemoteEvidence) -> Finding | None:
    """route.rp_filter: the SYN arrived, the server's strict reverse-path filter dropped it
    because the route back to the client leaves by another interface."""
    got = _failed(ev, "timeout")
    counted, asymmetric = rp_counter_fact(remote), rp_asymmetry_fact(remote)
    facts = [f for f in (counted, asymmetric) if f is not None]
    if got is None or not facts:
        return None
    head, tcp = got
    dest = remote.ssh.destination
    evidence = [tcp_text(tcp), *(f"on {dest}: {f}" for f in facts)]
    if remote.capture is not None:
        evidence.append(f"on {dest}: {capture_text(remote.capture, remote.client)}")
    back = remote.return_path
    iface = back.syn_interface if back is not None else None
    fix: list[str] = []
    if iface is not None:
        name = f"net.ipv4.conf.{iface.replace('.', '/')}.rp_filter=2"
        fix.append(on_server(dest, f"loose reverse-path filtering: sysctl -w {shlex.quote(name)}"))
    if back is not None:
        where = f" dev {shlex.quote(iface)}" if iface is not None else ""
        fix.append(
            on_server(
                dest,
                f"or route the replies back the way the SYN came: "
                f"ip route replace {shlex.quote(back.client)} via GATEWAY{where}",
            )
        )
    fix.append(on_server(dest, "confirm: nstat -az TcpExtIPReversePathFilter"))
    why = (
        "the route back to the client leaves by another interface"
        if asymmetric is not None
        else f"the kernel counted reverse-path drops ({RP_COUNTER}) during this check"
    )
    return _port_finding(
        "route.rp_filter",
        f"the SYN to {endpoint(head.address, tcp.port)} reaches the server, whose strict "
        f"reverse-path filter drops it: {why}",
        evidence,
        tuple(fix),
    )


def _reset_rule(remote: RemoteEvidence) -> ServerFirewall | None:
    wall = remote.firewall
    if wall is None or wall.match.decision != "reject":
        return None
    return wall if wall.match.reject_with == "tcp reset" else None


def reset_rule(ev: CheckEvidence, remote: RemoteEvidence) -> Finding | None:
    """port.refused by a firewall: the reset came from a tcp-reset REJECT rule whose counter
    rose during the check, not from a port nothing listens on."""
    return _refused_by(ev, remote, confirmed=True)


def reset_rule_candidate(ev: CheckEvidence, remote: RemoteEvidence) -> Finding | None:
    """port.refused by a firewall, a candidate: the ruleset rejects with a tcp reset but no
    counter rose (the listener's absence would explain it as well, and is checked first)."""
    return _refused_by(ev, remote, confirmed=False)


def _refused_by(ev: CheckEvidence, remote: RemoteEvidence, *, confirmed: bool) -> Finding | None:
    wall = _reset_rule(remote)
    proven = wall is not None and _counted(wall)
    found = _ruled(ev, remote, wall, "refused", proven=proven, confirmed=confirmed)
    if found is None:
        return None
    head, tcp, wall, rule, evidence = found
    dest = remote.ssh.destination
    if remote.server is not None and remote.server.listeners:
        listening = "; ".join(
            server_rules.listener_text(s, remote.server) for s in remote.server.listeners[:3]
        )
        evidence.append(f"on {dest}: {listening} (the rule answers before it)")
    state = "confirmed" if confirmed else "a candidate"
    return _port_finding(
        "port.refused",
        f"{endpoint(head.address, tcp.port)} refused the connection: a firewall REJECT rule "
        f"on the server answers with a TCP reset ({state}) — {rule}",
        evidence,
        (*rule_remove_fix(wall, dest), *counter_fix(wall, dest)),
    )


def icmp_rule(ev: CheckEvidence, remote: RemoteEvidence) -> Finding | None:
    """firewall.reject_admin / firewall.reject_port_unreachable sent by the target itself,
    with the server's REJECT rule named (confirmed when its counter rose)."""
    head = first(ev)
    wall = remote.firewall
    if head is None or wall is None or wall.match.decision != "reject":
        return None
    if wall.match.reject_with in (None, "tcp reset"):
        return None
    icmp = head.tcp.icmp if head.tcp is not None else None
    if icmp is None or icmp.sender != head.address:
        return None  # a router's ICMP: the server's ruleset is not what answered
    base = port.reject_admin(ev) or port.reject_port_unreachable(ev)
    if base is None:
        return None
    dest = remote.ssh.destination
    state = "confirmed" if _counted(wall) else "a candidate"
    rule = firewall_line(wall)
    # The server named the rule: the client-only "find the REJECT rule" lines would send the
    # reader searching for what is already shown, so the fix is that rule's own.
    return replace(
        base,
        summary=f"{base.summary} ({state}) — {rule}",
        evidence=(*base.evidence, f"on {dest}: {rule}"),
        fix=(*rule_remove_fix(wall, dest), *counter_fix(wall, dest)),
    )


def _server_findings(remote: RemoteEvidence) -> tuple[Finding, ...]:
    if remote.server is None:
        return ()
    return server_rules.evaluate(remote.server)


def server_side(ev: CheckEvidence, remote: RemoteEvidence) -> Finding | None:
    """The server's own rules (`diagnose.server`) on the port's sockets, when one explains how
    the connect failed (nothing listens, loopback only, a full accept queue...), with the
    connect quoted first, as for a port of this host (`port.local_service`)."""
    head = first(ev)
    if head is None or head.tcp is None or ev.port is None or connected(head):
        return None
    if fallback(ev) is not None or family_fallback(ev) is not None:
        return None
    outcome = head.tcp.outcome
    found = next(
        (f for f in _server_findings(remote) if f.severity == "fail" and port.explains(f, outcome)),
        None,
    )
    if found is None:
        return None
    dest = remote.ssh.destination
    return replace(
        found,
        step="port",
        summary=f"on {dest}: {found.summary}",
        evidence=(tcp_text(head.tcp), *found.evidence),
        fix=tuple(on_server(dest, f) for f in found.fix),
    )


def queue_overflow(ev: CheckEvidence, remote: RemoteEvidence) -> Finding | None:
    """app.accept_queue_full from the kernel's counters: the connect timed out while the
    server counted listen overflows or drops during the check (a queue that filled and
    drained again between the two reads still counts)."""
    got = _failed(ev, "timeout")
    rose = {name: _rose(remote, name) for name in QUEUE_COUNTERS}
    if got is None or not any(rose.values()):
        return None
    tcp = got[1]
    dest = remote.ssh.destination
    evidence = [tcp_text(tcp)]
    evidence += [f"on {dest}: {n} +{d} during this check (nstat)" for n, d in rose.items() if d]
    server = remote.server
    if server is not None:
        evidence += [
            f"on {dest}: {server_rules.listener_text(s, server)}" for s in server.listeners
        ]
    return _port_finding(
        "app.accept_queue_full",
        f"the listener of port {tcp.port} on {dest} drops SYNs: its accept queue overflowed "
        "during this check; the application does not accept() fast enough",
        evidence,
        (
            on_server(dest, f"ss -tln 'sport = :{tcp.port}'; nstat -az TcpExtListenOverflows"),
            "find why the application stalls; raise the backlog (listen(), net.core.somaxconn)",
        ),
    )


# The order decides: the address first (a server that does not have it explains nothing
# else), then the wire (never arrived), the rule proven by its counter, the reverse-path
# filter, the listener, and last the rules that are only candidates.
DECIDING: tuple[Rule, ...] = (
    wrong_address,
    midway,
    rule_drops,
    reset_rule,
    icmp_rule,
    remote_service.router_reject,
    rp_filter,
    server_side,
    remote_service.family_listener,
    remote_service.served_by,
    queue_overflow,
    rule_may_drop,
    reset_rule_candidate,
)


def decisive(ev: CheckEvidence) -> Finding | None:
    """The one server finding that explains the client's outcome, if any."""
    remote = _linked(ev)
    if remote is None:
        return None
    return next((f for f in (rule(ev, remote) for rule in DECIDING) if f is not None), None)


def _explained(found: Finding, decided: Finding) -> bool:
    """`found` (a server finding) says what the deciding finding already says."""
    explained = remote_service.EXPLAINED.get(decided.cause, frozenset())
    return found.cause == decided.cause or found.cause in explained


def evaluate(ev: CheckEvidence) -> tuple[Finding, ...]:
    """The deciding server finding (fail) first, then every other server-side finding as a
    warning (a CLOSE-WAIT leak beside a connect that worked, a loopback listener beside a
    rule that dropped the SYN...)."""
    remote = _linked(ev)
    if remote is None:
        return ()
    decided = decisive(ev)
    dest = remote.ssh.destination
    rest = [
        replace(
            f,
            severity="warn",
            step="service",
            summary=f"on {dest}: {f.summary}",
            fix=tuple(on_server(dest, x) for x in f.fix),
        )
        for f in _server_findings(remote)
        # Only the failures: the listener-family notes of `netdx inspect` (IPv4 only...)
        # are the client's to judge, by the addresses it resolved and tried.
        if f.severity == "fail" and (decided is None or not _explained(f, decided))
    ]
    return ((decided,) if decided is not None else ()) + tuple(rest)
