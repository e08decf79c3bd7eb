"""`netdx check --ssh` in the payment lab: `make demo` names the server's rule with its
counter, and when the SSH link fails (unknown host key, wrong key, SSH port dropped, sshd
stopped) the client's own verdict still comes within --timeout, with the ssh.* warning.

(Every `ssh:` scenario's verdict and server evidence is asserted in test_lab_scenarios.py.)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from netdx.lab import Lab, load_scenario
from netdx.lab.run import clean, leftovers

pytestmark = pytest.mark.lab

HANG_GUARD_S = 60.0
BUDGET_S = 3.0
# How far past --timeout a check may say it finished (its own clock), as in
# test_check_end_to_end: the synchronous work after the last wait (diagnosis, rendering).
LATE_S = 0.75
SERVER = "db-server-01"


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
    assert re.search(r"port\.filtered: .*\n?.*server's firewall drops", out), out
    assert re.search(r"inet filter input handle \d+", out), out
    assert re.search(r"counter \+\d+ during this check", out), out
    assert "match:    yes" in out
    assert "server:   ssh.ok, firewall.drop, firewall.confirmed, capture.syn_in" in out


@pytest.fixture(scope="module")
def payment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, Path]]:
    """One payment lab (with its sshd) for the failure cases, and a private cache dir so
    that no shared SSH connection of another test answers for a broken link."""
    if os.geteuid() != 0:
        pytest.fail("lab tests need root and network namespaces")
    assert leftovers() == [], "a lab is already up: run `netdx lab clean` first"
    try:
        with Lab(load_scenario("payment-db-firewall")) as lab:
            yield lab, tmp_path_factory.mktemp("cache")
    finally:
        if leftovers():
            clean()


def _check(lab: Lab, cache: Path, *ssh: str) -> dict[str, Any]:
    """`netdx check db-server-01:5432 --json --timeout BUDGET_S SSH...` on the payment host."""
    argv = [sys.executable, "-m", "netdx", "check", "db-server-01:5432", "--json",
            "--timeout", str(BUDGET_S), *ssh]  # fmt: skip
    proc = subprocess.run(
        lab.exec_argv("payment", argv),
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        check=False,
        env={**os.environ, "XDG_CACHE_HOME": str(cache)},
    )
    assert proc.returncode == 1, proc.stderr[-1000:]
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def _ssh(lab: Lab, **change: str) -> list[str]:
    argv = lab.ssh_argv()
    for flag, value in change.items():
        argv[argv.index("--" + flag.replace("_", "-")) + 1] = value
    return argv


def _failed_link(doc: dict[str, Any], status: str) -> None:
    """The client's verdict as without --ssh, the link's failure as a warning beside it,
    within the budget."""
    assert doc["verdict"]["cause"] == "port.filtered"
    causes = [w["cause"] for w in doc["verdict"]["warnings"]]
    assert f"ssh.{status}" in causes, doc["verdict"]
    assert doc["elapsed_ms"] / 1000 <= BUDGET_S + LATE_S


def test_unknown_host_key_is_a_warning(payment: tuple[Lab, Path], tmp_path: Path) -> None:
    """A known_hosts without the server's key: ssh refuses it (the user's policy, never
    weakened), and the check says ssh.hostkey beside its own verdict."""
    lab, cache = payment
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    _failed_link(_check(lab, cache, *_ssh(lab, known_hosts=str(empty))), "hostkey")


def test_wrong_key_is_a_warning(payment: tuple[Lab, Path], tmp_path: Path) -> None:
    """A key the server does not accept: ssh.auth, never a password prompt."""
    lab, cache = payment
    key = tmp_path / "other_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    _failed_link(_check(lab, cache, *_ssh(lab, ssh_key=str(key))), "auth")


def test_dropped_ssh_port_keeps_the_budget(payment: tuple[Lab, Path]) -> None:
    """The server's firewall drops the SSH port too: ssh.timeout, and the verdict still
    comes within --timeout."""
    lab, cache = payment
    nft = lab.exec_argv(SERVER, ["nft", "-f", "-"])
    table = "table inet ndxssh { chain input { type filter hook input priority -10; " \
        "tcp dport 22 drop; }; }"
    subprocess.run(nft, input=table, text=True, check=True, timeout=30)
    try:
        doc = _check(lab, cache, *lab.ssh_argv())
    finally:
        drop = lab.exec_argv(SERVER, ["nft", "delete", "table", "inet", "ndxssh"])
        subprocess.run(drop, check=True, timeout=30)
    _failed_link(doc, "timeout")


def test_stopped_sshd_is_a_warning(payment: tuple[Lab, Path]) -> None:
    """No sshd on the server (runs last: it stops the lab's sshd): ssh.refused."""
    lab, cache = payment
    assert lab.sshd is not None
    lab.sshd.stop()
    _failed_link(_check(lab, cache, *lab.ssh_argv()), "refused")
