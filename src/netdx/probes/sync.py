"""The probes `netdx.drive` runs without asyncio, by request kind: each takes the request,
its own deadline (its share of the budget, already taken) and the thread's `SyncSteering`.

A kind missing here runs its coroutine (`netdx.check.run_probe`) on an event loop of its
thread's own. Each entry is the same probe as the coroutine's, sharing its logic: only the
wait differs (a poll on the probe's socket and the steering's eventfd, or a plain call
where the coroutine ran a synchronous read in a worker thread).
"""

from __future__ import annotations

TYPE_CHECKING = False  # mypy reads any name TYPE_CHECKING as typing's
if TYPE_CHECKING:
    from collections.abc import Callable

    from netdx.budget import Deadline
    from netdx.drive import SyncSteering
    from netdx.plan import Probe, Result

    SyncProbe = Callable[[Probe, Deadline, SyncSteering], Result]

SYNC_PROBES: dict[type[Probe], SyncProbe] = {}
