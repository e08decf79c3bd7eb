"""One time budget for a whole command; every wait takes its deadline from it.

Defined here, in the collector core shipped to servers (Python 3.9, stdlib only), so that
the collector and the rest of netdx bound their waits with the same `Deadline`;
`netdx.budget` re-exports it.
"""

from __future__ import annotations

import time

from netdx.netlink._compat import record


@record
class Deadline:
    """An absolute point on the monotonic clock.

    Every await in netdx is bounded by `remaining()` of a deadline derived from the
    command's --timeout, so a black-holed network can never make netdx hang.
    """

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + max(0.0, seconds))

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.at - time.monotonic())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def within(self, seconds: float) -> Deadline:
        """A deadline `seconds` from now, but never later than this one."""
        return Deadline(min(self.at, time.monotonic() + max(0.0, seconds)))

    def share(self, fraction: float) -> Deadline:
        """A deadline at `fraction` of the time remaining."""
        return self.within(self.remaining() * fraction)


def elapsed_ms(start: float) -> float:
    """Milliseconds since `start` (a time.monotonic() value), rounded to 0.01 ms."""
    return round((time.monotonic() - start) * 1000.0, 2)
