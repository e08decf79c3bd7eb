"""A small Python script run inside a lab namespace for the tests of one module (a TCP
listener, a DNS responder): started, awaited until it prints its ready line, and killed and
reaped however the tests end. Shared by the lab tests that each had a copy of it."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def script_in(namespace: str, script: str, ready: str) -> Iterator[subprocess.Popen[str]]:
    """`python -c script` inside `namespace` until the block ends; it has started once its
    first line is `ready` (a script that dies first prints nothing and the assert says so)."""
    proc = subprocess.Popen(["ip", "netns", "exec", namespace, sys.executable, "-c", script],
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == ready
        yield proc
    finally:
        proc.kill()  # nothing when a test killed it already
        proc.communicate(timeout=10)  # reaps it and closes its pipe
