"""The collector core in a real network namespace: through NetnsHost (setns in a thread,
no shell) it sees that namespace's sockets, owners, firewall, sysctls, routes and /sys; the
bundle run as `nobody` by a bare python3 says per collector what failed for lack of root."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from netdx.collect.bundle import build_bundle
from netdx.collect.clock import Deadline
from netdx.collect.document import CollectRequest, collect
from netdx.collect.sockdiag import Selection
from netdx.host import NetnsHost

pytestmark = pytest.mark.lab

NS, PEER = "ndx-hc-a", "ndx-hc-b"
DEV, DEV_PEER = "ndx-hca0", "ndx-hcb0"
ADDR, PEER_ADDR = "10.98.2.1", "10.98.2.2"
PORT = 8181
SETUP: tuple[tuple[str, ...], ...] = (
    ("ip", "netns", "add", NS),
    ("ip", "netns", "add", PEER),
    ("ip", "-n", NS, "link", "add", DEV, "type", "veth", "peer", "name", DEV_PEER, "netns", PEER),
    ("ip", "-n", NS, "link", "set", "lo", "up"),
    ("ip", "-n", NS, "link", "set", DEV, "up"),
    ("ip", "-n", PEER, "link", "set", DEV_PEER, "up"),
    ("ip", "-n", NS, "addr", "add", f"{ADDR}/24", "dev", DEV),
    ("ip", "-n", PEER, "addr", "add", f"{PEER_ADDR}/24", "dev", DEV_PEER),
    ("ip", "netns", "exec", NS, "sysctl", "-qw", f"net.ipv4.conf.{DEV}.rp_filter=1"),
    ("ip", "netns", "exec", NS, "nft", "add table inet ndxhc"),
)
LISTENER = (
    "import socket,sys\n"
    f"s=socket.socket(); s.bind(('0.0.0.0', {PORT})); s.listen(8); print('up', flush=True)\n"
    "sys.stdin.read()\n"
)


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=60)


@pytest.fixture(scope="module")
def listener() -> Iterator[int]:
    """The namespace pair with a root-owned listener in NS; its pid. Removed on any exit."""
    if os.geteuid() != 0:
        pytest.fail("lab tests need root and network namespaces")
    proc: subprocess.Popen[str] | None = None
    try:
        for argv in SETUP:
            run(*argv)
        argv = ["ip", "netns", "exec", NS, sys.executable, "-c", LISTENER]
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "up"
        yield proc.pid
    finally:
        if proc is not None:
            proc.kill()
            proc.wait(timeout=10)
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    pipe.close()
        for ns in (NS, PEER):
            run("ip", "netns", "del", ns, check=False)


def test_netns_host_collects_that_namespace(listener: int) -> None:
    """Through NetnsHost the document holds the namespace's listener and its owner, its nft
    table, its interface's rp_filter, a route out of its veth, and nothing of ours."""
    host = NetnsHost(NS)
    request = CollectRequest(
        sockets=Selection(protocols=("tcp",), listen=True), addresses=(PEER_ADDR,)
    )
    doc = collect(host, request, Deadline.after(20.0))["collectors"]
    assert all(entry["error"] is None for entry in doc.values()), doc
    fields = doc["sockets"]["data"]["fields"]
    rows = [dict(zip(fields, row, strict=True)) for row in doc["sockets"]["data"]["rows"]]
    assert [r["sport"] for r in rows] == [PORT], rows
    owners = doc["owners"]["data"]
    assert owners["complete"] is True and doc["owners"]["needs_root"] is False
    holder_pids = {pid for pid, _fd in owners["holders"].values()}
    assert len(holder_pids) == 1
    (pid,) = holder_pids
    assert owners["processes"][str(pid)]["user"] == "root"
    nft = next(c for c in doc["firewall"]["data"]["commands"] if c["argv"][:2] == ["nft", "-j"])
    assert "ndxhc" in nft["stdout"] and doc["firewall"]["needs_root"] is False
    assert doc["sysctls"]["data"]["values"][f"net.ipv4.conf.{DEV}.rp_filter"] == "1"
    route = doc["routes"]["data"]["lookups"][0]["route"]
    assert route["prefsrc"] == ADDR and route["type"] == "unicast"
    assert host.read_text(f"/sys/class/net/{DEV}/operstate").strip() in {"up", "unknown"}
    assert not Path(f"/sys/class/net/{DEV}").exists()  # our own /sys is untouched


def test_bundle_as_nobody_says_what_needs_root(listener: int) -> None:
    """Run as nobody by `python3 -I -S`: sockets, counters, sysctls and routes are read; the
    owner of root's listener and the firewall are reported as needing root, not as empty."""
    with tempfile.TemporaryDirectory(prefix="ndx-hc-") as scratch:
        os.chmod(scratch, 0o755)
        bundle = str(build_bundle(Path(scratch) / "collect.zip"))
        request = json.dumps({"sockets": {"protocols": ["tcp"], "listen": True},
                              "addresses": [PEER_ADDR], "timeout": 20})  # fmt: skip
        done = run("ip", "netns", "exec", NS, "setpriv", "--reuid=nobody", "--regid=nogroup",
                   "--clear-groups", "/usr/bin/python3", "-I", "-S", bundle, request)  # fmt: skip
    doc = json.loads(done.stdout)
    assert doc["euid"] != 0
    entries = doc["collectors"]
    for name in ("sockets", "counters", "sysctls", "routes"):
        assert entries[name]["error"] is None and entries[name]["needs_root"] is False, name
    assert len(entries["sockets"]["data"]["rows"]) == 1
    assert entries["owners"]["needs_root"] is True
    assert entries["owners"]["data"]["complete"] is False
    assert entries["firewall"]["needs_root"] is True
