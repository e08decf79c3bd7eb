"""The range of the one `--timeout` budget every command takes.

Stdlib-only and import-free: `netdx.start` checks a `--timeout` with it before anything else
is imported, and `netdx.options` gives click's option the same check.
"""

from __future__ import annotations

import math

__all__ = ["TIMEOUT_MAX_S", "TIMEOUT_MIN_S", "timeout_ok"]

# Long enough to send anything, short enough that a typo (3000 for 3.000) is caught rather
# than waited out.
TIMEOUT_MIN_S = 0.1
TIMEOUT_MAX_S = 300.0


def timeout_ok(seconds: float) -> bool:
    """Is `seconds` a usable budget? (nan, inf and 1e309 are not: a deadline of either
    overflows or never comes.)"""
    return math.isfinite(seconds) and TIMEOUT_MIN_S <= seconds <= TIMEOUT_MAX_S
