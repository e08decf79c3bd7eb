"""A short run of the fuzz harness (`make fuzz` runs the long one): 600 generated
invocations of every netdx command, with hostile arguments and files, in a network namespace
of their own with a real sshd on loopback, end without an internal error, a traceback or a
hang, and some of them run the remote collector over ssh. (`make fuzz` also fails on any
exit 3; this short run lists them only, since an ssh round trip inside a generated
sub-second budget depends on the machine's load.)"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parent.parent / "fuzz" / "fuzz_cli.py"


@pytest.mark.skipif(os.geteuid() != 0, reason="the harness isolates itself: needs root")
def test_short_fuzz_run_finds_no_internal_error() -> None:
    """The fixed-seed run passes and says how many invocations it made."""
    proc = subprocess.run(
        [sys.executable, str(HARNESS), "--examples", "600", "--allow-exit-3"],
        capture_output=True,
        text=True,
        timeout=900,  # a guard against a hang of the harness itself, not a speed limit
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = re.search(r"fuzz: (\d+) invocations of (\d+) commands", proc.stdout)
    assert found is not None, proc.stdout
    runs, commands = int(found.group(1)), int(found.group(2))
    assert runs >= 500 and commands >= 8, proc.stdout
    assert "0 internal errors, 0 tracebacks, 0 hangs" in proc.stdout
    ssh = re.search(r"with --ssh to the loopback sshd: (\d+) \(([^)]*)\)", proc.stdout)
    assert ssh is not None, proc.stdout
    reached = sum(int(n) for c, n in re.findall(r"exit (\d+): (\d+)", ssh.group(2)) if c != "2")
    assert reached >= 1, proc.stdout  # past the parser: ssh to the real sshd was run
