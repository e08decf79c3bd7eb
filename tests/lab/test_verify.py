"""`netdx verify` in the payment lab: run inside the payment host's namespace with
`from: local` flows, the expected deny (port.filtered) and an allowed flow pass, wrong
expectations fail with exit 1, and the JUnit file says so and is valid for Jenkins."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import xmlschema

from netdx.lab import Lab, load_scenario

pytestmark = pytest.mark.lab

HANG_GUARD_S = 60.0  # only against a hang: the flows' own budgets are 2 s each
XSD = Path(__file__).parents[1] / "unit" / "fixtures" / "junit" / "junit-10.xsd"
INVENTORY = "[dns]\nns1 ansible_host=10.0.0.53\n[db]\ndb-server-01 ansible_host=10.0.0.20\n"
AS_EXPECTED = """\
defaults: {timeout: 2}
flows:
  - name: payments-to-db
    from: local
    to: db:5432
    expect: deny
    deny_by: [port.filtered]
  - name: payments-to-dns
    from: local
    to: ns1:53
    expect: allow
"""
WRONG = """\
defaults: {timeout: 2}
flows:
  - name: db-should-open
    from: local
    to: db-server-01:5432
    expect: allow
  - name: db-down-not-blocked
    from: local
    to: db-server-01:5432
    expect: deny
    deny_by: [port.refused]
"""


def _verify(lab: Lab, tmp: Path, name: str, flows: str) -> tuple[int, dict[str, Any], ET.Element]:
    """`netdx verify` on the payment host: exit code, the JSON document, the JUnit root."""
    (tmp / f"{name}.yaml").write_text(flows)
    (tmp / "hosts.ini").write_text(INVENTORY)
    junit = tmp / f"{name}.xml"
    argv = [sys.executable, "-m", "netdx", "verify", str(tmp / f"{name}.yaml")]
    argv += ["-i", str(tmp / "hosts.ini"), "--json", "--junit", str(junit), "--deadline", "20"]
    proc = subprocess.run(
        lab.exec_argv("payment", argv),
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        check=False,
    )
    assert proc.stderr == "", proc.stderr
    xmlschema.XMLSchema(str(XSD)).validate(str(junit))
    return proc.returncode, json.loads(proc.stdout), ET.parse(junit).getroot()


def test_verify_in_the_payment_lab(lab_env: Path, tmp_path: Path) -> None:
    """The firewalled DB is an expected deny by port.filtered and DNS is an allowed flow
    (exit 0, no failure in JUnit); expecting the DB open, or down rather than blocked,
    fails both flows with exit 1 and JUnit failures carrying the cause."""
    with Lab(load_scenario("payment-db-firewall")) as lab:
        rc, doc, root = _verify(lab, tmp_path, "ok", AS_EXPECTED)
        assert rc == 0, doc["results"]
        assert [(r["to"], r["outcome"], r["cause"]) for r in doc["results"]] == [
            ("db-server-01:5432", "pass", "port.filtered"),
            ("ns1:53", "pass", "ok"),
        ]
        assert doc["results"][0]["report"]["target"]["host"] == "10.0.0.20"  # ansible_host
        assert (root.get("failures"), root.get("errors"), root.get("tests")) == ("0", "0", "2")

        rc, doc, root = _verify(lab, tmp_path, "wrong", WRONG)
        assert rc == 1
        assert [(r["outcome"], r["cause"]) for r in doc["results"]] == [
            ("fail", "port.filtered"),
            ("fail", "port.filtered"),
        ]
        failures = [case.find("failure") for case in root.iter("testcase")]
        assert [f.get("type") if f is not None else None for f in failures] == [
            "port.filtered",
            "port.filtered",
        ]
        assert [case.get("name") for case in root.iter("testcase")] == [
            "db-server-01:5432 expect=allow",
            "db-server-01:5432 expect=deny",
        ]
        assert all("verdict: port.filtered" in (f.text or "") for f in failures if f is not None)
