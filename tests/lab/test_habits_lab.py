"""ss's habits against the kernel: `netdx sockets -tlnp` in a namespace of its own lists what
`ss -tlnp` lists there, and the state, --dst and --pid filters pick the right sockets.
One namespace with loopback only (no link anywhere), a server and a client process in it."""

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

NS = "ndx-habP-s"
PORT = 8086
SRC = str(Path(__file__).resolve().parents[2] / "src")
SERVER = (
    "import socket,sys\n"
    "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    f"s.bind(('127.0.0.1', {PORT})); s.listen(8); print('up', flush=True)\n"
    "c,_=s.accept(); print('accepted', flush=True); sys.stdin.read()\n"
)
CLIENT = (
    "import socket,sys\n"
    f"c=socket.create_connection(('127.0.0.1', {PORT}), timeout=10)\n"
    "print('up', flush=True); sys.stdin.read()\n"
)


def start(started: list[subprocess.Popen[str]], code: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(["ip", "netns", "exec", NS, sys.executable, "-c", code],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    started.append(proc)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "up"
    return proc


@pytest.fixture(scope="module")
def pids() -> Iterator[tuple[int, int]]:
    """(server pid, client pid), the client connected and accepted; all removed on exit."""
    if os.geteuid() != 0:
        pytest.fail("lab tests need root and network namespaces")
    started: list[subprocess.Popen[str]] = []
    try:
        subprocess.run(["ip", "netns", "add", NS], check=True, timeout=30)
        subprocess.run(["ip", "-n", NS, "link", "set", "lo", "up"], check=True, timeout=30)
        server = start(started, SERVER)
        client = start(started, CLIENT)
        assert server.stdout is not None and server.stdout.readline().strip() == "accepted"
        yield server.pid, client.pid  # `ip netns exec` execs python: the same pid
    finally:
        for proc in started:
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


def doc(*args: str) -> dict[str, Any]:
    result = netdx(*args, "--json")
    assert result.returncode == 0, result.stderr
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def test_tlnp_lists_what_ss_tlnp_lists(pids: tuple[int, int]) -> None:
    """`sockets -tlnp` shows the one listener with its process, as `ss -tlnp` does there."""
    result = netdx("sockets", "-tlnp")
    assert result.returncode == 0, result.stderr
    [head, *rows] = result.stdout.splitlines()
    ss = subprocess.run(["ip", "netns", "exec", NS, "ss", "-tlnH"], capture_output=True,
                        text=True, check=True, timeout=30).stdout.split()
    assert head.endswith(" Process") and len(rows) == 1, result.stdout
    assert f"127.0.0.1:{PORT}" in rows[0] and f"127.0.0.1:{PORT}" in ss
    assert f"(pid={pids[0]},fd=" in rows[0]


def test_state_dst_and_pid_filters(pids: tuple[int, int]) -> None:
    """`state established`, `--dst :PORT` and `--pid` each keep exactly the expected socket."""
    server, client = pids
    both = doc("sockets", "-tan", "state", "established")
    assert both["schema"] == "netdx.sockets/1"
    assert PORT in {s["local_port"] for s in both["sockets"]}
    assert len(both["sockets"]) == 2  # the client's end and the accepted one
    [outgoing] = doc("sockets", "-t", "--dst", f"127.0.0.1:{PORT}")["sockets"]
    assert outgoing["remote_port"] == PORT and outgoing["state"] == "ESTAB"
    [mine] = doc("sockets", "-t", "--pid", str(client))["sockets"]
    assert mine["process"]["pid"] == client and mine["inode"] == outgoing["inode"]
    held = doc("sockets", "-t", "--pid", str(server))["sockets"]
    assert sorted(s["state"] for s in held) == ["ESTAB", "LISTEN"]
    summary = doc("sockets", "-t", "--summary")
    assert summary["schema"] == "netdx.sockets.summary/1" and summary["total"] == 3
