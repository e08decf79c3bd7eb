"""The plan's bookkeeping: hand out probe ids, queue requests and signals, and route each
result back to the step of the plan that asked for it (like dns/trace's `_owner` map)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from netdx.plan.requests import Probe, Signal

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypeVar

    from netdx.plan.requests import Result  # made on first use (requests says why)

    P = TypeVar("P", bound=Probe)
    Handler = Callable[[Result], None]  # for mypy alone, as Result


class Desk:
    """Outboxes of probes and signals, and who waits for which result."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._handlers: dict[int, Handler] = {}
        self._probes: list[Probe] = []
        self._signals: list[Signal] = []

    def ask(self, make: Callable[[int], P], on: Handler) -> P:
        """Queue the probe `make(id)`; `on` gets its result."""
        probe = make(next(self._ids))
        self._handlers[probe.id] = on
        self._probes.append(probe)
        return probe

    def tell(self, signal: Signal) -> None:
        self._signals.append(signal)

    def deliver(self, probe_id: int, result: Result) -> None:
        """Hand `result` to whoever asked; a result nobody waits for is dropped."""
        handler = self._handlers.pop(probe_id, None)
        if handler is not None:
            handler(result)

    def waiting(self, probe_id: int | None) -> bool:
        """Is the result of `probe_id` still awaited?"""
        return probe_id is not None and probe_id in self._handlers

    @property
    def pending(self) -> int:
        return len(self._handlers)

    def take_probes(self) -> tuple[Probe, ...]:
        out, self._probes = tuple(self._probes), []
        return out

    def take_signals(self) -> tuple[Signal, ...]:
        out, self._signals = tuple(self._signals), []
        return out
