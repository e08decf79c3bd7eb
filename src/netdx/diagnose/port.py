"""Port rules: what the TCP connect to the first address says (reset, silence, or ICMP).

A reset means nothing listens; silence means something drops the SYN (here, on the way, or
at the target); an ICMP error names the host or router whose firewall rejects it. All these
rules step aside when a later address of the other family connected: that is the service
mismatch of `diagnose.service`, which names the real cause.
"""

from __future__ import annotations

from collections.abc import Collection

from netdx.diagnose import server
from netdx.diagnose.facts import (
    PROHIBITED_KINDS,
    UNREACHABLE_KINDS,
    alive,
    connected,
    echo_text,
    endpoint,
    fallback,
    fallback_finding,
    family_fallback,
    first,
    hop_distance,
    sender_role,
    tcp_text,
)
from netdx.diagnose.shell import quote
from netdx.model import (
    AddressEvidence,
    CheckEvidence,
    EgressCheck,
    Finding,
    FirewallMatch,
    Hop,
    IcmpError,
    PathTrace,
    TcpConnect,
)
from netdx.model.record import replace


def _failed_first(ev: CheckEvidence) -> tuple[AddressEvidence, TcpConnect] | None:
    """The first address and its failed connect, when a port rule may speak about it."""
    head = first(ev)
    if ev.port is None or head is None or head.tcp is None or head.tcp.outcome == "connected":
        return None
    if family_fallback(ev) is not None:
        return None
    return head, head.tcp


def _finding(
    ev: CheckEvidence, cause: str, summary: str, evidence: list[str], fix: tuple[str, ...]
) -> Finding:
    """A port finding: fail, or warn when a later address of the same family connected."""
    return fallback_finding(
        ev,
        cause=cause,
        step="port",
        summary=summary,
        evidence=evidence,
        fix=fix,
        note="connected",
    )


def path_text(path: PathTrace) -> str:
    """One line quoting a TCP-SYN path trace: each TTL and who answered."""
    hops: list[str] = []
    silent: list[int] = []
    for hop in sorted(path.hops, key=lambda h: h.ttl):
        if hop.kind == "silent":
            silent.append(hop.ttl)
            continue
        hops += _silent_run(silent)
        silent = []
        hops.append(f"{hop.ttl} {hop.address or '?'} ({hop.kind})")
    hops += _silent_run(silent)
    end = "reached the target" if path.reached else "did not reach the target"
    return f"path of TCP SYNs to {endpoint(path.address, path.port)}: {', '.join(hops)}; {end}"


def path_unreachable(ev: CheckEvidence, a: AddressEvidence) -> Hop | None:
    """The router's ICMP unreachable that ended the SYN trace while the connect timed out.

    A Linux router answers host-unreachable only once its ARP/ND for the host has failed
    (about 3 s): the connect has given up by then, but the trace's SYNs, sent later, meet
    the failed neighbour entry and get the router's answer. A dead host, not a firewall."""
    if ev.port is None or a.tcp is None or a.tcp.outcome != "timeout":
        return None
    path = a.path
    last = path.last_answering if path is not None and not path.reached else None
    if last is None or last.kind != "unreachable" or last.icmp is None:
        return None
    return last if last.icmp.kind in UNREACHABLE_KINDS else None


def _silent_run(ttls: list[int]) -> list[str]:
    """TTLs that got no answer, as one item: '3 *' or '2-16 *'."""
    if not ttls:
        return []
    return [f"{ttls[0]} *" if len(ttls) == 1 else f"{ttls[0]}-{ttls[-1]} *"]


def egress_text(egress: EgressCheck | None) -> str:
    """One line on whether this host's own output filter drops the SYN."""
    if egress is None or egress.status == "unknown":
        why = f" ({egress.reason})" if egress is not None and egress.reason else ""
        return f"local egress filtering could not be ruled out without root{why}"
    if egress.status == "blocked":
        return (
            f"a raw SYN to {endpoint(egress.address, egress.port)} failed at once with "
            f"{egress.errno or 'EPERM'}: this host's output filter drops it"
        )
    return f"a raw SYN to {endpoint(egress.address, egress.port)} left this host (egress clear)"


