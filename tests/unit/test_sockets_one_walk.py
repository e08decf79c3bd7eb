"""A TCP dump of both families in one walk (`one_walk`, inet_diag's AF_UNSPEC request) lists
the very sockets, in the very order, that the two dumps by family list: the server read of
`netdx check` uses it (real loopback sockets, this process's own namespace)."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator

import pytest

from netdx.budget import Deadline
from netdx.collect.sockdiag import Request, one_walk
from netdx.netlink import encode_message
from netdx.netlink.diag import SOCK_DIAG_BY_FAMILY, TCPDIAG_GETSOCK, state_mask
from netdx.netlink.fake import ReplayTransport
from netdx.sockets.dump import list_sockets, plan
from netdx.sockets.model import SocketQuery


@pytest.fixture()
def port_in_use() -> Iterator[int]:
    """A port with an IPv4 and an IPv6 listener, a connection to each (both ends), and a
    listener near it: LISTEN, ESTAB and both families on the port."""
    opened: list[socket.socket] = []
    v4 = socket.socket(socket.AF_INET)
    v4.bind(("127.0.0.1", 0))
    port = v4.getsockname()[1]
    v6 = socket.socket(socket.AF_INET6)
    v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    try:
        v6.bind(("::1", port))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    opened += [v4, v6]
    for listener, address in ((v4, "127.0.0.1"), (v6, "::1")):
        listener.listen(4)
        client = socket.create_connection((address, port))
        opened += [client, listener.accept()[0]]
    near = socket.socket(socket.AF_INET)
    near.bind(("127.0.0.1", 0))
    near.listen(1)
    opened.append(near)
    try:
        yield port
    finally:
        for sock in opened:
            sock.close()


@pytest.mark.parametrize("listen", [True, False])
def test_one_walk_lists_what_two_dumps_list(port_in_use: int, listen: bool) -> None:
    """Listeners of every port, and every socket of one port: the same sockets, IPv4 first,
    each family in the kernel's order (all but the inode-less are compared whole)."""
    query = (SocketQuery(protocols=("tcp",), listen=True) if listen
             else SocketQuery(protocols=("tcp",), ports=(port_in_use,)))
    deadline = Deadline.after(5.0)
    two = list_sockets(query, deadline=deadline)
    one = list_sockets(query, deadline=deadline, one_walk=True)
    assert one.notes == () and two.notes == ()
    assert {s.family for s in one.sockets} == {socket.AF_INET, socket.AF_INET6}
    if not listen:
        assert len(one.sockets) == 6  # two listeners, two connections seen from both ends
    assert one.sockets == two.sockets


def test_only_a_tcp_pair_of_the_same_filter_is_merged() -> None:
    """IPv4+IPv6 TCP dumps with the same states and bytecode become one AF_UNSPEC dump; UDP
    (no such request) stays by family."""
    requests = one_walk(plan(SocketQuery(listen=True, ports=(80,))))
    listen = state_mask(("LISTEN",))
    assert [(r.proto, r.family) for r in requests] == [
        ("tcp", socket.AF_UNSPEC), ("udp", socket.AF_INET), ("udp", socket.AF_INET6)]
    assert requests[0].states == listen
    lone = (Request(family=socket.AF_INET6, proto="tcp", states=listen, bytecode=None),)
    assert one_walk(lone) == lone


def test_a_kernel_refusing_the_dump_of_both_families_gets_one_a_family() -> None:
    """EINVAL for the AF_UNSPEC request: the listing is the two dumps by family, no note."""
    refused = encode_message(2, 0, 0, (-22).to_bytes(4, sys.byteorder, signed=True) + bytes(16))
    done = encode_message(3, 2, 0, b"\0\0\0\0")
    source = ReplayTransport([[refused], [done], [done]])
    listing = list_sockets(SocketQuery(protocols=("tcp",), ports=(80,)),
                           deadline=Deadline.after(5.0), source=source, one_walk=True)
    assert listing.notes == () and listing.sockets == ()
    assert [s.msg_type for s in source.sent] == [TCPDIAG_GETSOCK, SOCK_DIAG_BY_FAMILY,
                                                  SOCK_DIAG_BY_FAMILY]
