"""A refused loopback check, as text and as JSON, loads none of the modules issue 14's floor
work took off its path (each was measured: callgrind instruction counts of the whole
process, in the commit that removed it):

- socket.py and signal.py, and so `enum` and `selectors`: the probes, netlink and the
  collectors take socket's names from the C module (`netdx.netlink.csocket`), the driver
  signal's from `_signal`; queue.py and heapq.py (their classes and functions are `_queue`'s
  and `_heapq`'s);
- `netdx.model.remote` and `netdx.plan.server`: --ssh's evidence (named only in
  annotations, read lazily) and its step of the plan;
- with --json, the codec's decoding half and what it brings: typing, dataclasses, inspect
  (`netdx.model.data` encodes); json's own `re` still brings enum there.

The modules are read from `sys.modules` when the process ends, so an import anywhere on the
path (runner, probes, rules, renderer, a lazy one at run time) counts. No timing is asserted.
"""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from no_tables import NO_TABLES

# Off the refused check's path, text or JSON (with --json, the json module's own `re` brings
# enum back: netdx adds nothing to it).
NEVER = ("socket", "signal", "selectors", "queue", "heapq", "netdx.model.remote",
         "netdx.plan.server", "typing",
         "dataclasses", "inspect", "netdx.model.codec")
TEXT_NEVER = ("enum", "re")

# On a host without firewall tables, whatever this machine holds (no_tables.py says why).
_RUN = NO_TABLES + """import atexit
atexit.register(lambda: print("MODULES", *sorted(sys.modules)))
from netdx.start import run
sys.exit(run())
"""


def _refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_refused_check_loads_none_of_the_removed_modules(extra: list[str]) -> None:
    """`netdx check 127.0.0.1:PORT` (refused), as the netdx script starts it, reaches its
    verdict with none of NEVER in sys.modules at exit."""
    argv = [sys.executable, "-c", _RUN, "check", f"127.0.0.1:{_refused_port()}",
            "--timeout", "2", *extra]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "port.refused" in proc.stdout
    modules = set(proc.stdout.splitlines()[-1].split()[1:])
    assert "netdx.probes.tcp" in modules  # the record is of the check itself
    assert sorted(modules & {*NEVER, *(TEXT_NEVER if not extra else ())}) == []
