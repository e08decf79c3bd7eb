"""`read_udp_port` reads the port's UDP sockets through the one netlink seam: a captured real
UDP sock_diag reply, replayed through a `ReplayTransport` with a FakeHost for the counters,
gives the socket, its drops, its owner and the host's UdpRcvbufErrors without a kernel; with
no source the sock_diag socket is asked of the host (so a NetnsHost's is its namespace's)."""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path

import pytest
from netlink_capture import load_case

from netdx.budget import Deadline
from netdx.host.fake import FakeHost
from netdx.netlink import NETLINK_SOCK_DIAG, NetlinkError
from netdx.netlink.fake import ReplayTransport
from netdx.netlink.wire import parse_messages
from netdx.sockets.udp import parse_udp_reply, read_udp_port, udp_port_request

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SOCKDIAG = FIXTURES / "sockdiag"
PROC_NET = FIXTURES / "proc_net"
COUNTERS = {n: (PROC_NET / n.rsplit("/", 1)[1]).read_text()
            for n in ("/proc/net/snmp", "/proc/net/snmp6")}  # fmt: skip


def captured_reply() -> list[bytes]:
    """The datagrams of the captured IPv4 dump of port 5353 (one socket, then NLMSG_DONE)."""
    return load_case(SOCKDIAG, "udp4_port_5353_drops")[1]


def fake_proc(root: Path, inode: int) -> Path:
    """A /proc with pid 321 (avahi-daemon) holding socket `inode` as fd 9, in our namespace."""
    (root / "self" / "ns").mkdir(parents=True)
    (root / "self" / "ns" / "net").write_text("")
    base = root / "321"
    (base / "fd").mkdir(parents=True)
    (base / "ns").mkdir()
    os.link(root / "self" / "ns" / "net", base / "ns" / "net")
    (base / "comm").write_text("avahi-daemon\n")
    (base / "fd" / "9").symlink_to(f"socket:[{inode}]")
    return root


def test_replayed_dump_gives_socket_drops_owner_and_host_counter(tmp_path: Path) -> None:
    """Both families are asked byte for byte as `udp_port_request` builds them; the captured
    IPv4 socket comes back with its sk_drops and its owner from /proc, the empty IPv6 reply
    adds nothing, and UdpRcvbufErrors is the FakeHost's snmp + snmp6 (49 + 29)."""
    datagrams = captured_reply()
    done = datagrams[-1]  # the capture's bare NLMSG_DONE stands for an empty IPv6 dump
    ((sock, drops),) = parse_udp_reply([m for d in datagrams for m in parse_messages(d)])
    source = ReplayTransport([datagrams, [done]])
    host = FakeHost(files=COUNTERS)
    udp = read_udp_port(
        5353, deadline=Deadline.after(5), proc=str(fake_proc(tmp_path, sock.inode)),
        host=host, source=source,
    )  # fmt: skip
    assert [(r.msg_type, r.flags, r.payload) for r in source.sent] == [
        udp_port_request(socket.AF_INET, 5353),
        udp_port_request(socket.AF_INET6, 5353),
    ]
    assert [(s.socket.local, s.drops, s.fd) for s in udp.sockets] == [("127.0.0.1:5353", drops, 9)]
    assert drops is not None and drops > 0
    owner = udp.sockets[0].owner
    assert owner is not None and (owner.pid, owner.command) == (321, "avahi-daemon")
    assert udp.rcvbuf_errors == 78
    assert ("socket", (socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)) not in host.calls


def test_replayed_dump_of_another_port_is_left_out() -> None:
    """The reply is filtered again by sport: the captured 5353 socket is not a socket of
    5354 even if a kernel's filter let it through; no owners are walked with owners=False."""
    source = ReplayTransport([captured_reply(), [captured_reply()[-1]]])
    udp = read_udp_port(5354, deadline=Deadline.after(5), owners=False,
                        host=FakeHost(files=COUNTERS), source=source)  # fmt: skip
    assert udp.sockets == () and udp.port == 5354


def test_without_a_source_the_socket_is_opened_by_the_host() -> None:
    """No source: the sock_diag socket is the host's (a FakeHost that may open none refuses
    with EPERM, which surfaces as a NetlinkError, the error inspect and who catch)."""
    host = FakeHost(files=COUNTERS)
    with pytest.raises(NetlinkError) as caught:
        read_udp_port(5353, deadline=Deadline.after(5), host=host)
    assert getattr(caught.value, "errno_code", None) == errno.EPERM
    assert host.calls[0] == ("socket", (socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG))
