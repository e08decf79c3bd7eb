"""The DNS rules are pure: importing them loads no I/O code (no DNS transport, probe, lab,
socket or event loop), so they can judge evidence captured anywhere."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
import netdx.diagnose.dns, netdx.diagnose.dns_compare, netdx.diagnose.dns_trace
io = ("socket", "asyncio", "subprocess", "ssl", "selectors")
print(sorted(m for m in sys.modules
             if m in io or m.startswith(("netdx.dns", "netdx.probes", "netdx.lab"))))
"""


def test_dns_rules_import_no_io() -> None:
    """A fresh interpreter that imports the three DNS rule modules has loaded none of the
    modules that talk to the network."""
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "[]"
