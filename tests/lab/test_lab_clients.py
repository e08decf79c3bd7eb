"""The lab's server-side states are real, as `ss` and a client see them (not only as netdx
says), and a client whose state never appears fails the build clearly, leaving nothing."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from netdx.errors import CannotRun
from netdx.lab import Lab, load_scenario, parse_scenario, services
from netdx.lab.run import leftovers

pytestmark = pytest.mark.lab


def _ss(lab: Lab, host: str, *args: str) -> str:
    argv = lab.exec_argv(host, ["ss", "-tanH", *args])
    return subprocess.run(argv, capture_output=True, text=True, timeout=10, check=True).stdout


def _nc(lab: Lab, host: str, addr: str, port: int) -> subprocess.CompletedProcess[str]:
    argv = lab.exec_argv(host, ["nc", "-z", "-v", "-w1", addr, str(port)])
    return subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)


def test_accept_queue_is_full_and_new_connects_hang(lab_env: Path) -> None:
    """backlog 4, never accept(): ss shows Recv-Q 5 over Send-Q 4 (the kernel's backlog + 1),
    and a new connect from the payment host gets no answer at all (timeout, not refused)."""
    with Lab(load_scenario("app-accept-queue-full")) as lab:
        listener = _ss(lab, "db-server-01", "state", "listening", "sport = :8080").split()
        assert listener[:2] == ["5", "4"], listener
        result = _nc(lab, "payment", "10.0.0.20", 8080)
        assert result.returncode != 0
        assert "refused" not in result.stderr.lower(), result.stderr


def test_close_wait_sockets_pile_up_on_the_server(lab_env: Path) -> None:
    """The churn client's 15 closes leave 15 CLOSE-WAIT sockets on db-server-01:8080, all
    from the payment host (the lab's readiness check added none)."""
    with Lab(load_scenario("app-close-wait-leak")) as lab:
        lines = _ss(lab, "db-server-01", "state", "close-wait", "sport = :8080").splitlines()
        assert len(lines) == 15
        assert all(re.search(r"10\.0\.0\.10:\d+\s*$", line) for line in lines), lines


def test_loopback_listener_refuses_the_lan_and_serves_localhost(lab_env: Path) -> None:
    """postgres on 127.0.0.1:5432: refused from the payment host, accepted on the host."""
    with Lab(load_scenario("service-loopback-only")) as lab:
        assert "refused" in _nc(lab, "payment", "10.0.0.20", 5432).stderr.lower()
        assert _nc(lab, "db-server-01", "127.0.0.1", 5432).returncode == 0


UNROUTED_CHURN = """
name: unrouted-churn
topology: flat
description: A churn client that cannot reach its server.
fault: the client's address is on another subnet
client: a
check: ["10.0.0.2:80"]
expect: ok
links:
  lan: [a, b]
hosts:
  a: {addresses: {lan: [10.9.0.1/24]}}
  b: {addresses: {lan: [10.0.0.2/24]}}
services:
  - {host: b, kind: tcp, listen: "0.0.0.0:80", mode: leak}
  - {host: a, kind: churn, target: "10.0.0.2:80", count: 3}
"""


def test_client_state_that_never_appears_fails_clearly(
    lab_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No route for the churn client: the build stops with one CannotRun naming the client,
    what the server's port showed, the client's own error; nothing is left behind."""
    monkeypatch.setattr(services, "READY_TIMEOUT", 1.0)
    with pytest.raises(CannotRun) as caught, Lab(parse_scenario(UNROUTED_CHURN)):
        pytest.fail("the lab came up without its CLOSE-WAIT state")
    message = str(caught.value)
    assert message.startswith("lab: churn on a (to 10.0.0.2:80): the state is not there")
    assert "close_wait=0" in message
    assert "3 of 3 connects to 10.0.0.2:80 failed" in message
    assert leftovers() == []
