"""`netdx self`'s rules: judge what it saw, step by step, the way the method reads it.
Pure: evidence in, steps and one verdict out; no I/O (tests feed it evidence literals).

The order is the method's: 1 loopback, 2 interfaces, 3 the gateway, 4 a host beyond it,
5 DNS. The first step that fails names the layer, and the steps that work before it say what
it is not ("step 4 works but step 5 fails: a DNS problem, not a network problem").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from netdx.model.evidence import DnsServerAnswer, IcmpEcho
from netdx.selfcheck.evidence import Beyond, Gateway, Interface, SelfEvidence

StepStatus = Literal["ok", "fail", "skipped", "unknown"]

# Neighbour states that prove the gateway answered ARP/NDP at some point.
_RESOLVED = frozenset({"REACHABLE", "STALE", "DELAY", "PROBE"})
# States that say it did not: resolution still running or given up.
_UNRESOLVED = frozenset({"INCOMPLETE", "FAILED"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One step of the procedure: what it checked, its outcome, and the evidence in words."""

    number: int
    name: str  # loopback, interfaces, gateway, beyond, dns
    status: StepStatus
    summary: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SelfVerdict:
    """The one conclusion: ok, or the first failing step and what the method makes of it."""

    ok: bool
    layer: str  # none, loopback, link, route, gateway, upstream, dns, unknown
    step: int | None  # the first failing (or unknown) step
    text: str
    fix: str | None = None
    # Findings beside the verdict: on a dual-stack host, the other family's gateway or hosts
    # beyond failing while the walked family works (a warning, not a failure of the host).
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SelfReport:
    steps: tuple[Step, ...]
    verdict: SelfVerdict
    evidence: SelfEvidence


def _echo_words(echo: IcmpEcho) -> str:
    if echo.status == "reply":
        return f"echo {echo.received}/{echo.sent}, {echo.rtt_ms} ms"
    if echo.status == "icmp_error" and echo.error is not None:
        return f"echo answered by ICMP {echo.error.kind} from {echo.error.sender}"
    if echo.status == "unknown":
        return f"echo not sent: {echo.reason}"
    return f"no echo reply ({echo.sent} sent)"


def loopback_step(ev: SelfEvidence) -> Step:
    lo = next((i for i in ev.interfaces if i.loopback), None)
    echo = ev.loopback_echo
    if lo is not None and not lo.up:
        return Step(number=1, name="loopback", status="fail",
                    summary=f"{lo.name} is down: this host cannot reach itself")
    if echo.status == "reply":
        return Step(number=1, name="loopback", status="ok",
                    summary=f"{echo.address} answers ({_echo_words(echo)})")
    if echo.status == "unknown":
        return Step(number=1, name="loopback", status="unknown", summary=_echo_words(echo))
    return Step(number=1, name="loopback", status="fail",
                summary=f"{echo.address} does not answer ({_echo_words(echo)}): a local firewall"
                        " or a broken loopback")


def _usable(iface: Interface) -> bool:
    return iface.up and iface.carrier and any(" scope global" in a for a in iface.addresses)


def interfaces_step(ev: SelfEvidence) -> Step:
    others = [i for i in ev.interfaces if not i.loopback]
    notes = tuple(
        f"{i.name}: {'UP' if i.up else 'DOWN'}, {'carrier' if i.carrier else 'NO-CARRIER'},"
        f" {i.operstate}, {', '.join(i.addresses) or 'no address'}"
        for i in others
    )
    usable = [i for i in others if _usable(i)]
    if usable:
        names = ", ".join(i.name for i in usable)
        return Step(number=2, name="interfaces", status="ok",
                    summary=f"up with carrier and a global address: {names}", notes=notes)
    if not others:
        summary = "no interface but loopback"
    elif not any(i.up for i in others):
        summary = "every interface is down (ip link set DEV up)"
    elif not any(i.up and i.carrier for i in others):
        summary = "interfaces are up but none has a carrier: cable, peer or switch port"
    else:
        summary = "no interface has a global address (DHCP or the address configuration)"
    return Step(number=2, name="interfaces", status="fail", summary=summary, notes=notes)


