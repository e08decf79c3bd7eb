"""The route probe inside a namespace agrees with `ip route get` / `ip neigh get` there (root)."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.lab

NS_A, NS_B = "ndxh-nlt-a", "ndxh-nlt-b"
DEV_A, DEV_B = "ndxh-nlta0", "ndxh-nltb0"

SETUP: tuple[tuple[str, ...], ...] = (
    ("ip", "netns", "add", NS_A),
    ("ip", "netns", "add", NS_B),
    ("ip", "-n", NS_A, "link", "add", DEV_A, "type", "veth", "peer", "name", DEV_B, "netns", NS_B),
    ("ip", "-n", NS_A, "link", "set", "lo", "up"),
    ("ip", "-n", NS_B, "link", "set", "lo", "up"),
    ("ip", "-n", NS_A, "link", "set", DEV_A, "up"),
    ("ip", "-n", NS_B, "link", "set", DEV_B, "up"),
    ("ip", "-n", NS_A, "addr", "add", "10.98.1.1/24", "dev", DEV_A),
    ("ip", "-n", NS_B, "addr", "add", "10.98.1.2/24", "dev", DEV_B),
    ("ip", "-n", NS_A, "addr", "add", "fd98:1::1/64", "dev", DEV_A, "nodad"),
    ("ip", "-n", NS_B, "addr", "add", "fd98:1::2/64", "dev", DEV_B, "nodad"),
    ("ip", "-n", NS_A, "route", "add", "10.98.2.0/24", "via", "10.98.1.2"),
    ("ip", "-n", NS_A, "route", "add", "unreachable", "10.98.3.0/24"),
    ("ip", "-n", NS_A, "route", "add", "prohibit", "10.98.4.0/24"),
    ("ip", "-n", NS_A, "route", "add", "blackhole", "10.98.5.0/24"),
    ("ip", "-n", NS_A, "-6", "route", "add", "fd98:2::/64", "via", "fd98:1::2"),
    ("ip", "-n", NS_A, "-6", "route", "add", "unreachable", "fd98:3::/64"),
    ("ip", "-n", NS_A, "-6", "route", "add", "prohibit", "fd98:4::/64"),
    ("ip", "-n", NS_A, "-6", "route", "add", "blackhole", "fd98:5::/64"),
    # Resolve quickly, so that an unanswered address is FAILED after ~0.3 s, not ~3 s.
    ("ip", "netns", "exec", NS_A, "sysctl", "-qw", f"net.ipv4.neigh.{DEV_A}.retrans_time_ms=100"),
    ("ip", "netns", "exec", NS_A, "sysctl", "-qw", f"net.ipv6.neigh.{DEV_A}.retrans_time_ms=100"),
)

ADDRESSES = (
    "10.98.2.1",  # via gateway
    "10.98.1.2",  # on-link, answers
    "10.98.1.77",  # on-link, never answers
    "10.98.1.1",  # local
    "127.0.0.1",  # loopback
    "10.98.3.1",  # unreachable
    "10.98.4.1",  # prohibit
    "10.98.5.1",  # blackhole
    "10.98.9.1",  # no route
    "fd98:2::1",
    "fd98:1::2",
    "fd98:1::77",
    "fd98:1::1",
    "fd98:3::1",
    "fd98:4::1",
    "fd98:5::1",
    "fd98:9::1",
)

# Runs inside NS_A: the async probe for each address, plus neighbour_state() on its own.
PROBE = """
import asyncio, dataclasses, json, socket, sys
from netdx.budget import Deadline
from netdx.netlink import NetlinkSocket, NetlinkTimeout, route_get_request
from netdx.probes.route import neighbour_state, route_lookup, route_lookup_sync

async def main():
    out = {}
    for address in sys.argv[2:]:
        result = await route_lookup(address, deadline=Deadline.after(1.0))
        assert result == route_lookup_sync(address), address
        out[address] = dataclasses.asdict(result)
    index = socket.if_nametoindex(sys.argv[1])
    out["neigh"] = {a: neighbour_state(a, index) for a in ("10.98.1.2", "10.98.1.77", "10.98.1.99")}
    try:
        with NetlinkSocket() as sock:
            sock.request(*route_get_request("10.98.2.1"), timeout=0.0)
    except NetlinkTimeout as exc:
        out["timeout"] = exc.errno_name
    print(json.dumps(out))

