"""`netdx check`: run the plan's probes, then diagnose the evidence.

target → plan (`netdx.plan`, pure: what to probe next) → probes (I/O, driven here) →
evidence → rules (`netdx.diagnose`, pure) → verdict → report. `run_plan` is the thin loop:
it starts what the plan asks for concurrently, steers probes in flight as the plan signals,
and feeds every result back. Every probe takes its deadline from the one `--timeout` budget.
`run_plan` runs on asyncio (`run_check`, `gather_evidence`: --ssh, serve, verify, library
callers); the CLI's check without --ssh (`check_sync`) runs the same plan on threads
(`netdx.drive.drive_plan`) and imports asyncio only for a probe that needs it.
"""

from __future__ import annotations

import ipaddress
import time

from netdx.budget import Deadline, elapsed_ms
from netdx.errors import UsageError
from netdx.model import (
    CheckEvidence,
    DnsEvidence,
    EgressCheck,
    PathTrace,
    Report,
    Target,
)
from netdx.model.evidence import AuthoritativeCheck, UdpExchange
from netdx.model.server import ServerEvidence
from netdx.model.vantage import Vantage
from netdx.netlink._lazy import import_module
from netdx.plan import (
    AskAuthoritative,
    Cancel,
    CheckEgress,
    CheckPlan,
    CheckSettings,
    CollectServer,
    Connect,
    Echo,
    EvaluateFirewall,
    FetchHttp,
    Handshake,
    HandshakeTls,
    Hint,
    LookupRoute,
    NeighbourRead,
    NotRun,
    OpenServer,
    Probe,
    ReadNeighbour,
    ReadServer,
    Resolve,
    Settle,
    Signal,
    Stop,
    TraceTcp,
    limits,
)
from netdx.plan.address import family_of
from netdx.plan.requests import Datagram

# No asyncio, typing or dataclasses at import: the CLI's check runs on threads (netdx.drive)
# and imports asyncio only for a probe that needs it. mypy reads any name TYPE_CHECKING as
# typing's.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio
    from collections.abc import Awaitable, Callable, Coroutine
    from typing import Any, TypeVar

    from netdx.check_ssh import SessionFactory
    from netdx.plan import Result  # made on first use (netdx.plan.requests says why)

    T = TypeVar("T")
    ProbeRunner = Callable[[Probe, Deadline, "Steering | None"], Coroutine[Any, Any, Result]]

__all__ = [
    "CheckSettings",
    "Steering",
    "check",
    "check_sync",
    "gather_evidence",
    "run_check",
    "run_plan",
    "run_probe",
    "validate_dns_servers",
    "vantage_of",
]

# How long past the deadline the loop still waits for a probe that overran its own deadline
# (a bug): then it stops and keeps what is known, so netdx never hangs.
OVERRUN_S = 2.0
NO_BUDGET = "the budget ran out before it could start"  # a probe's NotRun reason


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
    """Run a check to completion from synchronous code: the report and its evidence. Without
    --ssh the probes run on threads (`netdx.drive`, no event loop); --ssh's session is
    asyncio's, so that check runs `run_check`'s loop."""
    if settings.ssh is not None:
        import asyncio

        return asyncio.run(_check(target, settings))
    _validate(target, settings)
    from netdx.diagnose.engine import build_report
    from netdx.drive import drive_plan

    start = time.monotonic()
    deadline = Deadline.after(settings.timeout)
    plan = CheckPlan(target, settings, vantage=vantage_of(settings))
    evidence = drive_plan(plan, deadline)
    return build_report(target, evidence, elapsed_ms(start)), evidence


async def run_check(target: Target, settings: CheckSettings) -> Report:
    """Probe `target` within `settings.timeout` seconds and return the diagnosed report."""
    report, _ = await _check(target, settings)
    return report


# Public alias: `netdx.check(...)` reads well from Python code.
check = run_check


async def _check(target: Target, settings: CheckSettings) -> tuple[Report, CheckEvidence]:
    _validate(target, settings)
    from netdx.diagnose.engine import build_report

    start = time.monotonic()
    deadline = Deadline.after(settings.timeout)
    evidence = await gather_evidence(target, settings, deadline)
    return build_report(target, evidence, elapsed_ms(start)), evidence


