"""One time budget for a whole command; every wait takes its deadline from it.

`Deadline` lives in the collector core (`netdx.collect.clock`), which is shipped to servers
and must bound its waits the same way; this is its name in the rest of netdx.
"""

from __future__ import annotations

import math

from netdx.collect.clock import Deadline, elapsed_ms

__all__ = ["TIMEOUT_MAX_S", "TIMEOUT_MIN_S", "Deadline", "elapsed_ms", "timeout_ok"]

# The one budget every command takes: long enough to send anything, short enough that a
# typo (3000 for 3.000) is caught rather than waited out.
TIMEOUT_MIN_S = 0.1
TIMEOUT_MAX_S = 300.0


def timeout_ok(seconds: float) -> bool:
    """Is `seconds` a usable budget? (nan, inf and 1e309 are not: a deadline of either
    overflows or never comes.)"""
    return math.isfinite(seconds) and TIMEOUT_MIN_S <= seconds <= TIMEOUT_MAX_S
