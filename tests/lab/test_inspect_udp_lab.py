"""`inspect` and `who` on a UDP port against the kernel: one namespace with loopback only (no
link anywhere), a UDP socket bound to 127.0.0.1:5353 with a 1 KiB receive buffer that was
sent 50 datagrams it never read. inspect names it instead of "nothing listens" and reports
its drops; who notes them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.lab

NS = "ndx-udpins-s"
SRC = str(Path(__file__).resolve().parents[2] / "src")
SERVER = (
    "import socket,sys\n"
    "s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024); s.bind(('127.0.0.1', 5353))\n"
    "c=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "[c.sendto(b'x'*500, ('127.0.0.1', 5353)) for _ in range(50)]\n"
    "print('up', flush=True); sys.stdin.read()\n"
)


@pytest.fixture(scope="module")
def server_pid() -> Iterator[int]:
    """The namespace and the dropping UDP socket's process; removed however the tests end."""
    if os.geteuid() != 0:
        pytest.fail("lab tests need root and network namespaces")
    proc: subprocess.Popen[str] | None = None
    try:
        subprocess.run(["ip", "netns", "add", NS], check=True, timeout=30)
        subprocess.run(["ip", "-n", NS, "link", "set", "lo", "up"], check=True, timeout=30)
        proc = subprocess.Popen(["ip", "netns", "exec", NS, sys.executable, "-c", SERVER],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "up"
        yield proc.pid  # `ip netns exec` execs python: the same pid
    finally:
        if proc is not None:
            proc.kill()
            proc.wait(timeout=10)
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    pipe.close()
        subprocess.run(["ip", "netns", "del", NS], check=False, timeout=30)


def netdx(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run([sys.executable, "-m", "netdx", *args, "--netns", NS], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_inspect_names_the_udp_socket_and_its_drops(server_pid: int) -> None:
    """inspect --port 5353: ok (bound over UDP), the socket with its owner and drops, the
    warning app.udp_rcvbuf_drops, and UdpRcvbufErrors of the namespace."""
    result = netdx("inspect", "--port", "5353", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    assert doc["verdict"]["cause"] == "ok"
    assert "UDP port 5353 is bound (127.0.0.1:5353" in doc["verdict"]["summary"]
    (sock,) = doc["udp"]["sockets"]
    assert sock["local"] == "127.0.0.1:5353" and sock["process"]["pid"] == server_pid
    assert sock["drops"] >= 40 and doc["udp"]["rcvbuf_errors"] >= 40
    assert [w["cause"] for w in doc["verdict"]["warnings"]] == ["app.udp_rcvbuf_drops"]
    text = netdx("inspect", "--port", "5353").stdout
    assert "nothing listens" not in text and "dropped (receive buffer full)" in text


def test_who_notes_the_drops(server_pid: int) -> None:
    """who :5353 lists the UDP socket with its process and notes its drops on stderr."""
    result = netdx("who", ":5353")
    assert result.returncode == 0, result.stderr
    assert f"pid={server_pid}" in result.stdout
    assert "datagrams dropped, receive buffer full (sk_drops)" in result.stderr


def test_udp_port_read_through_a_netns_host(server_pid: int) -> None:
    """From the root namespace, `read_udp_port` with a NetnsHost dumps the namespace's UDP
    sockets through the host's sock_diag socket and reads its snmp: the socket with its
    drops, the namespace's UdpRcvbufErrors."""
    from netdx.budget import Deadline
    from netdx.host.netns import NetnsHost
    from netdx.sockets.udp import read_udp_port

    udp = read_udp_port(5353, deadline=Deadline.after(10), owners=False, host=NetnsHost(NS))
    assert [s.socket.local for s in udp.sockets] == ["127.0.0.1:5353"]
    drops = udp.sockets[0].drops
    assert drops is not None and drops >= 40
    assert udp.rcvbuf_errors is not None and udp.rcvbuf_errors >= 40
