"""One timed run of a command: its wall time, its CPU time and its exit code.

Why not `subprocess.run(argv, timeout=...)`: with a timeout and no pipes to read, it waits
for the child by polling `waitpid(WNOHANG)` with sleeps that double from 0.5 ms up to 50 ms,
so a wall time read around it lands on the next poll: 0.5, 1.5, 3.5, 7.5, 15.5, 31.5, 63.5,
113.5, 163.5 ms... (the floor table's netdx rows read 114-116 and 165 ms for runs that took
60-110 ms, and a tool's 3.8 ms was a 3.5 ms step). Here the wait is one blocking `wait4`,
which also gives the child's own CPU time; a timer kills a run that overstays `timeout`, so
a bench still never hangs.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Sequence


def run_timed(argv: Sequence[str], *, timeout: float = 60.0) -> tuple[float, float, int]:
    """Run `argv` (no input, output discarded): wall ms, CPU ms (user + sys) and exit code."""
    wall, cpu, code, _ = run_usage(argv, timeout=timeout)
    return wall, cpu, code


def run_usage(argv: Sequence[str], *, timeout: float = 60.0) -> tuple[float, float, int, float]:
    """`run_timed` and the child's peak memory (max RSS, MB) as wait4 reports it: for
    `ip netns exec NS CMD`, which execs CMD in its own process, that is CMD's."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    wall = (time.perf_counter() - start) * 1000
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait
    return wall, (usage.ru_utime + usage.ru_stime) * 1000, proc.returncode, usage.ru_maxrss / 1024
