"""`netdx check` from the command line without asyncio: the plan's probes on threads.

Importing asyncio (with ssl, logging, concurrent.futures and subprocess) cost a refused
loopback check ~25-50 ms of CPU, more than its probes and rules together. `drive_plan` is
`check.run_plan` on threads: each probe runs as a plain function in a daemon thread under
its share of the budget, results come back on a queue, and the main thread feeds the plan
in probe-id order, applies its signals and stops at the hard stop (`check.OVERRUN_S` past
the deadline) whatever a probe does. A steered probe hears Hint/Stop/Settle through its
`SyncSteering` (an eventfd in its poll set); a Cancel gives up on the probe at once (its
result is `NotRun("cancelled")`, as run_plan's) and wakes it so that its thread ends.

The probe kinds with a synchronous wait (`SYNC_PROBES` in `netdx.probes.sync`) run it;
every other kind runs its coroutine under `asyncio.run` inside its thread, so asyncio is
imported only when such a probe runs (HTTP, TLS, UDP, the raw probes...). The async API
(`run_check`, `gather_evidence`, `run_plan`) stays for --ssh, serve, verify and library
callers; both loops drive the same pure plan.
"""

from __future__ import annotations

import _heapq as heapq  # heapq.py's C functions, without heapq.py
import contextlib
import contextvars
import os
import select
import threading
import time
from _queue import Empty, SimpleQueue  # queue.py's very classes, without queue.py

from netdx.budget import Deadline
from netdx.check import NO_BUDGET, OVERRUN_S, preload
from netdx.plan import Cancel, Connect, Echo, Hint, NotRun, Settle, Stop

TYPE_CHECKING = False  # mypy reads any name TYPE_CHECKING as typing's
if TYPE_CHECKING:
    import signal
    from collections.abc import Callable

    from netdx.model import CheckEvidence
    from netdx.plan import CheckPlan, Probe, Result, Signal

    SyncRunner = Callable[[Probe, Deadline, "SyncSteering"], Result]
    Outcome = Result | BaseException
else:
    import _signal as signal  # signal.py makes enums of its constants: enum costs ~4 ms

__all__ = ["SyncSteering", "drive_plan", "run_probe_sync"]

_POLL_IN = select.POLLIN
_USER_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
# The driver's wait wakes at least this often, so a signal's handler never waits on it.
_WAKE_S = 0.5


