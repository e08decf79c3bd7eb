"""The fleet lab (`netdx.lab.fleet`): twelve hosts with real sshds behind a router, one
`netdx verify` run over its Ansible inventory and flows file from the lab's control host.
Every flow ends as the lab's faults say (each cause from its fault, the hosts netdx cannot
log into as `ssh.*` errors), the JUnit file is valid against Jenkins' schema, and the run
ends inside its own --deadline. Built once for the module, removed however it ends."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import xmlschema

from netdx.budget import Deadline
from netdx.lab import fleet as fleetlab
from netdx.lab.netns import list_namespaces

pytestmark = pytest.mark.lab

XSD = Path(__file__).parents[1] / "unit" / "fixtures" / "junit" / "junit-10.xsd"
DEADLINE_S = 30.0  # verify's own --deadline, checked against the elapsed time it reports
HANG_GUARD_S = 180.0  # only against a hang
Run = tuple[fleetlab.Fleet, int, dict[str, Any], str]


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    """The fleet, built once, and one `netdx verify --json --junit` on it: exit code, JSON
    document and JUnit text. The fleet's namespaces are gone afterwards, however it ends."""
    if os.geteuid() != 0:
        pytest.fail("lab tests need root and network namespaces")
    with tempfile.TemporaryDirectory(prefix="ndx-fleet-") as state:
        # A build that fails removes what it made; the built fleet is removed below.
        built = fleetlab.build(Path(state) / "fleet", deadline=Deadline.after(60.0))
        try:
            junit = Path(state) / "verify.xml"
            options = ["--json", "--junit", str(junit), "--max-concurrent", "16"]
            argv = fleetlab.verify_argv(built, *options, "--deadline", str(DEADLINE_S))
            env = {**os.environ, "XDG_CACHE_HOME": state}  # its shared SSH connections
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=HANG_GUARD_S, env=env
            )
            assert done.stdout, done.stderr
            yield built, done.returncode, json.loads(done.stdout), junit.read_text()
        finally:
            fleetlab.teardown(built)
    assert list_namespaces(fleetlab.FLEET_PREFIX) == []


def observed(result: dict[str, Any]) -> str:
    """The cause a result shows: the verdict's, or for an error the source's `ssh.<status>`
    (and its reason says so first, with ssh's words)."""
    if result["outcome"] == "error":
        assert result["reason"].startswith(f"{result['cause']}: "), result
    return str(result["cause"])


def test_every_flow_as_the_faults_say(run: Run) -> None:
    """Each of the 24 cases has the outcome and cause the lab's faults give it: the server
    rule port.filtered, the router ACL firewall.reject_admin, the loopback bind
    service.loopback_only read from the server (port.refused from a host), the stopped
    service port.refused, the dead host reach.host_unreachable; the refusing sshd and the
    dead host as sources are errors (ssh.auth, ssh.unreachable), so verify exits 3."""
    built, code, document, _ = run
    got = [
        (r["flow"], r["source_host"], r["to"], r["outcome"], observed(r))
        for r in document["results"]
    ]
    want = [(e.flow, e.source, e.destination, e.outcome, e.cause) for e in built.expected]
    assert got == want, document["results"]
    assert len(want) == 24 and {e.source for e in built.expected} >= {"web06", "db05"}
    assert document["summary"] == {"total": 24, "passed": 22, "failed": 0, "errors": 2}
    assert code == 3


def test_junit_is_valid_and_says_which_hosts_netdx_could_not_reach(
    run: Run,
) -> None:
    """The JUnit file validates against junit-10.xsd; the two unreachable sources are
    `<error>`s typed by ssh's status (with ssh's words in the message), and nothing is a
    `<failure>`."""
    _, _, _, junit = run
    xmlschema.XMLSchema(str(XSD)).validate(junit)
    cases = ET.fromstring(junit).findall(".//testcase")
    assert len(cases) == 24
    errors = {c.get("classname"): c.find("error") for c in cases if c.find("error") is not None}
    assert set(errors) == {"netdx.web.web06", "netdx.db.db05"}
    assert errors["netdx.web.web06"].get("message", "").startswith("ssh.auth:")  # type: ignore[union-attr]
    types = {name: error.get("type") for name, error in errors.items() if error is not None}
    assert types == {"netdx.web.web06": "ssh.auth", "netdx.db.db05": "ssh.unreachable"}
    assert not [c for c in cases if c.find("failure") is not None]


def test_the_run_ends_inside_its_budget(run: Run) -> None:
    """The whole matrix ends inside verify's --deadline by its own clock, and each flow's
    check inside that flow's own timeout."""
    _, _, document, _ = run
    assert 0 < document["elapsed_ms"] <= DEADLINE_S * 1000
    timeouts = {f.name: f.timeout or 5.0 for f in fleetlab.FLOWS}
    for result in document["results"]:
        if result["report"] is not None:
            assert result["report"]["elapsed_ms"] <= timeouts[result["flow"]] * 1000, result
