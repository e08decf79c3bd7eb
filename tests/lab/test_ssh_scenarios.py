"""`make demo` for real: `netdx lab run payment-db-firewall` reads the database host over
SSH and its report names the server's drop rule with the counter this check raised.

(Every `ssh:` scenario's verdict and server evidence is asserted in test_lab_scenarios.py.)
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab

HANG_GUARD_S = 60.0


def test_demo_names_the_servers_rule_with_its_counter(lab_env: Path) -> None:
    """The demo's report quotes the rule of the server's ruleset (its handle) and the
    counter that rose during this check, and `lab run` says the verdict and the server's
    evidence matched."""
    proc = subprocess.run(
        [sys.executable, "-m", "netdx", "lab", "run", "payment-db-firewall"],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        check=False,
    )
    out = proc.stdout
    assert proc.returncode == 0, out[-2000:] + proc.stderr[-1000:]
    assert "--ssh root@10.0.0.20" in out
    assert "port.filtered" in out
    assert re.search(r"inet filter input handle \d+", out), out
    assert re.search(r"counter \+\d+", out), out
    assert "match:    yes" in out
    assert "server:   ssh.ok, firewall.drop, firewall.confirmed, capture.syn_in" in out
