"""`netdx check udp://` against a UDP service that answers, between two namespaces (root):
the only UDP outcome the lab scenarios (udp-port-closed, udp-port-filtered) do not cover."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

pytestmark = pytest.mark.lab

PREFIX = "ndx-udQ"
SERVER, PORT = "10.93.0.2", 5514
# A one-datagram-at-a-time echo: what a syslog-like or game server would send back.
ECHO = (
    "import socket\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    f"s.bind(('{SERVER}', {PORT}))\n"
    "while True:\n"
    "    data, peer = s.recvfrom(2048)\n"
    "    s.sendto(b'ack ' + data, peer)\n"
)


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=60)


def destroy() -> None:
    for node in ("c", "s"):
        run("ip", "netns", "del", f"{PREFIX}-{node}", check=False)


@pytest.fixture(scope="module")
def echo_server() -> Iterator[None]:
    """c (10.93.0.1) -- s (10.93.0.2) with a UDP echo on s; nothing links to the root
    namespace, and the namespaces and the server go however the test ends."""
    destroy()
    server: subprocess.Popen[bytes] | None = None
    try:
        for node in ("c", "s"):
            run("ip", "netns", "add", f"{PREFIX}-{node}")
            run("ip", "-n", f"{PREFIX}-{node}", "link", "set", "lo", "up")
        run("ip", "-n", f"{PREFIX}-c", "link", "add", "udq0", "type", "veth", "peer", "name",
            "udq1", "netns", f"{PREFIX}-s")
        for node, dev, addr in (("c", "udq0", "10.93.0.1/24"), ("s", "udq1", f"{SERVER}/24")):
            run("ip", "-n", f"{PREFIX}-{node}", "addr", "add", addr, "dev", dev)
            run("ip", "-n", f"{PREFIX}-{node}", "link", "set", dev, "up")
        server = subprocess.Popen(["ip", "netns", "exec", f"{PREFIX}-s", sys.executable, "-c",
                                   ECHO], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_bound()
        yield
    finally:
        if server is not None:
            server.kill()
            server.wait(timeout=10)
        destroy()


def wait_bound() -> None:
    """Until the echo's socket is bound (ss in its namespace), at most 10 s."""
    give_up = time.monotonic() + 10.0
    while time.monotonic() < give_up:
        done = run("ip", "netns", "exec", f"{PREFIX}-s", "ss", "-Hunl", f"sport = :{PORT}")
        if done.stdout.strip():
            return
        time.sleep(0.05)
    pytest.fail("the UDP echo did not bind in 10 s")


def test_udp_service_that_answers_is_ok(echo_server: None) -> None:
    """A datagram the service answers: verdict ok, the port step passes with the reply."""
    argv = (sys.executable, "-m", "netdx", "check", "--netns", f"{PREFIX}-c", "--json",
            f"udp://{SERVER}:{PORT}")
    done = run(*argv, check=False)
    assert done.returncode == 0, done.stdout[-600:] + done.stderr[-600:]
    doc = json.loads(done.stdout)
    assert doc["verdict"]["cause"] == "ok"
    port = next(step for step in doc["steps"] if step["layer"] == "port")
    assert port["status"] == "pass"
    udp = port["evidence"]["udp"][0]
    assert udp["outcome"] == "reply" and udp["reply_bytes"] == len(b"ack ")
