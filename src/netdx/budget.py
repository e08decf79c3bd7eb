"""One time budget for a whole command; every wait takes its deadline from it.

`Deadline` lives in the collector core (`netdx.collect.clock`), which is shipped to servers
and must bound its waits the same way; this is its name in the rest of netdx.
"""

from __future__ import annotations

from netdx.collect.clock import Deadline, elapsed_ms

__all__ = ["Deadline", "elapsed_ms"]