def refused(ev: CheckEvidence) -> Finding | None:
    """port.refused: the first address answered the SYN with a reset."""
    if _local_fail(ev) is not None:
        return None  # the server-side finding says the same, with the listener named
    got = _failed_first(ev)
    if got is None or got[1].outcome != "refused":
        return None
    head, tcp = got
    where = endpoint(head.address, tcp.port)
    reset = _reset_beside_listener(ev, head, tcp)
    if reset is not None:
        return reset
    return _finding(
        ev,
        "port.refused",
        f"{where} refused the connection: the host is up and nothing listens on port {tcp.port}",
        [tcp_text(tcp)],
        (
            f"on the server, list the listener: ss -tlnp 'sport = :{tcp.port}'",
            "start the service, or bind it to this address (0.0.0.0 / [::], not 127.0.0.1)",
        ),
    )


def _reset_beside_listener(
    ev: CheckEvidence, head: AddressEvidence, tcp: TcpConnect
) -> Finding | None:
    """This host's own address refused while a listener there accepts it: not "nothing
    listens" but a REJECT with tcp-reset in its input rules (named when they were read)."""
    found = head.server
    if found is None:
        return None
    listener = next((s for s in found.listeners if server.accepts(s, head.address)), None)
    if listener is None:
        return None
    wall = head.firewall
    listens = server.listener_text(listener, found)
    where = endpoint(head.address, tcp.port)
    evidence = [tcp_text(tcp), listens]
    if wall is not None:
        evidence.append(firewall_text(wall))
    if wall is not None and wall.hook == "input" and wall.decision == "reject":
        why = "this host's input rule rejects it with a TCP reset"
        fix = (*rule_fix(wall), f"on this host: ss -tlnp 'sport = :{tcp.port}'")
    else:
        why = "a firewall REJECT with a TCP reset is the likely cause"
        fix = ("find the rule: nft -a list ruleset | grep -n reset (or iptables -S | grep -n "
               "tcp-reset)", f"list the listener: ss -tlnp 'sport = :{tcp.port}'")
    summary = f"{where} refused the connection although {listens}: {why}"
    return _finding(ev, "port.refused", summary, evidence, fix)


def _icmp_fix(port: int, sender: str | None) -> tuple[str, ...]:
    where = f"on {sender}" if sender else "on the host that sent it"
    return (
        f"{where}, find the REJECT rule: nft -a list ruleset | grep -n reject",
        f"{where}, with iptables: iptables -S | grep -n REJECT (ip6tables -S for IPv6)",
        f"allow the flow to port {port}, or remove the rule",
    )


def _rejected(
    ev: CheckEvidence, kinds: Collection[str]
) -> tuple[TcpConnect, IcmpError, str] | None:
    """The first address's failed connect when an ICMP error of one of `kinds` answered it:
    the connect, the ICMP error and who sent it."""
    got = _failed_first(ev)
    if got is None:
        return None
    head, tcp = got
    icmp = tcp.icmp
    if icmp is None or icmp.kind not in kinds:
        return None
    return tcp, icmp, sender_role(icmp, head.address)


def reject_port_unreachable(ev: CheckEvidence) -> Finding | None:
    """firewall.reject_port_unreachable: an ICMP port-unreachable answered a TCP SYN."""
    got = _rejected(ev, ("port-unreachable",))
    if got is None:
        return None
    tcp, icmp, who = got
    return _finding(
        ev,
        "firewall.reject_port_unreachable",
        f"a firewall REJECT rule on {who} answers the SYN to port {tcp.port} with ICMP "
        "port-unreachable",
        [
            tcp_text(tcp),
            "a closed TCP port answers with a reset, never with ICMP: this is a firewall",
        ],
        _icmp_fix(tcp.port, icmp.sender),
    )