def _resolution(gw: Gateway) -> str:
    """How the gateway's link-layer address is asked: ARP (IPv4), neighbour discovery (v6)."""
    return "neighbour discovery" if ":" in gw.address else "ARP"


# The words of a gateway step that failed for want of an ARP / neighbour discovery answer.
_UNANSWERED = ("does not answer ARP", "does not answer neighbour discovery")


def gateway_step(gw: Gateway | None, onlink_default: str | None = None) -> Step:
    if gw is None and onlink_default is not None:
        # A point-to-point or tunnel default: no gateway to ask ARP; step 4 tells the rest.
        return Step(number=3, name="gateway", status="skipped",
                    summary=f"the default route goes straight out of {onlink_default}"
                            " (no gateway to ask)")
    if gw is None:
        return Step(number=3, name="gateway", status="fail",
                    summary="no default route: nothing beyond the local subnets is reachable")
    where = f"{gw.address} on {gw.interface or '?'}"
    neigh = gw.neighbour or "no entry"
    nd = _resolution(gw)
    notes = (f"neighbour {neigh}", _echo_words(gw.echo))
    if gw.echo.status == "reply":
        return Step(number=3, name="gateway", status="ok",
                    summary=f"{where} answers {nd} and echo", notes=notes)
    if gw.neighbour in _RESOLVED or (gw.neighbour or "").startswith("PERMANENT"):
        if gw.echo.status == "unknown":
            # No echo went out (no ICMP socket allowed): nothing says the gateway filters it.
            return Step(number=3, name="gateway", status="ok",
                        summary=f"{where} answers {nd} ({neigh}); the link works"
                                f" ({_echo_words(gw.echo)})", notes=notes)
        return Step(number=3, name="gateway", status="ok",
                    summary=f"{where} answers {nd} ({neigh}) but not echo: it filters ICMP;"
                            " the link works", notes=notes)
    if gw.echo.status == "unknown":
        return Step(number=3, name="gateway", status="unknown",
                    summary=f"{where}: {_echo_words(gw.echo)}", notes=notes)
    if gw.neighbour in _UNRESOLVED or gw.neighbour is None:
        return Step(number=3, name="gateway", status="fail",
                    summary=f"{where} does not answer {nd} ({neigh})", notes=notes)
    return Step(number=3, name="gateway", status="fail",
                summary=f"{where} does not answer echo", notes=notes)


def _beyond_answered(host: Beyond, dns: tuple[DnsServerAnswer, ...]) -> bool:
    if host.echo is not None and host.echo.status == "reply":
        return True
    # A DNS server that answers a query (any rcode) is reachable, whatever it does to echo.
    return host.role == "dns_server" and any(
        a.server == host.address and a.status not in ("timeout", "error") for a in dns
    )


def _family(address: str) -> int:
    return 6 if ":" in address else 4


