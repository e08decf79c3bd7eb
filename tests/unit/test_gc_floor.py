"""The process floor's garbage collector: a command's start-up allocations (modules,
classes, the model) do not trigger dozens of collections that free nothing. Counted, not
timed: the number of collections a refused loopback check runs does not depend on the
machine's speed."""

from __future__ import annotations

import socket
import subprocess
import sys

CHILD = """\
import gc, sys
runs = []
gc.callbacks.append(lambda phase, info: phase == "stop" and runs.append(info["generation"]))
sys.argv = ["netdx", "check", "127.0.0.1:%d", "--timeout", "5"]
from netdx.start import run
code = run()
print(len(runs), gc.get_threshold()[0], gc.get_freeze_count() > 1000, code)
"""


def test_a_refused_check_runs_a_handful_of_collections() -> None:
    """The `netdx` entry (`start.run`) raises the young generation's threshold: a refused
    loopback check (the whole command: imports, probes, verdict, output) runs fewer than five
    collections (it ran about fifty at CPython's default of 700); and it freezes what the
    command made, for the shutdown's last collection to skip."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: the SYN is refused
        port = closed.getsockname()[1]
        out = subprocess.run([sys.executable, "-c", CHILD % port], capture_output=True,
                             text=True, timeout=120, check=False)  # fmt: skip
    collections, threshold, frozen, code = out.stdout.split()[-4:]
    assert code == "1", out.stderr  # port.refused: the check ran to its verdict
    assert threshold == "50000"
    assert int(collections) < 5, f"{collections} collections"
    assert frozen == "True"  # the interpreter's last collection skips what the command made
