"""The capture in the kernel: a packet socket with the BPF filter, opened inside a server
namespace, sees the client's SYN come in and the SYN-ACK go out (IPv4 and IPv6), and still
sees the SYN come in when an nft input rule drops it (AF_PACKET sees it before netfilter)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from netdx.host import NetnsHost

pytestmark = pytest.mark.lab

SERVER, CLIENT = "ndx-capB-s", "ndx-capB-c"
DEV_S, DEV_C = "ndx-capBs0", "ndx-capBc0"
S4, C4, S6, C6 = "10.98.7.1", "10.98.7.2", "fd00:98:7::1", "fd00:98:7::2"
OPEN, DROPPED = 5432, 5433
SETUP: tuple[tuple[str, ...], ...] = (
    ("ip", "netns", "add", SERVER),
    ("ip", "netns", "add", CLIENT),
    ("ip", "-n", SERVER, "link", "add", DEV_S, "type", "veth", "peer", "name", DEV_C,
     "netns", CLIENT),
    ("ip", "-n", SERVER, "link", "set", "lo", "up"),
    ("ip", "-n", SERVER, "link", "set", DEV_S, "up"),
    ("ip", "-n", CLIENT, "link", "set", DEV_C, "up"),
    ("ip", "-n", SERVER, "addr", "add", f"{S4}/24", "dev", DEV_S),
    ("ip", "-n", CLIENT, "addr", "add", f"{C4}/24", "dev", DEV_C),
    ("ip", "-n", SERVER, "addr", "add", f"{S6}/64", "dev", DEV_S, "nodad"),
    ("ip", "-n", CLIENT, "addr", "add", f"{C6}/64", "dev", DEV_C, "nodad"),
    ("ip", "netns", "exec", SERVER, "nft",
     f"add table inet ndxcap; add chain inet ndxcap input {{ type filter hook input "
     f"priority 0; }}; add rule inet ndxcap input tcp dport {DROPPED} drop"),
)  # fmt: skip
# Runs in the server namespace: listens on OPEN (both families), says "listening", arms a
# capture of PORT from PEER on the next stdin line, says "armed", drains on the line after
# and prints the drained dict.
CAPTURER = """
import json, socket, sys
from netdx.collect.capture import open_capture
port, peer = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("::", OPEN)); s.listen(8)
print("listening", flush=True)
sys.stdin.readline()
capture = open_capture(port=port, peer=peer)
print("armed", flush=True)
sys.stdin.readline()
print(json.dumps(capture.drain(2.0)), flush=True)
""".replace("OPEN", str(OPEN))


def run(*argv: str) -> None:
    subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60)


@pytest.fixture(scope="module")
def pair() -> Iterator[None]:
    """The server and client namespaces, linked to each other only; removed on any exit."""
    if os.geteuid() != 0:
        pytest.fail("lab tests need root and network namespaces")
    try:
        for argv in SETUP:
            run(*argv)
        yield
    finally:
        for name in (SERVER, CLIENT):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)


def captured(port: int, peer: str, target: str, *, earlier: bool = False) -> dict[str, Any]:
    """Arm a capture of `port` in the server, connect from the client to `target`, drain.
    With `earlier`, a connection made before the capture was armed sends data during the
    window too; its (source port) is returned under "earlier_port"."""
    proc = subprocess.Popen(
        ["ip", "netns", "exec", SERVER, sys.executable, "-c", CAPTURER, str(port), peer],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    family = socket.AF_INET6 if ":" in target else socket.AF_INET
    client = NetnsHost(CLIENT)
    old: socket.socket | None = None
    try:
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline().strip() == "listening"
        if earlier:
            old = client.socket(family, socket.SOCK_STREAM)
            old.settimeout(5.0)
            old.connect((target, port))
        proc.stdin.write("arm\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "armed"
        if old is not None:
            old.sendall(b"data of a connection older than the capture")
        with client.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(1.5)
            # The dropped port times out: what the server saw is the question.
            with contextlib.suppress(OSError):
                sock.connect((target, port))
        out, _ = proc.communicate("go\n", timeout=30)
        result: dict[str, Any] = json.loads(out)
        if old is not None:
            result["earlier_port"] = old.getsockname()[1]
        return result
    finally:
        if old is not None:
            old.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(("client", "server"), [(C4, S4), (C6, S6)], ids=["ipv4", "ipv6"])
def test_syn_in_and_synack_out(pair: None, client: str, server: str) -> None:
    """The client's SYN is seen coming in on the server's interface, the SYN-ACK going out,
    with nothing else (the filter keeps only the port and the peer); the packets of a
    connection that existed before the capture (as the SSH session's own when the port is
    the SSH port) are left out."""
    drained = captured(OPEN, client, server, earlier=True)
    packets = drained["packets"]
    syn = [p for p in packets if p["direction"] == "in" and p["flags"] == "S"]
    synack = [p for p in packets if p["direction"] == "out" and p["flags"] == "S."]
    assert syn and synack, packets
    assert (syn[0]["src"], syn[0]["dst"], syn[0]["dport"], syn[0]["ifname"]) == (
        client, server, OPEN, DEV_S,
    )  # fmt: skip
    assert synack[0]["dst"] == client and synack[0]["sport"] == OPEN
    assert syn[0]["at_ms"] <= synack[0]["at_ms"] <= drained["window_ms"]
    assert all(OPEN in (p["sport"], p["dport"]) for p in packets)
    assert not [p for p in packets if drained["earlier_port"] in (p["sport"], p["dport"])]
    assert len({p["sport"] for p in packets if p["direction"] == "in"}) == 1
    assert drained["kernel_dropped"] == 0 and not drained["truncated"]


def test_syn_dropped_by_nft_input_is_still_seen(pair: None) -> None:
    """An nft input rule drops the SYN: the capture sees it (and its retransmission)
    coming in, and no answer going out."""
    drained = captured(DROPPED, C4, S4)
    packets = drained["packets"]
    assert [p for p in packets if p["direction"] == "in" and p["flags"] == "S"], packets
    assert not [p for p in packets if p["direction"] == "out"], packets
