"""The route probe's evidence, driven by captured kernel replies through ReplayTransport."""

from __future__ import annotations

import errno
import json
import shutil
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import netdx.netlink
from netdx.budget import Deadline
from netdx.model import RouteLookup
from netdx.netlink import ErrorAck, ReplayTransport, encode_message
from netdx.netlink.rtnl import RTM_GETNEIGH, RTM_GETROUTE
from netdx.netlink.wire import NLM_F_DUMP, NLMSG_ERROR
from netdx.probes.route import lookup_route, route_evidence, route_lookup

FIXTURES = Path(__file__).parent / "fixtures" / "netlink"
META = json.loads((FIXTURES / "capture.json").read_text())
LINKS = {int(k): v for k, v in META["links"].items()}


def replies(case: str) -> list[bytes]:
    """The captured reply datagrams of one case."""
    lines = (FIXTURES / f"{case}.hex").read_text().splitlines()
    return [bytes.fromhex(line[2:]) for line in lines if line.startswith("< ")]


def probe(address: str, *cases: str) -> tuple[RouteLookup, ReplayTransport]:
    transport = ReplayTransport([replies(case) for case in cases])
    result = lookup_route(transport, address, deadline=Deadline.after(5), ifname=LINKS.get)
    return result, transport


def test_route_via_gateway_reads_the_gateways_neighbour_entry() -> None:
    """A unicast route via a gateway is ok, names device and source, and asks the gateway's NUD."""
    result, transport = probe("10.99.2.1", "route_v4_gateway", "neigh_v4_reachable")
    assert result == RouteLookup(
        address="10.99.2.1",
        status="ok",
        route_type="unicast",
        interface="ndxh-nla0",
        ifindex=2,
        source="10.99.1.1",
        gateway="10.99.1.2",
        neighbour_state="REACHABLE",
    )
    assert [s.msg_type for s in transport.sent] == [RTM_GETROUTE, RTM_GETNEIGH]
    assert transport.sent[1].payload.endswith(socket.inet_aton("10.99.1.2"))


def test_onlink_route_reads_the_address_own_neighbour_entry() -> None:
    """An on-link route has no gateway; the neighbour asked for is the address itself."""
    result, transport = probe("10.99.1.2", "route_v4_onlink", "neigh_v4_reachable")
    assert (result.status, result.gateway, result.neighbour_state) == ("ok", None, "REACHABLE")
    assert transport.sent[1].payload.endswith(socket.inet_aton("10.99.1.2"))


def test_onlink_host_that_never_answered_is_failed() -> None:
    """A FAILED entry for the on-link address is reported (the host is down on-link)."""
    result, _ = probe("10.99.1.77", "route_v4_onlink", "neigh_v4_failed")
    assert result.neighbour_state == "FAILED"


def test_missing_neighbour_entry_is_none() -> None:
    """ENOENT from the neighbour get means no entry yet: neighbour_state None, route still ok."""
    result, _ = probe("10.99.1.99", "route_v4_onlink", "neigh_v4_absent")
    assert (result.status, result.neighbour_state) == ("ok", None)


@pytest.mark.parametrize(
    ("address", "route_case", "neigh_case", "gateway"),
    [
        ("fd99:2::1", "route_v6_gateway", "neigh_v6_reachable", "fd99:1::2"),
        ("fd99:8::1", "route_v6_linklocal_gateway", "neigh_v6_linklocal", "fe80::2"),
        ("10.99.9.1", "route_v4_via_inet6", "neigh_v6_linklocal", "fe80::2"),
    ],
)
def test_ipv6_next_hops(address: str, route_case: str, neigh_case: str, gateway: str) -> None:
    """IPv6 gateways, link-local gateways and RTA_VIA next hops get their NUD state."""
    result, transport = probe(address, route_case, neigh_case)
    assert (result.status, result.gateway, result.neighbour_state) == ("ok", gateway, "REACHABLE")
    assert transport.sent[1].payload[0] == socket.AF_INET6


@pytest.mark.parametrize(
    ("address", "case", "status", "kind"),
    [
        ("10.99.1.1", "route_v4_local", "local", "local"),
        ("fd99:1::1", "route_v6_local", "local", "local"),
        ("10.99.1.255", "route_v4_broadcast", "ok", "broadcast"),
    ],
)
def test_routes_without_a_neighbour(address: str, case: str, status: str, kind: str) -> None:
    """Local and broadcast answers send no neighbour request and leave neighbour_state None."""
    result, transport = probe(address, case)
    assert (result.status, result.route_type, result.neighbour_state) == (status, kind, None)
    assert len(transport.sent) == 1


