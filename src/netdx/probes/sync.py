"""The probes `netdx.drive` runs without asyncio, by request kind: each takes the request,
its own deadline (its share of the budget, already taken) and the thread's `SyncSteering`.

A kind missing here runs its coroutine (`netdx.check.run_probe`) on an event loop of its
thread's own. Each entry is the same probe as the coroutine's, sharing its logic: only the
wait differs (a poll on the probe's socket and the steering's eventfd, or a plain call
where the coroutine ran a synchronous read in a worker thread).
"""

from __future__ import annotations

from netdx.plan import (
    Connect,
    Echo,
    EvaluateFirewall,
    LookupRoute,
    ReadNeighbour,
    ReadServer,
    Resolve,
)

TYPE_CHECKING = False  # mypy reads any name TYPE_CHECKING as typing's
if TYPE_CHECKING:
    from collections.abc import Callable

    from netdx.budget import Deadline
    from netdx.drive import SyncSteering
    from netdx.plan import Probe, Result

    SyncProbe = Callable[[Probe, Deadline, SyncSteering], Result]


def _resolve(probe: Probe, deadline: Deadline, steer: SyncSteering) -> Result:
    from netdx.check import stamped
    from netdx.probes.dns import resolve_sync

    assert isinstance(probe, Resolve)
    return stamped(resolve_sync(probe.name, family=probe.family, deadline=deadline,
                                servers=probe.servers or None))


def _route(probe: Probe, deadline: Deadline, steer: SyncSteering) -> Result:
    from netdx.probes.route import route_lookup_sync

    assert isinstance(probe, LookupRoute)
    return route_lookup_sync(probe.address, timeout=deadline.remaining())


def _neighbour(probe: Probe, deadline: Deadline, steer: SyncSteering) -> Result:
    from netdx.check import read_neighbour

    assert isinstance(probe, ReadNeighbour)
    return read_neighbour(probe, deadline)


def _echo(probe: Probe, deadline: Deadline, steer: SyncSteering) -> Result:
    from netdx.probes.icmp import icmp_echo_sync

    assert isinstance(probe, Echo)
    # An unsteered echo hears only the driver's cancel (the plan settles steered ones).
    return icmp_echo_sync(probe.address, deadline=deadline, steer=steer)


def _connect(probe: Probe, deadline: Deadline, steer: SyncSteering) -> Result:
    from netdx.probes.tcp import tcp_connect_sync

    assert isinstance(probe, Connect)
    return tcp_connect_sync(probe.address, probe.port, deadline=deadline, steer=steer)


def _firewall(probe: Probe, deadline: Deadline, steer: SyncSteering) -> Result:
    from netdx.probes.firewall import local_firewall_sync

    assert isinstance(probe, EvaluateFirewall)
    return local_firewall_sync(probe.address, probe.port, route=probe.route, hook=probe.hook,
                               deadline=deadline)


def _server(probe: Probe, deadline: Deadline, steer: SyncSteering) -> Result:
    from netdx.probes.server import read_server_sync

    assert isinstance(probe, ReadServer)
    return read_server_sync(probe.address, probe.port, deadline=deadline)


SYNC_PROBES: dict[type[Probe], SyncProbe] = {
    Resolve: _resolve,
    LookupRoute: _route,
    ReadNeighbour: _neighbour,
    Echo: _echo,
    Connect: _connect,
    EvaluateFirewall: _firewall,
    ReadServer: _server,
}