class SyncSteering:
    """What the driver tells a probe thread in flight: the echo's round trip (`hint`), the
    end of its wait (`stop`: Stop for a connect, Settle for an echo), or that the driver
    gave up on it (`cancel`). Each pokes an eventfd a waiting probe has in its poll set
    (`fileno`), or calls the listener a coroutine probe left (`listen`). Every probe thread
    gets one, steered or not: a Cancel must reach any wait."""

    __slots__ = ("_fd", "_listener", "_lock", "cancelled", "rtt_known", "rtt_ms", "stopped")

    def __init__(self) -> None:
        self._fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._lock = threading.Lock()
        self._listener: Callable[[], None] | None = None
        self.rtt_ms: float | None = None
        self.rtt_known = False
        self.stopped = False
        self.cancelled = False

    def fileno(self) -> int:
        """The eventfd to poll for POLLIN beside the probe's own socket."""
        return self._fd

    def hint(self, rtt_ms: float | None) -> None:
        with self._lock:
            if self.rtt_known:
                return
            self.rtt_ms, self.rtt_known = rtt_ms, True
        self._poke()

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
        self._poke()

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
        self._poke()

    @property
    def ended(self) -> bool:
        """Told to end now: stopped or cancelled."""
        return self.stopped or self.cancelled

    def listen(self, call: Callable[[], None]) -> None:
        """Call `call` (in the signalling thread) after every signal from now on, and once
        now: a coroutine probe's thread reads the state from it."""
        with self._lock:
            self._listener = call
        call()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds` or until a signal comes: whether one came."""
        if seconds > 0 and self._fd >= 0:
            poller = select.poll()
            poller.register(self._fd, _POLL_IN)
            poller.poll(seconds * 1000.0)
        return self.drain()

    def drain(self) -> bool:
        """Empty the eventfd (after a poll found it readable): whether it held a signal."""
        with contextlib.suppress(BlockingIOError, OSError):
            return os.eventfd_read(self._fd) > 0
        return False

    def sleep(self, seconds: float) -> None:
        """Sleep `seconds`, ending early only when cancelled."""
        end = time.monotonic() + seconds
        while not self.cancelled and (left := end - time.monotonic()) > 0:
            self.wait(left)

    def close(self) -> None:
        """Release the eventfd once the probe has ended (a later signal is then dropped)."""
        with self._lock:
            fd, self._fd = self._fd, -1
            self._listener = None
        if fd >= 0:
            os.close(fd)

    def _poke(self) -> None:
        # Under the lock: `close` cannot release the descriptor (and another file take its
        # number) between the check and the write.
        with self._lock:
            if self._fd >= 0:
                os.eventfd_write(self._fd, 1)
            listener = self._listener
        if listener is not None:
            listener()


def _steered(probe: Probe) -> bool:
    return isinstance(probe, Connect | Echo) and probe.steered


class _Driver:
    """The probes in flight and what has come back from them, between two feeds."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self.hard_stop = Deadline(deadline.at + OVERRUN_S)
        self.results: SimpleQueue[tuple[int, Outcome]] = SimpleQueue()
        self.flying: dict[int, tuple[Probe, SyncSteering]] = {}
        self.ready: dict[int, Outcome] = {}
        self.timers: list[tuple[float, int]] = []  # (when, probe id) of the delayed Cancels

    def start(self, run: SyncRunner, probe: Probe) -> None:
        steer = SyncSteering()
        self.flying[probe.id] = (probe, steer)
        # A thread starts in an empty context: each runs in a copy of this one, as asyncio's
        # tasks do, so the probes see the run's --source/--interface (probes.bind).
        context = contextvars.copy_context()
        thread = threading.Thread(target=context.run, args=(_run_one, run, probe, self.deadline,
                                                            steer, self.results),
                                  name=f"netdx-probe-{probe.id}", daemon=True)
        thread.start()

    def apply(self, signal: Signal) -> None:
        """Pass a signal to the probe in flight it names (a probe already ended ignores it)."""
        flying = self.flying.get(signal.to)
        if flying is None or signal.to in self.ready:
            return
        probe, steer = flying
        if isinstance(signal, Hint) and _steered(probe):
            steer.hint(signal.rtt_ms)
        elif isinstance(signal, Stop | Settle) and _steered(probe):
            steer.stop()
        elif isinstance(signal, Cancel):
            wait = min(signal.after_s, self.deadline.remaining())
            if wait <= 0:
                self._drain()  # a result already back is kept, as a finished task's
                self._cancel(signal.to)
            else:
                heapq.heappush(self.timers, (time.monotonic() + wait, signal.to))

    def wait(self) -> bool:
        """Block until some probe has ended (or was cancelled): True; False at the hard
        stop (a probe overran its deadline: the check keeps what is known)."""
        while True:
            self._drain()
            now = time.monotonic()
            while self.timers and self.timers[0][0] <= now:
                self._cancel(heapq.heappop(self.timers)[1])
            if self.ready:
                return True
            if self.hard_stop.expired:
                return False
            timeout = self.hard_stop.remaining()
            if self.timers:
                timeout = min(timeout, self.timers[0][0] - now)
            try:
                self._take(*self.results.get(timeout=min(max(0.0, timeout), _WAKE_S)))
            except Empty:
                continue

    def ended(self) -> list[tuple[int, Outcome]]:
        """The probes that ended, in probe-id order (as run_plan feeds them), now done."""
        out = sorted(self.ready.items())
        self.ready.clear()
        for probe_id, _ in out:
            del self.flying[probe_id]
        return out

    def abandon(self) -> None:
        """Cancel every probe still in flight (their threads end; results are dropped)."""
        for _, steer in self.flying.values():
            steer.cancel()

    def _drain(self) -> None:
        while True:
            try:
                self._take(*self.results.get_nowait())
            except Empty:
                return

    def _take(self, probe_id: int, outcome: Outcome) -> None:
        if probe_id in self.flying and probe_id not in self.ready:
            self.ready[probe_id] = outcome  # a cancelled probe's late result is dropped

    def _cancel(self, probe_id: int) -> None:
        if probe_id in self.flying and probe_id not in self.ready:
            self.ready[probe_id] = NotRun(reason="cancelled")
            self.flying[probe_id][1].cancel()


def _run_one(run: SyncRunner, probe: Probe, deadline: Deadline, steer: SyncSteering,
             results: SimpleQueue[tuple[int, Outcome]]) -> None:
    """A probe thread: its result, or the exception a bug raised, goes back on the queue.
    The thread blocks the signals a user sends (and the threads it starts inherit that):
    the kernel may hand a process's signal to any thread that does not block it, and
    Python runs its handler only in the main thread, which a Ctrl-C caught by a sleeping
    probe thread would not wake until the driver's wait timed out."""
    signal.pthread_sigmask(signal.SIG_BLOCK, _USER_SIGNALS)
    outcome: Outcome
    try:
        outcome = run(probe, deadline, steer)
    except BaseException as exc:  # re-raised by the driver's thread
        outcome = exc
    finally:
        steer.close()
    results.put((probe.id, outcome))


def drive_plan(
    plan: CheckPlan, deadline: Deadline, *, run: SyncRunner | None = None
) -> CheckEvidence:
    """`run_plan` without asyncio: start the plan's probes on threads, apply its signals,
    feed it every result, until nothing is left to run; the evidence. `run` replaces the
    real probes in tests. A probe that raised is a bug: its exception ends the check."""
    run = run or run_probe_sync
    driver = _Driver(deadline)
    try:
        while True:
            batch = plan.next_probes()
            for probe in batch:
                if probe.budget.deadline(deadline) is not None:
                    preload(probe)  # imported here, not during another probe's measured wait
            for probe in batch:
                driver.start(run, probe)
            for signal in plan.signals():
                driver.apply(signal)
            if not driver.flying or not driver.wait():
                break
            for probe_id, outcome in driver.ended():
                if isinstance(outcome, BaseException):
                    raise outcome
                plan.feed(probe_id, outcome)
    finally:
        driver.abandon()
    return plan.evidence()


# --- one probe request → one probe ----------------------------------------------------------


def run_probe_sync(probe: Probe, deadline: Deadline, steer: SyncSteering) -> Result:
    """Run one probe request under its share of the budget, in the calling thread: its
    synchronous version when it has one, else its coroutine under `asyncio.run`."""
    from netdx.probes.sync import SYNC_PROBES

    sync = SYNC_PROBES.get(type(probe))
    if sync is None:
        return _in_loop(probe, deadline, steer)
    if probe.budget.start_after_s > 0:
        steer.sleep(min(probe.budget.start_after_s, deadline.remaining()))
        if steer.cancelled:
            return NotRun(reason="cancelled")  # dropped: the driver has given up on it
    limit = probe.budget.deadline(deadline)
    if limit is None:
        return NotRun(reason=NO_BUDGET)
    return sync(probe, limit, steer)


def _in_loop(probe: Probe, deadline: Deadline, steer: SyncSteering) -> Result:
    """`check.run_probe` on an event loop of this thread's own; a Cancel cancels its task
    from the driver's thread (`call_soon_threadsafe`), as run_plan's would."""
    import asyncio

    from netdx.check import run_probe

    async def main() -> Result:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None

        def heard() -> None:  # in the driver's thread
            if steer.cancelled:
                with contextlib.suppress(RuntimeError):  # the loop has already closed
                    loop.call_soon_threadsafe(task.cancel)

        steer.listen(heard)
        # No steering: the steered kinds (Connect, Echo) all have a synchronous version.
        return await run_probe(probe, deadline, None)

    try:
        return asyncio.run(main())
    except asyncio.CancelledError:
        return NotRun(reason="cancelled")
