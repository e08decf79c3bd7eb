"""`netdx dns --compare` in the payment lab (nsd for netdx.internal., no public root in
reach): the authoritative answer comes from the zone's own server, found through the
resolver, and no root server is blamed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from netdx.lab import Lab, load_scenario

pytestmark = pytest.mark.lab


def test_compare_in_the_payment_lab_asks_the_zone_not_the_roots(lab_env: Path) -> None:
    """`dns db-server-01 --compare` (search netdx.internal): every source agrees, the
    authoritative row is ns1.netdx.internal's answer for the full name, and there is no
    `dns.lame_delegation` for `.` (it was: ENETUNREACH from all 13 roots); only the
    search-list warning remains."""
    scenario = load_scenario("healthy-flat")
    with Lab(scenario) as lab:
        argv = lab.exec_argv(scenario.client, [sys.executable, "-m", "netdx.dns",
                                               "db-server-01", "--compare", "--json"])
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert proc.stdout, proc.stderr
    doc = json.loads(proc.stdout)
    assert [f["cause"] for f in doc["findings"]] == ["dns.search_domain"], doc["findings"]
    assert proc.returncode == 0
    (auth,) = [r for r in doc["compare"]["sources"] if r["kind"] == "authoritative"]
    assert (auth["qname"], auth["status"], auth["addresses"]) == (
        "db-server-01.netdx.internal.", "ok", ["10.0.0.20"]), auth
    text = json.dumps(doc)
    assert "db-server-01.netdx.internal." in text and "10.0.0.20" in text
    assert "root-servers.net" not in text
