"""Run every rule over the evidence and pick the one verdict.

The verdict is the failing finding of the lowest step in the walk (dns, route, reach, port,
service); a "fail" beats any "warn", and warnings ride along. With no failure the verdict is
`ok` when the check succeeded, else the lowest warning, else `unknown` — never a guess.
"""

from __future__ import annotations

from collections.abc import Callable

from netdx.diagnose import dns, port, protocols, reach, route, service, service_tls, udp
from netdx.diagnose import server as server_rules
from netdx.diagnose.facts import echo_text, first, liveness_text, succeeded, tcp_text
from netdx.diagnose.service import http_text
from netdx.diagnose.steps import build_steps
from netdx.model import CheckEvidence, Finding, Report, Step, Target, Verdict
from netdx.model.record import replace
from netdx.model.report import LAYER_ORDER
from netdx.model.server import ServerEvidence, UdpPort

TYPE_CHECKING = False
if TYPE_CHECKING:
    from netdx.model.remote import RemoteReport

Rule = Callable[[CheckEvidence], Finding | None]

# Listed in walk order; within a step, earlier rules win ties.
RULES: tuple[Rule, ...] = (
    dns.nxdomain,
    dns.no_address,
    dns.resolver_unreachable,
    dns.lame_delegation,
    dns.hosts_override,
    dns.stale_cache,
    route.no_route,
    reach.host_unreachable,
    reach.no_reply,
    port.local_service,
    port.refused,
    port.reject_port_unreachable,
    port.reject_admin,
    port.local_egress,
    port.filtered_midway,
    port.filtered,
    service.ipv6_only_mismatch,
    service.ipv4_only_mismatch,
    service.http_error,
    protocols.tls_expired,
    protocols.tls_name_mismatch,
    protocols.tls_untrusted,
    service.tls_error,
    service.http_timeout,
    service.http_failed,
    udp.closed,
    udp.rejected,
    udp.open_filtered,
    udp.dns_no_answer,
    udp.dns_servfail,
    udp.dns_refused,
    udp.dns_other,
    protocols.protocol_mismatch,
    protocols.protocol_error,
    service_tls.tls_not_offered,
    service_tls.tls_failed,
)


def run_rules(ev: CheckEvidence) -> tuple[Finding, ...]:
    """Every finding the rules make, in walk order (stable within a step).

    With the server's side read over SSH (`ev.remote`), its findings come first within a
    step: the server names the culprit of what the client saw (the rule, the listener), so
    its finding wins over the client's reading of the same failure."""
    found = [f for f in (rule(ev) for rule in RULES) if f is not None]
    return tuple(sorted([*_remote_rules(ev), *found], key=_step_index))


def _remote_rules(ev: CheckEvidence) -> tuple[Finding, ...]:
    """The server-side findings: none without `ev.remote` (--ssh), whose rules (and their
    texts, ~2 ms of a check's start) are then not even imported."""
    if ev.remote is None:
        return ()
    from netdx.diagnose import remote as remote_rules

    return remote_rules.evaluate(ev)


def _step_index(f: Finding) -> int:
    return LAYER_ORDER.index(f.step) if f.step in LAYER_ORDER else len(LAYER_ORDER)


def check_succeeded(ev: CheckEvidence) -> bool:
    """The first address did what was asked (and HTTP answered < 400 for URL targets)."""
    if udp.is_datagram(ev):
        return udp.succeeded(ev)
    head = first(ev)
    if not succeeded(ev, head) or head is None:
        return False
    if head.tls is not None and head.tls.outcome != "ok":
        return False  # check --tls: the handshake is part of what was asked
    if head.handshake is not None:
        return head.handshake.outcome in protocols.SPOKEN
    if ev.port is None or ev.scheme not in ("http", "https"):
        return True
    http = head.http
    return (
        http is not None
        and http.outcome == "ok"
        and service.status_ok(http)
    )


def _ok(ev: CheckEvidence, warnings: tuple[Finding, ...]) -> Verdict:
    head = first(ev)
    assert head is not None  # check_succeeded() holds
    evidence: list[str] = []
    if ev.port is None:
        summary = f"{ev.target_host} is up ({head.address} answers)"
        evidence.append(echo_text(head.echo))
        live = liveness_text(head)
        if live is not None:
            evidence.append(live)
    elif udp.is_datagram(ev):
        summary, lines = udp.ok_text(ev)
        evidence.extend(lines)
    else:
        assert head.tcp is not None
        summary = f"{ev.target_host}:{ev.port} accepts connections ({head.address})"
        evidence.append(tcp_text(head.tcp))
        if head.http is not None and head.http.status is not None:
            summary = f"{head.http.url} answers HTTP {head.http.status} ({head.address})"
            evidence.append(http_text(head.http))
            if head.http.tls is not None:
                evidence.append(protocols.tls_session_text(head.http.tls))
            evidence.append(service.timings_text(ev, head.http))
        if head.handshake is not None:
            hs = head.handshake
            summary = f"{summary}; it speaks {hs.protocol}: {protocols.answer_text(hs)}"
            evidence.append(protocols.handshake_text(hs))
        if head.tls is not None:
            clause, lines = service_tls.ok_text(ev, head.tls)
            summary = f"{summary}; {clause}"
            evidence.extend(lines)
    return Verdict(cause="ok", summary=summary, evidence=tuple(evidence), warnings=warnings)