def reject_admin(ev: CheckEvidence) -> Finding | None:
    """firewall.reject_admin: an ICMP administratively-prohibited answered the SYN."""
    got = _rejected(ev, PROHIBITED_KINDS)
    if got is None:
        return None
    tcp, icmp, who = got
    return _finding(
        ev,
        "firewall.reject_admin",
        f"a firewall on {who} rejects port {tcp.port} ({icmp.kind})",
        [tcp_text(tcp)],
        _icmp_fix(tcp.port, icmp.sender),
    )


def local_egress(ev: CheckEvidence) -> Finding | None:
    """firewall.local_egress: this host's own output filter drops the SYN."""
    got = _failed_first(ev)
    if got is None:
        return None
    head, tcp = got
    egress = head.egress
    wall = head.firewall if head.firewall is not None and head.firewall.hook == "output" else None
    ruled = wall is not None and wall.decision in ("drop", "reject")
    clear = egress is not None and egress.status == "clear"
    timed_out_blocked = tcp.outcome == "timeout" and (
        (egress is not None and egress.status == "blocked") or (ruled and not clear)
    )
    denied = tcp.outcome == "error" and tcp.errno in ("EPERM", "EACCES")
    if not (timed_out_blocked or denied):
        return None
    evidence = [tcp_text(tcp)]
    if egress is not None and egress.status == "blocked":
        evidence.append(egress_text(egress))
    if denied:
        evidence.append(f"{tcp.errno} on connect(): a local output rule dropped the SYN")
    if wall is not None:
        evidence.append(firewall_text(wall))
    fix = rule_fix(wall) if wall is not None and ruled else ()
    return _finding(
        ev,
        "firewall.local_egress",
        f"this host's own firewall drops the outgoing SYN to {endpoint(head.address, tcp.port)}",
        evidence,
        (
            *fix,
            "on THIS host, list the output rules: nft -a list ruleset (look at output hooks)",
            "with iptables: iptables -S OUTPUT (ip6tables -S OUTPUT for IPv6)",
        ),
    )


def firewall_text(wall: FirewallMatch) -> str:
    """One line on what this host's ruleset decides for the flow, naming the rule."""
    where = f"this host's {wall.hook} rules"
    if wall.decision == "unknown":
        why = wall.error or "; ".join(wall.notes) or ", ".join(wall.unknown) or "not evaluated"
        return f"{where}: unknown ({why})"
    origin = f" — {wall.origin.description}" if wall.origin else ""
    if wall.rule is not None:
        verb = {"accept": "accept", "drop": "drop", "reject": "reject"}[wall.decision]
        return f"{where} {verb} it: {wall.where}: {wall.rule.text}{origin}"
    return f"{where} {wall.decision} it by policy ({wall.policy or 'no rule matched'})"


def rule_fix(wall: FirewallMatch) -> tuple[str, ...]:
    """The command that removes the deciding rule (review it first: netdx changes nothing)."""
    rule = wall.rule
    if rule is None:
        return ()
    if rule.source == "nft" and rule.handle is not None:
        cmd = (f"nft delete rule {quote(rule.family)} {quote(rule.table)} {quote(rule.chain)} "
               f"handle {rule.handle}")
    else:
        tool = "ip6tables" if rule.family == "ip6" else "iptables"
        legacy = "-legacy" if rule.source == "iptables-legacy" else ""
        cmd = (f"{tool}{legacy} -t {quote(rule.table)} -D {quote(rule.chain)} "
               f"{rule.position}")
    via = f" (it comes from {wall.origin.description}: change it there)" if wall.origin else ""
    return (f"remove or narrow the rule after review: {cmd}{via}",)