asyncio.run(main())
"""


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """One command as an argv list, bounded in time."""
    return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=30)


def in_a(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run("ip", "netns", "exec", NS_A, *argv, check=check)


@pytest.fixture(scope="module")
def probed() -> Iterator[dict[str, Any]]:
    """Build the two namespaces, fill the neighbour cache from inside, run the probe there."""
    try:
        for argv in SETUP:
            run(*argv)
        for address in ("10.98.1.77", "fd98:1::77", "10.98.1.2", "fd98:1::2"):
            in_a("ping", "-c1", "-W1", address, check=False)
        yield json.loads(in_a(sys.executable, "-c", PROBE, DEV_A, *ADDRESSES).stdout)
    finally:
        for ns in (NS_A, NS_B):
            run("ip", "netns", "del", ns, check=False)


def iproute(address: str) -> dict[str, Any] | str:
    """`ip -j route get` in NS_A: the route, or the error text."""
    done = in_a("ip", "-j", "route", "get", address, check=False)
    if done.returncode:
        return done.stderr.strip()
    route: dict[str, Any] = json.loads(done.stdout)[0]
    return route


def ip_neigh_state(address: str) -> str | None:
    done = in_a("ip", "neigh", "get", address, "dev", DEV_A, check=False)
    return done.stdout.split()[-1] if done.returncode == 0 else None


@pytest.mark.parametrize("address", ADDRESSES)
def test_route_lookup_matches_ip_route_get(probed: dict[str, Any], address: str) -> None:
    """Status, type, device, source, gateway and neighbour state equal iproute2's view."""
    got = probed[address]
    ip = iproute(address)
    if isinstance(ip, str):
        assert got["status"] == "no_route"
        assert ip == f"RTNETLINK answers: {os.strerror(getattr(errno, got['error']))}"
        return
    kind = ip.get("type", "unicast")
    assert got["status"] == ("local" if kind == "local" else "ok")
    assert (got["route_type"], got["interface"]) == (kind, ip["dev"])
    assert (got["source"], got["gateway"]) == (ip["prefsrc"], ip.get("gateway"))
    if kind == "unicast":
        assert got["neighbour_state"] == ip_neigh_state(ip.get("gateway", address))
    else:
        assert got["neighbour_state"] is None


def test_neighbour_states_after_traffic(probed: dict[str, Any]) -> None:
    """neighbour_state(): REACHABLE for a peer that answered, FAILED for a silent on-link
    address, None for one never contacted."""
    assert probed["neigh"] == {"10.98.1.2": "REACHABLE", "10.98.1.77": "FAILED", "10.98.1.99": None}
    assert probed["10.98.1.77"]["neighbour_state"] == "FAILED"
    assert probed["fd98:1::77"]["neighbour_state"] == "FAILED"


def test_no_route_results_name_the_route_type(probed: dict[str, Any]) -> None:
    """Reject routes are no_route with their type inferred from the errno, both families."""
    kinds = {a: (probed[a]["route_type"], probed[a]["error"]) for a in ADDRESSES}
    assert kinds["10.98.3.1"] == kinds["fd98:3::1"] == ("unreachable", "EHOSTUNREACH")
    assert kinds["10.98.4.1"] == kinds["fd98:4::1"] == ("prohibit", "EACCES")
    assert kinds["10.98.5.1"] == kinds["fd98:5::1"] == ("blackhole", "EINVAL")
    assert kinds["10.98.9.1"] == kinds["fd98:9::1"] == (None, "ENETUNREACH")


def test_socket_timeout_is_an_exception_with_errno(probed: dict[str, Any]) -> None:
    """NetlinkSocket.request with no time left raises NetlinkTimeout (ETIMEDOUT)."""
    assert probed["timeout"] == "ETIMEDOUT"