def _validate(target: Target, settings: CheckSettings) -> None:
    """Refuse contradictory input before any probe runs."""
    if target.ip_literal and settings.family not in (None, family_of(target.host)):
        raise UsageError(
            f"-{settings.family} given but {target.host} is an IPv{family_of(target.host)} address"
        )
    if settings.ssh is not None and target.port is None:
        raise UsageError(f"--ssh reads the server's side of a port: give {target.host}:PORT")
    if settings.ssh is not None and target.is_datagram:
        # The server's read is of a TCP port (listeners, SYN capture): not yet of UDP.
        raise UsageError(f"--ssh reads the server's side of a TCP port, not {target.scheme}://")
    if settings.root_hints is not None:
        from netdx.files import MIB, read_user_file

        read_user_file(settings.root_hints, what="root hints", limit=MIB)  # before any probe


def vantage_of(settings: CheckSettings) -> Vantage:
    """Where the probes run: as set, else the named network namespace this process is in
    (entered by --netns or `ip netns exec`), else this host."""
    if settings.observed_on is not None:
        return settings.observed_on
    from netdx.host.netns import here

    return here()


async def gather_evidence(
    target: Target,
    settings: CheckSettings,
    deadline: Deadline,
    *,
    session_factory: SessionFactory | None = None,
) -> CheckEvidence:
    """Run the check's plan to the end: DNS, then every address side by side, and with
    --ssh the server's side around them (`session_factory` replaces SSH in tests)."""
    plan = CheckPlan(target, settings, vantage=vantage_of(settings))
    if settings.ssh is None:
        return await run_plan(plan, deadline)
    from netdx.check_ssh import ServerLink

    # The client's probes end early enough for the server's second read to come back.
    reserve = limits.server_reserve(settings.timeout)
    probes = deadline.within(deadline.remaining() - reserve)
    link = ServerLink(settings.ssh, deadline, probes, factory=session_factory)

    async def run(probe: Probe, whole: Deadline, steer: Steering | None) -> Result:
        if isinstance(probe, OpenServer):
            # The arm wait is a share of the whole budget (it ends well before `probes`).
            return await link.open(probe, probe.budget.deadline(whole))
        if isinstance(probe, CollectServer):
            return await link.collect(probe)
        return await run_probe(probe, probes, steer)

    try:
        return await run_plan(plan, deadline, run=run)
    finally:
        await link.aclose()


# --- the loop ---------------------------------------------------------------------------------


class Steering:
    """What a steered probe listens to under `run_plan`: a connect the echo's RTT and a stop
    (end now); an echo only the stop (end at its first answer, `Settle`). The threaded
    driver's is `netdx.drive.SyncSteering`. (A plain class: a dataclass would cost the
    check path `dataclasses` for one pair of futures.)"""

    __slots__ = ("rtt", "stop")

    def __init__(self, *, rtt: asyncio.Future[float | None], stop: asyncio.Future[None]) -> None:
        self.rtt, self.stop = rtt, stop

# The module behind each probe kind, imported before its batch starts: a first import inside
# one task runs during another probe's measured wait (an echo module loading after the SYN
# left showed as 5 ms more on a 1 ms connect).
_MODULES: dict[type[Probe], str] = {
    Resolve: "netdx.probes.dns",
    LookupRoute: "netdx.probes.route",
    ReadNeighbour: "netdx.probes.route",
    Echo: "netdx.probes.icmp",
    Connect: "netdx.probes.tcp",
    Datagram: "netdx.probes.udp",
    CheckEgress: "netdx.probes.egress",
    TraceTcp: "netdx.probes.tcptrace",
    EvaluateFirewall: "netdx.probes.firewall",
    FetchHttp: "netdx.probes.http",
    Handshake: "netdx.probes.protocols",
    HandshakeTls: "netdx.probes.tlsport",
    ReadServer: "netdx.probes.server",
    AskAuthoritative: "netdx.dns.verify",
    OpenServer: "netdx.check_ssh",
    CollectServer: "netdx.remote.join",
}


def preload(probe: Probe) -> None:
    """Import the module that runs `probe` (a no-op once imported)."""
    import_module(_MODULES[type(probe)])


