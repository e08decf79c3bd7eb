"""rtnetlink route and neighbour parsing, checked against what iproute2 printed for the same
kernel replies (captured together by fixtures/netlink/capture.py)."""

from __future__ import annotations

import errno
import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest
from netlink_capture import load_case

from netdx.netlink import (
    ErrorAck,
    Route,
    collect,
    neigh_dump_request,
    neigh_get_request,
    nud_names,
    parse_messages,
    parse_neighbour,
    parse_route,
    route_get_request,
)

FIXTURES = Path(__file__).parent / "fixtures" / "netlink"
META: dict[str, Any] = json.loads((FIXTURES / "capture.json").read_text())
LINKS: dict[int, str] = {int(k): v for k, v in META["links"].items()}


def load(case: str) -> tuple[bytes, list[bytes]]:
    """(request, reply datagrams) of one captured case."""
    return load_case(FIXTURES, case)


def answer(case: str) -> Route | ErrorAck:
    reply = collect(load(case)[1])
    return reply.error if reply.error else parse_route(reply.messages[0])


ROUTE_OK = [
    c for c, m in META["cases"].items() if m["kind"] == "route" and isinstance(m["ip"], dict)
]
ROUTE_ERR = [
    c for c, m in META["cases"].items() if m["kind"] == "route" and isinstance(m["ip"], str)
]


def test_capture_has_both_kinds_of_route_answer() -> None:
    """The fixtures hold routes (gateway, on-link, local...) and kernel refusals."""
    assert len(ROUTE_OK) >= 8
    assert len(ROUTE_ERR) >= 10


@pytest.mark.parametrize("case", ROUTE_OK)
def test_route_matches_iproute2(case: str) -> None:
    """Type, device, source, gateway/via and destination equal `ip -j route get` output."""
    ip = META["cases"][case]["ip"]
    route = answer(case)
    assert isinstance(route, Route)
    assert route.type == ip.get("type", "unicast")
    assert route.oif is not None
    assert LINKS[route.oif] == ip["dev"]
    assert route.prefsrc == ip["prefsrc"]
    assert route.dst == ip["dst"]
    assert route.gateway == ip.get("gateway")
    assert route.via == ip.get("via", {}).get("host")
    assert route.priority == ip.get("metric")


@pytest.mark.parametrize("case", ROUTE_ERR)
def test_route_error_matches_iproute2(case: str) -> None:
    """Each refusal's errno is the one whose text `ip route get` printed."""
    ip_text = META["cases"][case]["ip"]
    ack = answer(case)
    assert isinstance(ack, ErrorAck)
    assert ip_text == f"RTNETLINK answers: {os.strerror(ack.errno)}"


@pytest.mark.parametrize(
    ("suffix", "expected"),
    [
        ("unreachable", "EHOSTUNREACH"),
        ("prohibit", "EACCES"),
        ("blackhole", "EINVAL"),
        ("throw", "ENETUNREACH"),
        ("none", "ENETUNREACH"),
    ],
)
@pytest.mark.parametrize("family", ["v4", "v6"])
def test_reject_route_errnos(family: str, suffix: str, expected: str) -> None:
    """IPv4 and IPv6 answer each reject route type with the same errno (as captured)."""
    ack = answer(f"route_{family}_{suffix}")
    assert isinstance(ack, ErrorAck)
    assert ack.name == expected


def test_ipv6_route_fields() -> None:
    """An IPv6 route answer carries table main, the protocol and the metric."""
    route = answer("route_v6_gateway")
    assert isinstance(route, Route)
    assert (route.family, route.table_name, route.next_hop) == (
        socket.AF_INET6,
        "main",
        "fd99:1::2",
    )
    assert route.error == 0


def test_ipv4_route_via_an_ipv6_next_hop() -> None:
    """RTA_VIA (an IPv4 route through an IPv6 link-local next hop) becomes the next hop."""
    route = answer("route_v4_via_inet6")
    assert isinstance(route, Route)
    assert route.gateway is None
    assert route.next_hop == "fe80::2"


@pytest.mark.parametrize(
    ("case", "address", "state"),
    [
        ("neigh_v4_reachable", "10.99.1.2", "REACHABLE"),
        ("neigh_v4_failed", "10.99.1.77", "FAILED"),
        ("neigh_v6_reachable", "fd99:1::2", "REACHABLE"),
        ("neigh_v6_failed", "fd99:1::77", "FAILED"),
        ("neigh_v6_linklocal", "fe80::2", "REACHABLE"),
    ],
)
def test_neighbour_entries(case: str, address: str, state: str) -> None:
    """Neighbour get replies decode to the address, NUD state and lladdr iproute2 showed."""
    ip_text: str = META["cases"][case]["ip"]
    reply = collect(load(case)[1])
    assert reply.error is None
    entry = parse_neighbour(reply.messages[0])
    assert (entry.address, entry.state_name) == (address, state)
    assert LINKS[entry.ifindex] == "ndxh-nla0"
    assert ip_text.split()[-1] == state
    assert (entry.lladdr is None) == ("lladdr" not in ip_text)


@pytest.mark.parametrize("case", ["neigh_v4_absent", "neigh_v6_absent"])
def test_absent_neighbour_is_enoent(case: str) -> None:
    """A get for an address the cache never saw is ENOENT with the kernel's message."""
    reply = collect(load(case)[1])
    assert reply.error is not None
    assert reply.error.errno == errno.ENOENT
    # iproute2 adds the full stop to the kernel's extended-ack text.
    assert f"Error: {reply.error.message}." == META["cases"][case]["ip"]


def test_nud_names() -> None:
    """NUD bits map to iproute2's names, 0 to NONE, combined bits to several names."""
    assert nud_names(0x02) == ("REACHABLE",)
    assert nud_names(0x80) == ("PERMANENT",)
    assert nud_names(0) == ("NONE",)
    assert nud_names(0x40 | 0x80) == ("NOARP", "PERMANENT")


def _request_body(case: str) -> tuple[int, int, bytes]:
    (msg,) = parse_messages(load(case)[0])
    return msg.type, msg.flags, msg.payload


def test_requests_are_the_captured_ones() -> None:
    """The request builders produce exactly the requests the kernel answered in the capture."""
    assert route_get_request("10.99.2.1") == _request_body("route_v4_gateway")
    assert route_get_request("fd99:2::1") == _request_body("route_v6_gateway")
    ifindex = next(i for i, name in LINKS.items() if name == "ndxh-nla0")
    assert neigh_get_request("10.99.1.2", ifindex) == _request_body("neigh_v4_reachable")
    assert neigh_dump_request(socket.AF_INET6) == _request_body("neigh_v6_dump")