@pytest.mark.parametrize("family", ["v4", "v6"])
@pytest.mark.parametrize(
    ("suffix", "kind", "error"),
    [
        ("unreachable", "unreachable", "EHOSTUNREACH"),
        ("prohibit", "prohibit", "EACCES"),
        ("blackhole", "blackhole", "EINVAL"),
        ("throw", None, "ENETUNREACH"),
        ("none", None, "ENETUNREACH"),
    ],
)
def test_reject_routes_are_no_route(family: str, suffix: str, kind: str | None, error: str) -> None:
    """Every reject route and a missing route are `no_route` carrying the errno name."""
    case = f"route_{family}_{suffix}"
    address = META["cases"][case]["arg"]
    result, transport = probe(address, case)
    assert result == RouteLookup(address=address, status="no_route", route_type=kind, error=error)
    assert len(transport.sent) == 1


def test_refused_neighbour_get_falls_back_to_a_dump() -> None:
    """A kernel without neighbour get (EOPNOTSUPP) is answered from a filtered dump.

    The EOPNOTSUPP reply is hand-built (this kernel supports the get); the dump is captured.
    """
    refused = encode_message(NLMSG_ERROR, 0, 0, struct.pack("=i", -errno.EOPNOTSUPP) + bytes(16))
    transport = ReplayTransport([replies("route_v4_onlink"), [refused], replies("neigh_v4_dump")])
    result = lookup_route(transport, "10.99.1.2", deadline=Deadline.after(5), ifname=LINKS.get)
    assert result.neighbour_state == "REACHABLE"
    assert transport.sent[2].flags & NLM_F_DUMP == NLM_F_DUMP


def test_unreadable_neighbour_cache_leaves_state_unknown() -> None:
    """Any other neighbour error (ENODEV captured) leaves neighbour_state None, route ok."""
    result, _ = probe("10.99.1.2", "route_v4_onlink", "neigh_bad_ifindex")
    assert (result.status, result.neighbour_state) == ("ok", None)


def test_kernel_silence_is_a_timeout_result() -> None:
    """No reply before the timeout becomes status error ETIMEDOUT, not an exception."""
    transport = ReplayTransport([[]])
    result = lookup_route(transport, "10.99.2.1", deadline=Deadline.after(1))
    assert (result.status, result.error) == ("error", "ETIMEDOUT")


def test_garbled_reply_is_ebadmsg() -> None:
    """A reply that does not parse becomes status error EBADMSG."""
    datagram = replies("route_v4_gateway")[0][:30]
    result = lookup_route(ReplayTransport([[datagram]]), "10.99.2.1", deadline=Deadline.after(1))
    assert (result.status, result.error) == ("error", "EBADMSG")


def test_expired_deadline_sends_nothing() -> None:
    """With no time left the probe answers ETIMEDOUT without sending a request."""
    transport = ReplayTransport([])
    result = lookup_route(transport, "10.99.2.1", deadline=Deadline.after(0))
    assert (result.status, result.error) == ("error", "ETIMEDOUT")
    assert transport.sent == []


async def test_async_probe_respects_an_expired_deadline() -> None:
    """route_lookup with an expired deadline returns at once with ETIMEDOUT."""
    result = await route_lookup("10.99.2.1", deadline=Deadline.after(0))
    assert (result.status, result.error) == ("error", "ETIMEDOUT")


def test_other_kernel_errors_are_error_status() -> None:
    """An errno that does not mean "no route" (EPERM) is status error with its name."""
    result = route_evidence("10.0.0.1", ErrorAck(errno=errno.EPERM))
    assert (result.status, result.route_type, result.error) == ("error", None, "EPERM")


def test_einval_with_kernel_text_is_not_a_blackhole() -> None:
    """EINVAL carrying extended-ack text is a rejected request (error), not a blackhole."""
    ack = ErrorAck(errno=errno.EINVAL, message="Invalid values in header for route get request")
    result = route_evidence("10.0.0.1", ack)
    assert (result.status, result.route_type, result.error) == ("error", None, "EINVAL")


def test_public_api_is_exported() -> None:
    """Every name in netdx.netlink.__all__ exists and is listed once."""
    names = netdx.netlink.__all__
    assert names and len(names) == len(set(names))
    assert [name for name in names if not hasattr(netdx.netlink, name)] == []


def test_netlink_package_runs_on_a_bare_python(tmp_path: Path) -> None:
    """Copied alone under another name, the package parses a capture with `python3 -I -S`
    (stdlib only, relative imports only: it can be shipped to a server)."""
    shutil.copytree(Path(netdx.netlink.__file__).parent, tmp_path / "nlcopy")
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import nlcopy;"
        "r = nlcopy.collect([bytes.fromhex(sys.argv[2])]);"
        "print(nlcopy.parse_route(r.messages[0]).gateway)"
    )
    argv = [
        sys.executable,
        "-I",
        "-S",
        "-c",
        code,
        str(tmp_path),
        replies("route_v4_gateway")[0].hex(),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert (done.returncode, done.stdout.strip()) == (0, "10.99.1.2"), done.stderr
