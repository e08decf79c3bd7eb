"""The five steps of the walk, as shown to the user: status, one-line summary, evidence.

A step with findings takes the worst finding's severity and summary; otherwise its status
and summary come straight from the evidence, and "unknown" says what would settle it.
"""

from __future__ import annotations

from collections.abc import Callable

from netdx.diagnose.dns import nss_text
from netdx.diagnose.facts import (
    connected,
    echo_text,
    endpoint,
    first,
    ms,
    tcp_text,
    used_address,
)
from netdx.diagnose.protocols import SPOKEN, answer_text, decided
from netdx.diagnose.route import route_text
from netdx.diagnose.service import budget_ran_out, status_ok
from netdx.diagnose.service_tls import tls_step
from netdx.diagnose.shell import quote
from netdx.diagnose.udp import is_datagram, port_base, service_base
from netdx.model import CheckEvidence, Finding, IcmpEcho, Step, StepEvidence
from netdx.model.report import LAYER_ORDER, StepStatus
from netdx.model.service import ServiceHandshake

Base = tuple[StepStatus, str]

_NO_ADDRESS: Base = ("skip", "skipped: no address to probe")


def _dns(ev: CheckEvidence) -> Base:
    dns = ev.dns
    if dns is None:
        return "skip", "no DNS lookup"
    if dns.source == "literal":
        return "skip", f"{ev.target_host} is an IP address: no lookup"
    if ev.addresses:
        addrs = ", ".join(a.address for a in ev.addresses)
        return "pass", f"{dns.name} → {addrs} ({_source(ev)})"
    if dns.nss is not None and dns.nss.status != "ok":
        return "fail", nss_text(dns.nss)
    return "unknown", (f"{dns.name}: no address found; getent ahosts {quote(dns.name)} "
                       "would say more")


def _source(ev: CheckEvidence) -> str:
    dns = ev.dns
    if dns is None:
        return "?"
    if dns.source == "hosts":
        return "from /etc/hosts"
    if dns.source == "dns":
        answered = next((s for s in dns.servers if s.status == "ok" and s.addresses), None)
        return f"from DNS server {answered.server}" if answered is not None else "from DNS"
    return "from getaddrinfo (NSS)"


def _route(ev: CheckEvidence) -> Base:
    head = first(ev)
    if head is None:
        return _NO_ADDRESS
    if head.route is None:
        return "unknown", (f"route to {head.address} not checked "
                           f"(ip route get {quote(head.address)})")
    text = route_text(head.route).removeprefix("ip route get ")
    if head.route.status in ("ok", "local"):
        return "pass", text
    if head.route.status == "no_route":
        return "fail", text
    return "unknown", f"{text}; ip route get {quote(head.address)} would settle it"


def _reach(ev: CheckEvidence) -> Base:
    head = first(ev)
    if head is None:
        return _NO_ADDRESS
    echo = head.echo
    if echo is not None and echo.status == "reply":
        return "pass", echo_text(echo)
    answered = [t for t in head.liveness if t.outcome in ("connected", "refused")]
    if ev.port is None and answered:
        return (
            "pass",
            f"{head.address} is up: TCP port {answered[0].port} answered ({_echo_short(ev)})",
        )
    tcp = head.tcp
    if ev.port is not None and tcp is not None:
        own_icmp = tcp.icmp is not None and tcp.icmp.sender == head.address
        if tcp.outcome in ("connected", "refused") or own_icmp:
            return "pass", f"{head.address} is up: it answered TCP ({_echo_short(ev)})"
    if echo is not None and echo.status in ("timeout", "icmp_error"):
        return "unknown", f"{echo_text(echo)}; ICMP may be filtered, the TCP result decides"
    return "unknown", _echo_gap(ev)


def _first_echo(ev: CheckEvidence) -> IcmpEcho | None:
    head = first(ev)
    return head.echo if head is not None else None


def _echo_gap(ev: CheckEvidence) -> str:
    """What the echo probe did or did not tell, and how to settle it when it could not run."""
    echo = _first_echo(ev)
    if echo is not None and echo.status == "unknown":
        why = f" ({echo.reason})" if echo.reason else ""
        if echo.method is not None:
            # A socket was opened, so privileges were not the gap: the send itself failed
            # (ENETUNREACH, a blackhole's EINVAL), and root would not change that.
            return f"ICMP echo unknown{why}: the echo could not leave this host"
        return (
            f"ICMP echo unknown{why}; run as root or allow ping "
            "(sysctl net.ipv4.ping_group_range) to settle it"
        )
    if echo is not None and echo.status != "reply":
        return f"no ICMP echo reply ({echo.status})"
    return _echo_short(ev)  # not sent, or a reply: the same few words


def _echo_short(ev: CheckEvidence) -> str:
    """The echo result in a few words, for a step that passed anyway."""
    echo = _first_echo(ev)
    if echo is None:
        return "ICMP echo not sent"
    if echo.status == "reply":
        return f"echo reply in {ms(echo.rtt_ms)}"
    return f"ICMP echo: {echo.status}"


def _port(ev: CheckEvidence) -> Base:
    if ev.port is None:
        return "skip", "no port given: reachability only"
    head = first(ev)
    if head is None:
        return _NO_ADDRESS
    if head.udp is not None:
        return port_base(head.udp)
    if head.tcp is None:
        return "unknown", f"TCP connect to {endpoint(head.address, ev.port)} not done"
    if head.tcp.outcome == "connected":
        return "pass", tcp_text(head.tcp).removeprefix("TCP connect to ")
    other = next((a for a in ev.addresses[1:] if connected(a)), None)
    if other is not None:
        return "warn", f"{tcp_text(head.tcp)}; {other.address} connected"
    return "fail", tcp_text(head.tcp)