def other_family(ev: SelfEvidence) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(notes for step 3, warnings) of a dual-stack host: the other family's default gateway
    judged as step 3 judges the walked one, and its hosts beyond when none of them answers
    while the walked family's do. A broken IPv6 default beside a working IPv4 one is a
    finding (a warning), not a failure of the host."""
    other = 10 - ev.family
    notes: list[str] = []
    warnings: list[str] = []
    if ev.other_gateway is not None or ev.other_onlink_default is not None:
        step = gateway_step(ev.other_gateway, ev.other_onlink_default)
        notes.append(f"IPv{other}: {step.summary}")
        notes.extend(f"IPv{other}: {note}" for note in step.notes)
        if step.status == "fail":
            warnings.append(f"the IPv{other} default route is broken: {step.summary}; IPv{other}"
                            f" traffic beyond the local subnets fails"
                            f" (ip -{other} route show default; ip -{other} neigh show)")
    theirs = [h for h in ev.beyond if _family(h.address) == other]
    ours = [h for h in ev.beyond if _family(h.address) == ev.family]
    if (theirs and any(_beyond_answered(h, ev.dns) for h in ours)
            and not any(_beyond_answered(h, ev.dns) for h in theirs)):
        warnings.append(f"no IPv{other} host beyond the gateway answers"
                        f" ({', '.join(h.address for h in theirs)}) while IPv{ev.family} ones do")
    return tuple(notes), tuple(warnings)


def _beyond_words(host: Beyond, dns: tuple[DnsServerAnswer, ...]) -> str:
    role = "named" if host.role == "named" else "DNS server"
    if host.route.status != "ok":
        return f"{host.address} ({role}): no route ({host.route.error or host.route.route_type})"
    via = f"via {host.route.gateway}" if host.route.gateway else "on-link"
    words = _echo_words(host.echo) if host.echo is not None else "no echo sent"
    if not _beyond_answered(host, dns) or host.echo is None or host.echo.status == "reply":
        return f"{host.address} ({role}, {via}): {words}"
    return f"{host.address} ({role}, {via}): {words}, but it answers DNS"


def beyond_step(ev: SelfEvidence) -> Step:
    notes = tuple(_beyond_words(h, ev.dns) for h in ev.beyond)
    notes += tuple(f"{s}: a DNS server on this host, not beyond the gateway"
                   for s in ev.skipped_servers)
    if not ev.beyond:
        return Step(number=4, name="beyond", status="skipped", notes=notes,
                    summary="no host beyond the gateway to try: name one with --beyond ADDR")
    answered = [h.address for h in ev.beyond if _beyond_answered(h, ev.dns)]
    if answered:
        return Step(number=4, name="beyond", status="ok", notes=notes,
                    summary=f"{', '.join(answered)} answers")
    unknown = [h for h in ev.beyond if h.echo is not None and h.echo.status == "unknown"]
    if unknown:
        return Step(number=4, name="beyond", status="unknown", notes=notes,
                    summary=_echo_words(unknown[0].echo) if unknown[0].echo else "unknown")
    return Step(number=4, name="beyond", status="fail", notes=notes,
                summary=f"no host beyond the gateway answers ({len(ev.beyond)} tried)")


def _dns_words(answer: DnsServerAnswer) -> str:
    if answer.status == "ok":
        found = ", ".join(r.value for r in answer.records if r.rtype == answer.rtype)
        return f"{answer.server}: {answer.qname} {answer.rtype} {found}"
    detail = f" ({answer.error})" if answer.error else ""
    return f"{answer.server}: {answer.status.upper()}{detail}"


def dns_step(ev: SelfEvidence) -> Step:
    if ev.dns_name is None:
        return Step(number=5, name="dns", status="skipped",
                    summary="not asked: name one with --resolve NAME")
    notes = tuple(_dns_words(a) for a in ev.dns)
    if any(a.status == "ok" for a in ev.dns):
        return Step(number=5, name="dns", status="ok", notes=notes,
                    summary=f"{ev.dns_name} resolves")
    if not ev.dns:
        return Step(number=5, name="dns", status="fail", summary="no DNS server configured")
    statuses = {a.status for a in ev.dns}
    if statuses <= {"nxdomain", "nodata"}:
        which = "/".join(sorted(statuses)).upper()
        summary = f"the DNS servers answer, but {ev.dns_name} has no such record ({which})"
    elif statuses <= {"timeout", "error"}:
        summary = f"no DNS server answers for {ev.dns_name}"
    else:
        summary = f"{ev.dns_name} does not resolve ({', '.join(sorted(statuses))})"
    return Step(number=5, name="dns", status="fail", notes=notes, summary=summary)


# The verdict for the first failing step, given whether the step before it worked.
_FAILS: dict[str, tuple[str, str, str | None]] = {
    "loopback": ("loopback", "this host cannot reach itself: loopback is down or filtered",
                 "ip link set lo up; nft list ruleset | grep -w lo"),
    "interfaces": ("link", "no usable interface: the local link is down",
                   "ip -br link; ip -br addr"),
    "gateway": ("gateway", "", "ip route show default; ip neigh show"),
    "beyond": ("upstream", "", "netdx trace ADDR"),
    "dns": ("dns", "", "netdx dns NAME --compare"),
}


def _gateway_layer(step: Step) -> str:
    # No default route is a routing fault; no ARP answer a link-layer one; an echo the
    # gateway does not return (with no neighbour entry to say otherwise) the gateway's.
    if step.summary.startswith("no default route"):
        return "route"
    return "link" if any(words in step.summary for words in _UNANSWERED) else "gateway"


def _gateway_text(step: Step) -> str:
    if step.summary.startswith("no default route"):
        return step.summary
    unanswered = next((words for words in _UNANSWERED if words in step.summary), None)
    if unanswered is not None:
        return f"step 2 works but step 3 fails: the gateway {unanswered}: the local link" \
               f" is down (or the gateway is) — {step.summary}"
    return f"step 2 works but step 3 fails: {step.summary}"


def _fail_text(step: Step, steps: tuple[Step, ...]) -> str:
    if step.name == "gateway":
        return _gateway_text(step)
    if step.name == "beyond":
        return ("step 3 works but step 4 fails: the gateway answers but nothing beyond it does:"
                f" upstream of the gateway, not this host — {step.summary}")
    if step.name == "dns":
        before = next((s for s in steps if s.name == "beyond"), None)
        if before is not None and before.status == "ok":
            return (f"step 4 works but step 5 fails: a DNS problem, not a network problem —"
                    f" {step.summary}")
        return f"step 5 fails: {step.summary}"
    return f"{_FAILS[step.name][1]} — {step.summary}"


def judge(ev: SelfEvidence) -> SelfReport:
    """The steps in the method's order and the verdict of the first one that fails."""
    other_notes, warnings = other_family(ev)

    def gateway(e: SelfEvidence) -> Step:
        step = gateway_step(e.gateway, e.onlink_default)
        return dataclasses.replace(step, notes=step.notes + other_notes)

    judges: tuple[Callable[[SelfEvidence], Step], ...] = (
        loopback_step,
        interfaces_step,
        gateway,
        beyond_step,
        dns_step,
    )
    steps = tuple(j(ev) for j in judges)
    first = next((s for s in steps if s.status in ("fail", "unknown")), None)
    if first is None:
        ran = [s.name for s in steps if s.status == "ok"]
        text = "every step works: " + ", ".join(ran)
        if any(s.status == "skipped" for s in steps):
            text += " (" + "; ".join(s.summary for s in steps if s.status == "skipped") + ")"
        verdict = SelfVerdict(ok=True, layer="none", step=None, text=text, warnings=warnings)
    elif first.status == "unknown":
        verdict = SelfVerdict(ok=False, layer="unknown", step=first.number,
                              text=f"step {first.number} could not be judged: {first.summary}",
                              warnings=warnings)
    else:
        layer, _text, fix = _FAILS[first.name]
        if first.name == "gateway":
            layer = _gateway_layer(first)
            if ev.family == 6:
                fix = "ip -6 route show default; ip -6 neigh show"
        if first.name == "dns" and fix is not None and ev.dns_name:
            fix = fix.replace("NAME", ev.dns_name)
        if first.name == "beyond" and fix is not None and ev.beyond:
            fix = fix.replace("ADDR", ev.beyond[0].address)
        verdict = SelfVerdict(ok=False, layer=layer, step=first.number,
                              text=_fail_text(first, steps), fix=fix, warnings=warnings)
    return SelfReport(steps=steps, verdict=verdict, evidence=ev)
