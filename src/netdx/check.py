"""`netdx check`: gather the evidence for a target, then diagnose it.

The flow is the one in docs/architecture.md: target → probes (I/O, here) → evidence →
rules (pure, `netdx.diagnose`) → verdict → report. Independent probes run concurrently;
every await takes its deadline from the one `--timeout` budget.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from netdx.budget import Deadline, elapsed_ms
from netdx.errors import UsageError
from netdx.model import (
    AddressEvidence,
    CheckEvidence,
    DnsEvidence,
    EgressCheck,
    IcmpEcho,
    PathTrace,
    Report,
    RouteLookup,
    Target,
    TcpConnect,
)
from netdx.model.evidence import Family

T = TypeVar("T")

# How long an ICMP echo may take at most: it only has to tell "up" from "silent".
ECHO_MAX_S = 1.0
# After TCP has answered, how long to still wait for the echo before dropping it.
ECHO_GRACE_S = 0.25
# DNS may use this share of the budget, but no more than DNS_CAP_S unless the budget is
# large: a server that has not answered in ~2 s (two UDP tries) is not going to help the
# application either, and the verdict should come within about 2 s.
DNS_SHARE = 0.6
DNS_CAP_S = 1.8
# After this long, an on-link next hop still INCOMPLETE/FAILED has left at least one ARP/ND
# request unanswered; a live host answers in milliseconds, so no SYN-ACK can come.
NEIGHBOUR_PATIENCE_S = 1.0
_DEAD_NEIGHBOUR = ("INCOMPLETE", "FAILED")
# The authoritative check (a trace from the root) gets at most this long.
AUTHORITATIVE_MAX_S = 1.5
# Ports tried for a host-only target when ICMP echo gets no reply: any TCP answer, even a
# reset, proves the host is up.
LIVENESS_PORTS = (22, 80, 443)
MAX_ADDRESSES = 4


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckSettings:
    """Settings of one check: the budget in seconds, the address family, DNS servers."""

    timeout: float = 5.0
    family: Family | None = None
    dns_servers: tuple[str, ...] = ()
    verify_tls: bool = True
    root_hints: str | None = None  # for the authoritative check; None: the system's hints


def validate_dns_servers(values: tuple[str, ...]) -> tuple[str, ...]:
    """Check that each --dns-server is an IP address (a name would need DNS itself)."""
    out = []
    for value in values:
        try:
            out.append(str(ipaddress.ip_address(value)))
        except ValueError:
            raise UsageError(f"--dns-server {value!r} is not an IP address") from None
    return tuple(out)


def check_sync(target: Target, settings: CheckSettings) -> tuple[Report, CheckEvidence]:
    """Run a check to completion from synchronous code: the report and its evidence."""
    return asyncio.run(_check(target, settings))


async def run_check(target: Target, settings: CheckSettings) -> Report:
    """Probe `target` within `settings.timeout` seconds and return the diagnosed report."""
    report, _ = await _check(target, settings)
    return report


async def _check(target: Target, settings: CheckSettings) -> tuple[Report, CheckEvidence]:
    _validate(target, settings)
    from netdx.diagnose.engine import build_report

    start = time.monotonic()
    deadline = Deadline.after(settings.timeout)
    evidence = await gather_evidence(target, settings, deadline)
    return build_report(target, evidence, elapsed_ms(start)), evidence


def _validate(target: Target, settings: CheckSettings) -> None:
    """Refuse contradictory input before any probe runs."""
    if target.ip_literal and settings.family not in (None, _family(target.host)):
        raise UsageError(
            f"-{settings.family} given but {target.host} is an IPv{_family(target.host)} address"
        )


# Public alias: `netdx.check(...)` reads well from Python code.
check = run_check


async def gather_evidence(
    target: Target, settings: CheckSettings, deadline: Deadline
) -> CheckEvidence:
    """Resolve the target, then probe every address concurrently."""
    dns, addresses = await _resolve(target, settings, deadline)
    probed = await asyncio.gather(
        *(_probe_address(addr, target, settings, deadline) for addr in addresses[:MAX_ADDRESSES])
    )
    evidence = CheckEvidence(
        target_host=target.host,
        port=target.port,
        scheme=target.scheme,
        dns=dns,
        addresses=tuple(probed),
        family_filter=settings.family,
    )
    return await _with_authoritative(evidence, settings, deadline)


async def _with_authoritative(
    ev: CheckEvidence, settings: CheckSettings, deadline: Deadline
) -> CheckEvidence:
    """When a resolver's address failed, ask the authoritative servers what the zone says
    now, so a cache that outlived a record change is told apart from a network fault."""
    if ev.dns is None or ev.dns.source not in ("dns", "nss") or deadline.remaining() < 0.1:
        return ev  # decided before importing the DNS walk: it costs ~40 ms of imports
    from netdx.dns.verify import authoritative_answer, should_verify

    if not should_verify(ev):
        return ev
    from pathlib import Path

    rtype = "AAAA" if ev.addresses[0].family == 6 else "A"
    auth = await authoritative_answer(
        ev.dns.name,
        rtype,
        deadline=deadline.within(AUTHORITATIVE_MAX_S),
        root_hints=Path(settings.root_hints) if settings.root_hints else None,
    )
    if auth is None:
        return ev
    return dataclasses.replace(ev, dns=dataclasses.replace(ev.dns, authoritative=auth))


def _family(address: str) -> Family:
    return 6 if ":" in address else 4


async def _resolve(
    target: Target, settings: CheckSettings, deadline: Deadline
) -> tuple[DnsEvidence, tuple[str, ...]]:
    if target.ip_literal:
        return DnsEvidence(name=target.host, source="literal"), (target.host,)
    from netdx.probes.dns import resolve

    dns_seconds = min(deadline.remaining() * DNS_SHARE, max(DNS_CAP_S, 0.3 * settings.timeout))
    dns = await resolve(
        target.host,
        family=settings.family,
        deadline=deadline.within(dns_seconds),
        servers=settings.dns_servers or None,
    )
    dns = dataclasses.replace(dns, checked_at=round(time.time(), 3))
    if settings.dns_servers:
        return _from_servers(dns)
    if dns.nss is None or dns.nss.status != "ok":
        return dns, ()
    return dns, dns.nss.addresses


def _from_servers(dns: DnsEvidence) -> tuple[DnsEvidence, tuple[str, ...]]:
    """With --dns-server the addresses come from the named servers, in the family order the
    system resolver preferred (IPv4 first when it gave nothing)."""
    found: list[str] = []
    for answer in dns.servers:
        found.extend(a for a in answer.addresses if a not in found)
    first_v6 = bool(dns.nss and dns.nss.addresses and ":" in dns.nss.addresses[0])
    found.sort(key=lambda a: (_family(a) == 4) if first_v6 else (_family(a) == 6))
    return dataclasses.replace(dns, source="dns"), tuple(found)


async def _probe_address(
    address: str, target: Target, settings: CheckSettings, deadline: Deadline
) -> AddressEvidence:
    from netdx.probes.route import route_lookup
    from netdx.probes.server import read_server

    route = await route_lookup(address, deadline=deadline.within(0.5))
    base = AddressEvidence(address=address, family=_family(address), route=route)
    if target.port is None:
        return await _probe_host_only(base, deadline)
    if route.status != "local":
        return await _probe_port(base, target, target.port, settings, deadline)
    # The target is this host: read the server side too (listeners, owners, queues).
    probed, server = await asyncio.gather(
        _probe_port(base, target, target.port, settings, deadline),
        read_server(address, target.port, deadline=deadline.share(0.5)),
    )
    return dataclasses.replace(probed, server=server)


async def _probe_host_only(base: AddressEvidence, deadline: Deadline) -> AddressEvidence:
    from netdx.probes.icmp import icmp_echo
    from netdx.probes.tcp import tcp_connect

    echo = await icmp_echo(base.address, deadline=deadline.within(ECHO_MAX_S))
    if echo.status == "reply":
        return dataclasses.replace(base, echo=echo)
    route = await _reread_neighbour(base.route, deadline)
    if route is not None and route.neighbour_state in _DEAD_NEIGHBOUR:
        # The next hop never answered ARP/ND: no TCP port can answer either.
        return dataclasses.replace(base, echo=echo, route=route)
    live = await asyncio.gather(
        *(
            tcp_connect(base.address, port, deadline=deadline.within(ECHO_MAX_S))
            for port in LIVENESS_PORTS
        )
    )
    route = await _reread_neighbour(base.route, deadline)
    return dataclasses.replace(base, echo=echo, liveness=tuple(live), route=route)


async def _probe_port(
    base: AddressEvidence,
    target: Target,
    port: int,
    settings: CheckSettings,
    deadline: Deadline,
) -> AddressEvidence:
    from netdx.probes.icmp import icmp_echo
    from netdx.probes.tcp import tcp_connect

    loop = asyncio.get_running_loop()
    rtt: asyncio.Future[float | None] = loop.create_future()
    echo_task = asyncio.create_task(
        icmp_echo(base.address, deadline=deadline.within(ECHO_MAX_S))
    )
    echo_task.add_done_callback(lambda task: _settle_rtt(task, rtt))
    stop: asyncio.Future[None] = loop.create_future()
    watcher = asyncio.create_task(_watch_next_hop(base.route, stop, deadline))
    try:
        tcp = await tcp_connect(base.address, port, deadline=deadline, rtt_ms=rtt, stop=stop)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
    echo = await _finish_echo(echo_task, base.address, tcp, deadline)
    result = dataclasses.replace(base, echo=echo, tcp=tcp)
    silent_remote = base.route is None or base.route.status != "local"
    if tcp.outcome == "timeout" and tcp.timeout_basis != "neighbour" and silent_remote:
        # A path trace or egress test says nothing for this host's own address.
        return await _after_timeout(result, port, echo, deadline)
    if tcp.outcome == "timeout" and not silent_remote:
        from netdx.probes.firewall import local_firewall

        wall = await local_firewall(
            base.address, port, route=base.route, hook="input", deadline=deadline.within(1.0)
        )
        return dataclasses.replace(result, firewall=wall)
    if tcp.outcome in ("error", "timeout"):
        route = await _reread_neighbour(base.route, deadline)
        return dataclasses.replace(result, route=route)
    if tcp.outcome == "connected" and target.url is not None:
        from netdx.probes.http import http_get

        http = await http_get(
            target.url,
            host=target.host,
            address=base.address,
            port=port,
            deadline=deadline,
            verify_tls=settings.verify_tls,
        )
        return dataclasses.replace(result, http=http)
    return result


def _settle_rtt(task: asyncio.Task[IcmpEcho], rtt: asyncio.Future[float | None]) -> None:
    if rtt.done():
        return
    if task.cancelled() or task.exception() is not None:
        rtt.set_result(None)
    else:
        rtt.set_result(task.result().rtt_ms)


async def _finish_echo(
    task: asyncio.Task[IcmpEcho], address: str, tcp: TcpConnect, deadline: Deadline
) -> IcmpEcho:
    """Wait for the echo; once TCP has answered, only briefly: TCP already proved the host."""
    grace = deadline.remaining() if tcp.outcome == "timeout" else ECHO_GRACE_S
    done, _ = await asyncio.wait({task}, timeout=min(grace, deadline.remaining()))
    if task in done:
        return task.result()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return IcmpEcho(
        address=address,
        status="timeout",
        reason="no echo reply yet; not waited for longer because TCP had answered",
    )


async def _after_timeout(
    result: AddressEvidence, port: int, echo: IcmpEcho, deadline: Deadline
) -> AddressEvidence:
    """A silent SYN: is it our own egress filter, a router on the way, or the target?"""
    from netdx.probes.egress import egress_check
    from netdx.probes.firewall import local_firewall
    from netdx.probes.tcptrace import tcp_trace

    trace_wait = 1.0 if echo.rtt_ms is None else min(1.0, max(0.3, echo.rtt_ms * 10 / 1000))
    egress, path, route, wall = await asyncio.gather(
        _guard(
            egress_check(result.address, port, deadline=deadline.within(0.3)),
            lambda exc: EgressCheck(
                address=result.address, port=port, status="unknown", reason=str(exc)
            ),
        ),
        _guard(
            tcp_trace(result.address, port, deadline=deadline.within(trace_wait)),
            lambda exc: PathTrace(address=result.address, port=port, hops=(), reached=False),
        ),
        _reread_neighbour(result.route, deadline),
        local_firewall(
            result.address, port, route=result.route, hook="output", deadline=deadline.within(1.0)
        ),
    )
    return dataclasses.replace(result, egress=egress, path=path, route=route, firewall=wall)


async def _guard(call: Awaitable[T], on_error: Callable[[OSError], T]) -> T:
    """A probe that cannot run at all (an OSError like EPERM) becomes evidence, not a crash."""
    try:
        return await call
    except OSError as exc:
        return on_error(exc)


async def _watch_next_hop(
    route: RouteLookup | None, stop: asyncio.Future[None], deadline: Deadline
) -> None:
    """Resolve `stop` when the on-link next hop is still unresolved after a second."""
    if route is None or route.status != "ok" or route.ifindex is None:
        return
    from netdx.probes.route import neighbour_state

    await asyncio.sleep(min(NEIGHBOUR_PATIENCE_S, deadline.remaining()))
    hop = route.gateway or route.address
    state = neighbour_state(hop, route.ifindex, timeout=min(0.2, deadline.remaining()))
    if state in _DEAD_NEIGHBOUR and not stop.done():
        stop.set_result(None)


async def _reread_neighbour(route: RouteLookup | None, deadline: Deadline) -> RouteLookup | None:
    """After a failed connect the next hop's neighbour state tells whether it ever answered
    ARP/ND (FAILED/INCOMPLETE: the host is down on-link)."""
    if route is None or route.status != "ok" or route.ifindex is None:
        return route
    from netdx.probes.route import neighbour_state

    hop = route.gateway or route.address
    state = neighbour_state(hop, route.ifindex, timeout=min(0.3, deadline.remaining()))
    return dataclasses.replace(route, neighbour_state=state) if state else route