def _from(f: Finding, warnings: tuple[Finding, ...]) -> Verdict:
    return Verdict(
        cause=f.cause,
        summary=f.summary,
        evidence=f.evidence,
        fix=f.fix,
        warnings=tuple(w for w in warnings if w is not f),
    )


def _unknown(steps: tuple[Step, ...], warnings: tuple[Finding, ...]) -> Verdict:
    """No rule proves a cause: say so and list what the steps could not settle."""
    open_steps = [s for s in steps if s.status in ("fail", "unknown")]
    return Verdict(
        cause="unknown",
        summary="the evidence does not prove a cause"
        + (f": {open_steps[0].layer} — {open_steps[0].summary}" if open_steps else ""),
        evidence=tuple(f"{s.layer}: {s.status}: {s.summary}" for s in open_steps),
        fix=(
            "re-run as root: ICMP echo, the egress check and the path trace need CAP_NET_RAW",
            "re-run with a longer --timeout if a probe ran out of time",
        ),
        warnings=warnings,
    )


def pick_verdict(
    findings: tuple[Finding, ...],
    *,
    succeeded: bool,
    ok: Callable[[tuple[Finding, ...]], Verdict],
    undecided: Callable[[tuple[Finding, ...]], Verdict],
    failures_warn: bool = False,
) -> Verdict:
    """The one verdict picker: the first failing finding (findings come in rule order), else
    `ok` when the command `succeeded`, else the first warning, else `undecided`.

    Every other warning rides along; with `failures_warn` the other failing findings too
    (`netdx inspect` shows every problem of the port, `netdx check` the walk's warnings).
    """
    warnings = tuple(f for f in findings if failures_warn or f.severity == "warn")
    fail = next((f for f in findings if f.severity == "fail"), None)
    if fail is not None:
        return _from(fail, warnings)
    if succeeded:
        return ok(warnings)
    if warnings:
        return _from(warnings[0], warnings)
    return undecided(warnings)


def diagnose(ev: CheckEvidence) -> tuple[tuple[Step, ...], Verdict]:
    """Run the rules over the evidence: the five steps of the walk and the one verdict."""
    findings = run_rules(ev)
    steps = build_steps(ev, findings)
    verdict = pick_verdict(
        findings,
        succeeded=check_succeeded(ev),
        ok=lambda warnings: _ok(ev, warnings),
        undecided=lambda warnings: _unknown(steps, warnings),
    )
    return steps, _beside(ev, verdict)


def _beside(ev: CheckEvidence, verdict: Verdict) -> Verdict:
    """The server's side beside the verdict: a server finding that lost to a lower step
    rides along as a warning, and so does the SSH link's failure (never the verdict)."""
    if ev.remote is None:
        return verdict
    from netdx.diagnose import remote as remote_rules
    from netdx.diagnose.remote_link import link_warnings

    decided = remote_rules.decisive(ev)
    lost = (
        (replace(decided, severity="warn"),)
        if decided is not None and decided.cause != verdict.cause
        else ()
    )
    return replace(verdict, warnings=(*verdict.warnings, *lost, *link_warnings(ev)))


def diagnose_server(
    server: ServerEvidence, udp: UdpPort | None = None
) -> tuple[tuple[Finding, ...], Verdict]:
    """The server-side rules over one port (`netdx inspect`): every finding and the verdict
    by the same picker; ok names the listeners, unknown says why nothing was read.

    With the port's UDP sockets read (`udp`), a port bound over UDP and by no TCP listener
    is in use, not refused: the picker then weighs none of the TCP findings (they stay in
    the findings) and its ok is `server_udp.ok_over_udp`. The UDP sockets and their drops
    warning ride beside the verdict picked."""
    from netdx.diagnose import server_udp  # inspect's alone: a check never loads it

    findings = server_rules.evaluate(server)
    over_udp = udp is not None and server_udp.in_use_over_udp(server, udp)
    verdict = pick_verdict(
        () if over_udp else findings,
        succeeded=server.error is None,
        ok=lambda warnings: (
            server_udp.ok_over_udp(udp, warnings)
            if over_udp and udp is not None
            else Verdict(cause="ok", summary=server_rules.ok_summary(server), warnings=warnings)
        ),
        undecided=lambda warnings: Verdict(
            cause="unknown", summary=server.error or "the server side was not read"
        ),
        failures_warn=True,
    )
    return findings, verdict if udp is None else server_udp.beside(verdict, udp)


def build_report(target: Target, ev: CheckEvidence, elapsed_ms: float) -> Report:
    """Diagnose the evidence and wrap it, with the target and total time, in a Report."""
    steps, verdict = diagnose(ev)
    return Report(
        target=target,
        steps=steps,
        verdict=verdict,
        elapsed_ms=round(elapsed_ms, 2),
        observed_on=ev.observed_on,
        remote=_remote_report(ev),
    )


def _remote_report(ev: CheckEvidence) -> RemoteReport | None:
    """The "server (ssh DEST)" block: none without `ev.remote` (--ssh)."""
    if ev.remote is None:
        return None
    from netdx.diagnose.remote_link import remote_report

    return remote_report(ev)