def _midway(head: AddressEvidence) -> tuple[int, int, str] | None:
    """(last answering TTL, target distance, router) when the SYN dies before the target."""
    path, echo = head.path, head.echo
    if path is None or path.reached or echo is None or echo.status != "reply":
        return None
    distance = hop_distance(echo.reply_ttl)
    last = path.last_answering
    if distance is None or last is None or last.kind != "time_exceeded" or last.address is None:
        return None
    # At distance-1 the last router is adjacent to the target: the drop could be either.
    if last.ttl >= distance - 1:
        return None
    return last.ttl, distance, last.address


def midway_check(router: str, ttl: int) -> str:
    """Where to look when the SYN trace ends after `router` at hop `ttl`."""
    # A router sends time-exceeded before its forward hook runs: the last router that
    # answered may itself drop what it forwards, so it comes first, the next one after.
    return (f"check the forward filter of router {router} (hop {ttl}) first, then of the "
            f"router after it (hop {ttl + 1}): nft -a list ruleset")


def filtered_midway(ev: CheckEvidence) -> Finding | None:
    """path.filtered_midway: routers answer up to hop k, the target sits farther than k+1."""
    got = _failed_first(ev)
    if got is None or got[1].outcome != "timeout" or local_egress(ev) is not None:
        return None
    head, tcp = got
    mid = _midway(head)
    if mid is None or head.path is None:
        return None
    ttl, distance, router = mid
    return _finding(
        ev,
        "path.filtered_midway",
        f"the SYN to {endpoint(head.address, tcp.port)} is dropped at or after hop {ttl} "
        f"({router}); the target is {distance} hops away",
        [tcp_text(tcp), echo_text(head.echo), path_text(head.path)],
        (
            f"confirm: traceroute -T -p {tcp.port} -n {quote(head.address)}",
            midway_check(router, ttl),
        ),
    )


def filtered(ev: CheckEvidence) -> Finding | None:
    """port.filtered: the SYN got no answer at all; something drops it silently."""
    if _local_fail(ev) is not None:
        return None  # this host's own listener explains it (e.g. a full accept queue)
    got = _failed_first(ev)
    if got is None or got[1].outcome != "timeout":
        return None
    if local_egress(ev) is not None or filtered_midway(ev) is not None:
        return None
    head, tcp = got
    if head.route is not None and head.route.neighbour_state in ("FAILED", "INCOMPLETE"):
        return None  # the next hop never answered ARP/ND: reach.host_unreachable, not a firewall
    if path_unreachable(ev, head) is not None:
        return None  # a router said the host is unreachable: reach.host_unreachable
    evidence = [tcp_text(tcp), echo_text(head.echo)]
    if head.route is not None and head.route.neighbour_state:
        hop = head.route.gateway or head.address
        evidence.append(f"neighbour {hop}: {head.route.neighbour_state}")
    if head.route is None or head.route.status != "local":
        evidence.append(egress_text(head.egress))  # no egress test for this host's own address
    if head.firewall is not None:
        evidence.append(firewall_text(head.firewall))
    if head.path is not None:
        evidence.append(path_text(head.path))
    wall = head.firewall
    if wall is not None and wall.hook == "input" and wall.decision in ("drop", "reject"):
        return _finding(
            ev,
            "port.filtered",
            f"this host's own input firewall drops the SYN to {endpoint(head.address, tcp.port)}",
            evidence,
            (*rule_fix(wall), f"on this host: nft -a list ruleset; ss -tlnp 'sport = :{tcp.port}'"),
        )
    where = endpoint(head.address, tcp.port)
    summary = f"no answer from {where}: a firewall silently drops the SYN"
    fix: tuple[str, ...] = (
        "on the server, find the DROP rule: nft -a list ruleset (or iptables -S)",
        f"on the server, check the listener: ss -tlnp 'sport = :{tcp.port}'",
        f"confirm the path: traceroute -T -p {tcp.port} -n {quote(head.address)}",
    )
    echo = head.echo
    if echo is not None and echo.status == "timeout" and echo.sent and not alive(head):
        # Nothing answered at all and no ICMP came: a dead host behind a router that
        # forwards nothing, a black hole and a drop-everything firewall look the same.
        summary = (f"no reply from the host or the port ({where}, ICMP echo): the host is "
                   "down or cut off (a black hole, a router that does not forward), or a "
                   "firewall drops everything to it")
        fix = (f"is {head.address} up? check it on its console or hypervisor",
               f"find where the path ends: traceroute -T -p {tcp.port} -n {head.address}",
               fix[0])
    if _own_egress_unknown(head):
        # Without root neither the raw SYN nor the ruleset read could clear this host's own
        # output rules, which drop a SYN just as silently: say so rather than blame the server.
        summary += " (this host's own output rules could not be ruled out without root)"
        fix = ("first rule out this host's own output rules: run the check again as root", *fix)
    return _finding(ev, "port.filtered", summary, evidence, fix)


