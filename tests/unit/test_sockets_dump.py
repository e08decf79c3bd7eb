"""The dump loop over a replayed kernel (captured datagrams): the requests it sends for a
query, the sockets it returns, and a kernel that fails or goes silent mid-dump."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from netdx.budget import Deadline
from netdx.netlink import encode_message
from netdx.netlink.diag import ends_dump, state_mask
from netdx.netlink.fake import ReplayTransport
from netdx.sockets.dump import list_sockets, plan
from netdx.sockets.model import SocketQuery

FIXTURES = Path(__file__).parent / "fixtures" / "sockdiag"


def load(case: str) -> tuple[bytes, list[bytes]]:
    """(request, reply datagrams) of one captured case."""
    lines = (FIXTURES / f"{case}.hex").read_text().splitlines()
    request = next(bytes.fromhex(x[2:]) for x in lines if x.startswith("> "))
    return request, [bytes.fromhex(x[2:]) for x in lines if x.startswith("< ")]


def test_plan_sets_kernel_filters() -> None:
    """--listen means LISTEN for TCP and UNCONN for UDP; ports become bytecode; UDP never asks
    for TCP-only states."""
    requests = plan(SocketQuery(listen=True, ports=(80,)))
    assert [(r.proto, r.family) for r in requests] == [
        ("tcp", socket.AF_INET), ("tcp", socket.AF_INET6),
        ("udp", socket.AF_INET), ("udp", socket.AF_INET6),
    ]  # fmt: skip
    assert requests[0].states == state_mask(("LISTEN",))
    assert requests[2].states == 1 << 7
    assert all(r.bytecode for r in requests)
    assert plan(SocketQuery(protocols=("udp",), states=("CLOSE-WAIT",))) == ()


def test_replayed_dump_sends_the_captured_request_and_returns_its_sockets() -> None:
    """A TCP IPv4 query sends exactly the captured request and lists every captured socket."""
    request, reply = load("tcp4_all")
    source = ReplayTransport([reply])
    listing = list_sockets(
        SocketQuery(protocols=("tcp",), families=(4,)), deadline=Deadline.after(5), source=source
    )
    assert [s.wire for s in source.sent] == [request]
    assert len(listing.sockets) == 318 and listing.notes == ()


def test_socket_gone_mid_dump_is_simply_absent() -> None:
    """A socket closed while the dump runs is absent; the interrupted flag becomes a note."""
    _, reply = load("tcp4_port_8080")
    first = bytearray(reply[0])
    first[6:8] = (0x12).to_bytes(2, sys.byteorder)  # NLM_F_MULTI | NLM_F_DUMP_INTR
    source = ReplayTransport([[bytes(first), *reply[1:]]])
    listing = list_sockets(
        SocketQuery(protocols=("tcp",), families=(4,)), deadline=Deadline.after(5), source=source
    )
    assert listing.interrupted and len(listing.sockets) == 10
    assert any("changed while the dump was read" in n for n in listing.notes)


def test_silent_kernel_gives_a_partial_listing_with_a_note() -> None:
    """A dump whose end never comes stops at the deadline with the sockets read so far."""
    _, reply = load("tcp4_all")
    source = ReplayTransport([reply[:1]])
    listing = list_sockets(
        SocketQuery(protocols=("tcp",), families=(4,)), deadline=Deadline.after(2), source=source
    )
    assert 0 < len(listing.sockets) < 318
    assert listing.notes == ("the tcp dump did not finish in time: partial list",)


def test_kernel_error_is_a_note_and_other_dumps_continue() -> None:
    """EINVAL for the first dump (bad bytecode) is noted; the second dump still runs."""
    done = encode_message(3, 2, 0, (-22).to_bytes(4, sys.byteorder, signed=True))
    _, reply = load("tcp6_all")
    source = ReplayTransport([[done], reply])
    listing = list_sockets(
        SocketQuery(protocols=("tcp",)), deadline=Deadline.after(5), source=source
    )
    assert listing.notes == ("the tcp IPv4 dump failed: EINVAL",)
    assert len(listing.sockets) == 7


def test_ends_dump_spots_the_last_datagram() -> None:
    """Only the datagram holding NLMSG_DONE ends the dump, and only for our sequence number."""
    _, reply = load("tcp4_all")
    assert [ends_dump(d, None) for d in reply] == [False] * (len(reply) - 1) + [True]
    done = encode_message(3, 2, 5, b"\0\0\0\0")
    assert ends_dump(done, 5) and not ends_dump(done, 6)