async def run_plan(
    plan: CheckPlan, deadline: Deadline, *, run: ProbeRunner | None = None
) -> CheckEvidence:
    """Start the plan's probes concurrently, apply its signals, feed it every result, until
    nothing is left to run; the evidence. `run` replaces the real probes in tests."""
    import asyncio

    run = run or run_probe
    loop = asyncio.get_running_loop()
    hard_stop = Deadline(deadline.at + OVERRUN_S)
    tasks: dict[asyncio.Task[Result], Probe] = {}
    by_id: dict[int, asyncio.Task[Result]] = {}
    steering: dict[int, Steering] = {}
    timers: list[asyncio.TimerHandle] = []
    try:
        while True:
            batch = plan.next_probes()
            for probe in batch:
                if probe.budget.deadline(deadline) is not None:
                    preload(probe)  # a probe with no budget left ends at once, unloaded
            for probe in batch:
                steer = None
                if isinstance(probe, Connect | Echo) and probe.steered:
                    steer = Steering(rtt=loop.create_future(), stop=loop.create_future())
                    steering[probe.id] = steer
                task = asyncio.create_task(run(probe, deadline, steer))
                tasks[task] = probe
                by_id[probe.id] = task
            for signal in plan.signals():
                _apply(signal, by_id, steering, timers, deadline)
            if not tasks:
                break
            done, _ = await asyncio.wait(
                tasks, timeout=hard_stop.remaining(), return_when=asyncio.FIRST_COMPLETED
            )
            if not done:
                break  # a probe overran its deadline: keep what is known
            for task in sorted(done, key=lambda t: tasks[t].id):
                probe = tasks.pop(task)
                del by_id[probe.id]
                steering.pop(probe.id, None)
                plan.feed(probe.id, _outcome(task))
    finally:
        for timer in timers:
            timer.cancel()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return plan.evidence()


def _apply(
    signal: Signal,
    by_id: dict[int, asyncio.Task[Result]],
    steering: dict[int, Steering],
    timers: list[asyncio.TimerHandle],
    deadline: Deadline,
) -> None:
    """Pass a signal to the probe in flight it names (a probe already ended ignores it)."""
    import asyncio

    steer = steering.get(signal.to)
    if isinstance(signal, Hint) and steer is not None and not steer.rtt.done():
        steer.rtt.set_result(signal.rtt_ms)
    elif isinstance(signal, Stop | Settle) and steer is not None and not steer.stop.done():
        steer.stop.set_result(None)
    elif isinstance(signal, Cancel) and signal.to in by_id:
        task = by_id[signal.to]
        wait = min(signal.after_s, deadline.remaining())
        if wait <= 0:
            task.cancel()
        else:
            timers.append(asyncio.get_running_loop().call_later(wait, task.cancel))


def _outcome(task: asyncio.Task[Result]) -> Result:
    """The probe's result; a cancelled probe did not run to its end. A probe that raised is
    a bug (network outcomes are values), so the exception ends the check."""
    if task.cancelled():
        return NotRun(reason="cancelled")
    return task.result()


# --- one probe request → one probe ----------------------------------------------------------


async def run_probe(probe: Probe, deadline: Deadline, steer: Steering | None) -> Result:
    """Run one probe request under its share of the budget."""
    if probe.budget.start_after_s > 0:
        import asyncio

        await asyncio.sleep(min(probe.budget.start_after_s, deadline.remaining()))
    limit = probe.budget.deadline(deadline)
    if limit is None:
        return NotRun(reason=NO_BUDGET)
    if isinstance(probe, Resolve):
        return await _resolve(probe, limit)
    if isinstance(probe, LookupRoute):
        from netdx.probes.route import route_lookup

        return await route_lookup(probe.address, deadline=limit)
    if isinstance(probe, Echo):
        from netdx.probes.icmp import icmp_echo

        settle = steer.stop if steer is not None else None
        return await icmp_echo(probe.address, deadline=limit, settle=settle)
    if isinstance(probe, Connect):
        from netdx.probes.tcp import tcp_connect

        rtt, stop = (steer.rtt, steer.stop) if steer is not None else (None, None)
        return await tcp_connect(probe.address, probe.port, deadline=limit, rtt_ms=rtt, stop=stop)
    if isinstance(probe, Datagram):
        return await _datagram(probe, limit)
    if isinstance(probe, ReadNeighbour):
        return read_neighbour(probe, limit)
    if isinstance(probe, CheckEgress | TraceTcp):
        return await _raw_probe(probe, limit)
    if isinstance(probe, EvaluateFirewall):
        from netdx.probes.firewall import local_firewall

        return await local_firewall(
            probe.address, probe.port, route=probe.route, hook=probe.hook, deadline=limit
        )
    if isinstance(probe, FetchHttp):
        from netdx.probes.http import http_get

        return await http_get(
            probe.url,
            host=probe.host,
            address=probe.address,
            port=probe.port,
            deadline=limit,
            verify_tls=probe.verify_tls,
            options=probe.options,
        )
    if isinstance(probe, Handshake):
        from netdx.probes.protocols import handshake

        return await handshake(probe.protocol, probe.address, probe.port, deadline=limit)
    if isinstance(probe, HandshakeTls):
        from netdx.probes.tlsport import tls_exchange

        return await tls_exchange(
            probe.address,
            probe.port,
            name=probe.host,
            deadline=limit,
            options=probe.options,
            preface=probe.preface,
            inside=probe.inside,
        )
    if isinstance(probe, ReadServer):
        return await _read_server(probe, limit)
    if isinstance(probe, OpenServer | CollectServer):
        # The SSH session lives in gather_evidence's runner; without it there is none.
        return NotRun(reason="no SSH session (--ssh not given)")
    return await _authoritative(probe, limit)