def _own_egress_unknown(head: AddressEvidence) -> bool:
    """Neither the raw SYN nor this host's ruleset cleared its own output filter."""
    if head.route is not None and head.route.status == "local":
        return False
    egress_clear = head.egress is not None and head.egress.status == "clear"
    wall_clear = head.firewall is not None and head.firewall.decision == "accept"
    return not egress_clear and not wall_clear


def _server_findings(ev: CheckEvidence) -> tuple[Finding, ...]:
    """The server-side rules over the first address, when the target is this host and its
    server side was read (`diagnose.server`, the rules of `netdx inspect`)."""
    head = first(ev)
    if head is None or ev.port is None or head.server is None:
        return ()
    return server.evaluate(head.server)


# The connect outcome each server-side cause explains. No listener (or one on loopback
# only) makes the kernel answer the SYN with a reset: it explains "refused", never a silent
# SYN, which an input drop rule explains instead. A full accept queue drops the SYN: it
# explains a timeout. Causes not listed explain any failed connect.
_EXPLAINS: dict[str, tuple[str, ...]] = {
    "port.refused": ("refused",),
    "service.loopback_only": ("refused",),
    "app.accept_queue_full": ("timeout",),
}


def explains(f: Finding, outcome: str | None) -> bool:
    """Does a server-side finding explain a connect that ended with `outcome`?"""
    return outcome is None or outcome in _EXPLAINS.get(f.cause, (outcome,))


def _local_fails(ev: CheckEvidence) -> tuple[Finding, ...]:
    """The failing server-side findings for a local target that did not connect."""
    head = first(ev)
    if head is None or ev.port is None or connected(head) or fallback(ev) is not None:
        return ()  # a later address connected: the service mismatch rules name it
    return tuple(f for f in _server_findings(ev) if f.severity == "fail")


def _local_fail(ev: CheckEvidence) -> Finding | None:
    """The first failing server-side finding that explains how the connect failed."""
    head = first(ev)
    outcome = head.tcp.outcome if head is not None and head.tcp is not None else None
    return next((f for f in _local_fails(ev) if explains(f, outcome)), None)


def local_service(ev: CheckEvidence) -> Finding | None:
    """The server side when the target is this host: why the port failed, in the listener's
    words (port.refused naming the nearby listener, service.loopback_only,
    app.accept_queue_full, ...), after the connect that failed. When the connection worked,
    a failing server-side finding (a CLOSE-WAIT leak) rides along as a warning, and so does
    one that does not explain how the connect failed."""
    head = first(ev)
    if head is None:
        return None
    found = _local_fail(ev)
    if found is not None:
        seen = (tcp_text(head.tcp),) if head.tcp is not None else ()
        return replace(found, step="port", evidence=seen + found.evidence)
    unexplained = _local_fails(ev)
    if unexplained:
        # True on the server, but not why this connect failed (nothing listens, yet the SYN
        # got no answer at all: something dropped it first): a warning beside the verdict.
        return replace(unexplained[0], severity="warn", step="port")
    if connected(head):
        leak = next((f for f in _server_findings(ev) if f.severity == "fail"), None)
        if leak is not None:
            return replace(leak, severity="warn", step="service")
    return None
