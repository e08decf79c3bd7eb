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


def wait_for_ping(namespace: str, *targets: str, guard_s: float = 20.0) -> None:
    """Wait until every target answers one ping from `namespace`: a fresh veth's IPv6
    link-local address and its neighbours take a moment after `link set up`. The guard only
    stops a lab that never comes up."""
    import time

    end = time.monotonic() + guard_s
    for target in targets:
        while subprocess.run(["ip", "netns", "exec", namespace, "ping", "-c1", "-W1", target],
                             capture_output=True, check=False).returncode != 0:
            assert time.monotonic() < end, f"the lab's IPv6 did not come up ({target})"
            time.sleep(0.2)