def _service(ev: CheckEvidence) -> Base:
    if ev.port is None:
        return "skip", "no port given: no service check"
    if is_datagram(ev):
        return service_base(ev)
    used = used_address(ev)
    if ev.scheme not in ("http", "https"):
        if used is None:
            return "skip", "no connection: no service check"
        spoken = used.handshake is None or used.handshake.outcome in SPOKEN
        if used.tls is not None and used.tls.outcome == "ok" and used.handshake is not None:
            status, text = _handshake_step(used.handshake)  # rediss: PING inside the session
            return status, f"{text} (over {tls_step(used.tls)[1]})"
        if used.tls is not None and spoken:
            return tls_step(used.tls)
        if used.handshake is not None:
            return _handshake_step(used.handshake)
        proto = f"{ev.scheme}://" if ev.scheme else "a plain TCP port"
        return "skip", f"no protocol check for {proto}"
    if used is None:
        return "skip", "no connection to speak HTTP on"
    http = used.http
    if http is None:
        return "unknown", f"HTTP not checked; curl -sv {quote(ev.target_host)} would settle it"
    if http.outcome == "ok" and status_ok(http):
        server = f", Server: {http.server}" if http.server else ""
        reason = f" {http.reason}" if http.reason else ""
        return (
            "pass",
            f"HTTP {http.status}{reason} in {ms(http.total_ms)} via {used.address}{server}",
        )
    if budget_ran_out(http):
        return "unknown", (
            f"the budget ran out {ms(http.total_ms)} into the HTTP exchange via "
            f"{used.address} (it had {ms(http.budget_ms)}): raise --timeout"
        )
    return "fail", f"HTTP exchange via {used.address}: {http.outcome}"


def _handshake_step(hs: ServiceHandshake) -> Base:
    """The service step of a postgres://, redis:// or mysql:// target from its handshake."""
    text = f"{hs.protocol} in {ms(hs.elapsed_ms)} via {hs.address}: {answer_text(hs)}"
    if hs.outcome in SPOKEN:
        return "pass", text
    return ("fail" if decided(hs) else "unknown"), text


def _evidence(layer: str, ev: CheckEvidence) -> StepEvidence:
    """The payloads that back the step, per address in address order."""
    addrs = ev.addresses
    if layer == "dns":
        return StepEvidence(dns=ev.dns)
    if layer == "route":
        return StepEvidence(routes=tuple(a.route for a in addrs if a.route is not None))
    if layer == "reach":
        return StepEvidence(
            echo=tuple(a.echo for a in addrs if a.echo is not None),
            liveness=tuple(t for a in addrs for t in a.liveness),
        )
    if layer == "port":
        return StepEvidence(
            tcp=tuple(a.tcp for a in addrs if a.tcp is not None),
            egress=tuple(a.egress for a in addrs if a.egress is not None),
            path=tuple(a.path for a in addrs if a.path is not None),
            udp=tuple(a.udp for a in addrs if a.udp is not None),
        )
    return StepEvidence(
        http=tuple(a.http for a in addrs if a.http is not None),
        handshake=tuple(a.handshake for a in addrs if a.handshake is not None),
        tls=tuple(a.tls for a in addrs if a.tls is not None),
    )


def _elapsed(layer: str, ev: CheckEvidence) -> float:
    """The longest measured duration of the step's probes (they run side by side)."""
    times: list[float] = []
    if layer == "dns" and ev.dns is not None:
        times += [s.elapsed_ms for s in ev.dns.servers]
        times += [ev.dns.nss.elapsed_ms] if ev.dns.nss is not None else []
    for a in ev.addresses:
        if layer == "reach":
            times += [t.elapsed_ms for t in a.liveness]
        elif layer == "port":
            times += [a.tcp.elapsed_ms] if a.tcp is not None else []
            times += [a.path.elapsed_ms] if a.path is not None else []
            times += [a.udp.elapsed_ms] if a.udp is not None else []
        elif layer == "service" and a.http is not None and a.http.total_ms is not None:
            times.append(a.http.total_ms)
        elif layer == "service" and a.handshake is not None:
            times.append(a.handshake.elapsed_ms)
        if layer == "service" and a.tls is not None and a.tls.total_ms is not None:
            times.append(a.tls.total_ms)
    return round(max(times, default=0.0), 2)


_BASES: dict[str, Callable[[CheckEvidence], Base]] = {
    "dns": _dns,
    "route": _route,
    "reach": _reach,
    "port": _port,
    "service": _service,
}


def build_steps(ev: CheckEvidence, findings: tuple[Finding, ...]) -> tuple[Step, ...]:
    """One Step per layer in walk order; findings override the evidence-derived status."""
    steps = []
    for layer in LAYER_ORDER:
        status, summary = _BASES[layer](ev)
        mine = [f for f in findings if f.step == layer]
        worst = next((f for f in mine if f.severity == "fail"), mine[0] if mine else None)
        if worst is not None:
            status, summary = worst.severity, worst.summary
        steps.append(
            Step(
                layer=layer,
                status=status,
                summary=summary,
                evidence=_evidence(layer, ev),
                elapsed_ms=_elapsed(layer, ev),
            )
        )
    return tuple(steps)