async def _datagram(probe: Datagram, deadline: Deadline) -> UdpExchange:
    """udp:// sends an empty datagram; dns:// asks its question through the DNS transport."""
    from netdx.probes.udp import dns_service, udp_exchange

    if probe.query_name is None:
        return await udp_exchange(probe.address, probe.port, deadline=deadline)
    return await dns_service(
        probe.address, probe.port, probe.query_name, probe.query_type, deadline=deadline
    )


def read_neighbour(probe: ReadNeighbour, deadline: Deadline) -> NeighbourRead:
    """The next hop's NUD state (a single netlink request: read in place, it does not wait;
    both loops call it as it is)."""
    from netdx.probes.route import neighbour_state

    route = probe.route
    if route.ifindex is None:
        return NeighbourRead(state=None)
    hop = route.gateway or route.address
    return NeighbourRead(state=neighbour_state(hop, route.ifindex, timeout=deadline.remaining()))


async def _raw_probe(probe: CheckEgress | TraceTcp, deadline: Deadline) -> EgressCheck | PathTrace:
    """The raw-socket probes; one that cannot run at all (an OSError like EPERM) becomes
    evidence, not a crash."""
    if isinstance(probe, CheckEgress):
        from netdx.probes.egress import egress_check

        return await _guard(
            egress_check(probe.address, probe.port, deadline=deadline),
            lambda exc: EgressCheck(
                address=probe.address, port=probe.port, status="unknown", reason=str(exc)
            ),
        )
    from netdx.probes.tcptrace import tcp_trace

    return await _guard(
        tcp_trace(probe.address, probe.port, deadline=deadline),
        lambda exc: PathTrace(address=probe.address, port=probe.port, hops=(), reached=False),
    )


async def _guard(call: Awaitable[T], on_error: Callable[[OSError], T]) -> T:
    try:
        return await call
    except OSError as exc:
        return on_error(exc)


# --- the probes that need a word of adaptation: DNS and the local server read ---------------


async def _resolve(probe: Resolve, deadline: Deadline) -> DnsEvidence:
    """NSS and the DNS servers for the target name, stamped with the time they were taken."""
    from netdx.probes.dns import resolve

    dns = await resolve(
        probe.name, family=probe.family, deadline=deadline, servers=probe.servers or None
    )
    return stamped(dns)


def stamped(dns: DnsEvidence) -> DnsEvidence:
    """DNS evidence stamped with the time it was taken (both loops' Resolve)."""
    from dataclasses import replace

    return replace(dns, checked_at=round(time.time(), 3))


async def _authoritative(
    probe: AskAuthoritative, deadline: Deadline
) -> AuthoritativeCheck | NotRun:
    """What the zone's authoritative servers say now (`netdx.dns.verify` finds them)."""
    from pathlib import Path

    from netdx.dns.resolvconf import parse_server
    from netdx.dns.verify import authoritative_check, configured_resolvers

    hints = Path(probe.root_hints) if probe.root_hints else None
    resolvers = tuple(parse_server(s) for s in probe.resolvers) or configured_resolvers()
    checked = await authoritative_check(
        probe.name, probe.rtype, deadline=deadline, root_hints=hints, resolvers=resolvers
    )
    return checked if checked is not None else NotRun(reason="no authoritative server found")


async def _read_server(probe: ReadServer, deadline: Deadline) -> ServerEvidence:
    """The server side of the port on this host: listeners, owners, queues (evidence only;
    diagnose.server judges it)."""
    from netdx.probes.server import read_server

    return await read_server(probe.address, probe.port, deadline=deadline)
