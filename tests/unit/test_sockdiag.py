"""sock_diag parsing and request building, checked against what `ss -n` printed for the same
kernel state (captured together by fixtures/sockdiag/capture.py)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from netlink_capture import load_case

from netdx.netlink import NetlinkParseError, collect, encode_message, parse_messages
from netdx.netlink.diag import (
    BC_OP,
    INET_DIAG_BC_D_EQ,
    INET_DIAG_BC_JMP,
    INET_DIAG_BC_S_EQ,
    PROTOCOLS,
    SOCK_DIAG_BY_FAMILY,
    DiagSocket,
    dump_request,
    parse_datagram,
    parse_socket,
    port_filter,
    state_mask,
)
from netdx.netlink.tables import endpoint_text

FIXTURES = Path(__file__).parent / "fixtures" / "sockdiag"
META: dict[str, Any] = json.loads((FIXTURES / "capture.json").read_text())
CASES: dict[str, Any] = META["cases"]
IFNAMES = {1: "lo"}


def load(case: str) -> tuple[bytes, list[bytes]]:
    """(request, reply datagrams) of one captured case."""
    return load_case(FIXTURES, case)


def fast(case: str) -> list[DiagSocket]:
    """The sockets of a case through the datagram fast path."""
    out: list[DiagSocket] = []
    for datagram in load(case)[1]:
        out += parse_datagram(datagram, CASES[case]["proto"]).sockets
    return out


def as_ss(sock: DiagSocket, *, with_state: bool = True) -> tuple[str, ...]:
    """One socket as the columns of an `ss -Hn` line."""
    ifname = IFNAMES.get(sock.ifindex) if sock.ifindex else None
    local = endpoint_text(sock.family, sock.src, sock.sport, v6only=sock.v6only, ifname=ifname)
    row = (local, sock.remote, str(sock.rqueue), str(sock.wqueue))
    return ((sock.state_name,) if with_state else ()) + row


def ss_rows(case: str) -> list[tuple[str, ...]]:
    """ss's lines as (state, local, peer, recv-q, send-q) tuples."""
    rows: list[tuple[str, ...]] = []
    for line in CASES[case]["ss"]:
        cols = line.split()
        if CASES[case]["states"] == "CLOSE-WAIT":  # `ss state X` drops the state column
            cols = ["CLOSE-WAIT", *cols]
        state, recv_q, send_q, local, peer = cols[:5]
        rows.append((state, local, peer, recv_q, send_q))
    return rows


@pytest.mark.parametrize("case", sorted(CASES))
def test_dump_matches_ss(case: str) -> None:
    """Every captured dump decodes to exactly the sockets ss printed: state, ends and queues."""
    assert sorted(as_ss(s) for s in fast(case)) == sorted(ss_rows(case))


@pytest.mark.parametrize("case", sorted(CASES))
def test_fast_path_agrees_with_message_parser(case: str) -> None:
    """The datagram fast path and the per-message parser give the same values."""
    reply = collect(load(case)[1])
    slow = [parse_socket(m, CASES[case]["proto"]) for m in reply.messages]
    assert slow == fast(case)
    assert reply.error is None


@pytest.mark.parametrize("case", sorted(CASES))
def test_request_builder_reproduces_captured_request(case: str) -> None:
    """dump_request with the case's family, protocol, states and ports gives the sent bytes."""
    meta = CASES[case]
    family = socket.AF_INET if meta["family"] == 4 else socket.AF_INET6
    states = state_mask((meta["states"],)) if meta["states"] else 0xFFFFFFFF
    ports = tuple(meta["ports"])
    code = port_filter(ports, remote=case != "tcp4_listen_port_7000") if ports else None
    kind, flags, payload = dump_request(
        family, PROTOCOLS[meta["proto"]], states=states, bytecode=code
    )
    assert encode_message(kind, flags, 0, payload) == load(case)[0]


def test_big_dump_spans_several_datagrams() -> None:
    """The 300-listener dump needs several datagrams and only the last one ends the dump."""
    datagrams = load("tcp4_all")[1]
    chunks = [parse_datagram(d, "tcp") for d in datagrams]
    assert len(datagrams) >= 3
    assert [c.done for c in chunks] == [False] * (len(chunks) - 1) + [True]
    assert sum(len(c.sockets) for c in chunks) == len(CASES["tcp4_all"]["ss"])


def test_listener_queues_are_accept_queue_and_backlog() -> None:
    """A listener with backlog 1 and three clients shows 2 queued (Recv-Q) of backlog 1 (Send-Q)."""
    [full] = [s for s in fast("tcp4_listen") if s.sport == 7000]
    assert (full.state_name, full.rqueue, full.wqueue) == ("LISTEN", 2, 1)
    assert full.inode != 0


def test_time_wait_socket_has_no_inode() -> None:
    """A TIME-WAIT socket belongs to no process: inode 0."""
    [tw] = [s for s in fast("tcp4_all") if s.state_name == "TIME-WAIT"]
    assert tw.inode == 0 and tw.dport == 8080


def test_v6only_flags_of_ipv6_listeners() -> None:
    """sock_diag says which IPv6 listeners are v6-only: [::]:8443 yes, the dual-stack 9000 no."""
    by_port = {s.sport: s for s in fast("tcp6_listen")}
    assert by_port[8443].v6only is True
    assert by_port[9000].v6only is False
    assert by_port[9000].local == "*:9000"
    assert by_port[6379].local == "[::1]:6379"


def test_uid_and_interface_binding() -> None:
    """The uid of a socket opened by uid 65534 and the ifindex of a socket bound to lo."""
    udp = {s.sport: s for s in fast("udp4_all")}
    assert udp[6000].uid == 65534 and udp[5353].uid == 0
    assert udp[40000].state_name == "ESTAB" and udp[5353].state_name == "UNCONN"
    [bound] = [s for s in fast("tcp4_listen") if s.sport == 8081]
    assert bound.ifindex == 1


def test_port_filter_layout() -> None:
    """One port, both sides: S_EQ (false → next test), JMP to the end, D_EQ (false → reject)."""
    code = port_filter((80,))
    ops = [BC_OP.unpack_from(code, i) for i in range(0, len(code), 4)]
    assert ops == [
        (INET_DIAG_BC_S_EQ, 8, 12),
        (0, 0, 80),
        (INET_DIAG_BC_JMP, 4, 12),
        (INET_DIAG_BC_D_EQ, 8, 12),
        (0, 0, 80),
    ]


def run_bytecode(code: bytes, sport: int, dport: int) -> bool:
    """A model of the kernel's inet_diag_bc_run for the port ops used here."""
    pc, length = 0, len(code)
    while length - pc > 0:
        op, yes, no = BC_OP.unpack_from(code, pc)
        if op == INET_DIAG_BC_JMP:
            ok = False
        else:
            operand = BC_OP.unpack_from(code, pc + 4)[2]
            ok = (sport if op == INET_DIAG_BC_S_EQ else dport) == operand
        pc += yes if ok else no
    return pc == length


@pytest.mark.parametrize(
    ("sport", "dport", "accepted"),
    [(80, 1, True), (1, 80, True), (443, 2, True), (2, 443, True), (1, 2, False)],
)
def test_port_filter_semantics(sport: int, dport: int, accepted: bool) -> None:
    """The OR of port tests accepts a socket when any side matches any port, else rejects."""
    assert run_bytecode(port_filter((80, 443)), sport, dport) is accepted


def test_port_filter_rejects_bad_input() -> None:
    """No side or a port out of range is a bug in the caller: ValueError."""
    with pytest.raises(ValueError):
        port_filter((80,), local=False, remote=False)
    with pytest.raises(ValueError):
        port_filter((70000,))


def test_state_mask_names() -> None:
    """State names map to kernel bits; SYN-RECV covers request sockets too; unknown is refused."""
    assert state_mask(("LISTEN",)) == 1 << 10
    assert state_mask(("syn-recv",)) == (1 << 3) | (1 << 12)
    with pytest.raises(ValueError):
        state_mask(("BOGUS",))


def test_truncated_message_is_a_parse_error() -> None:
    """A datagram cut inside a message raises NetlinkParseError, not struct.error."""
    datagram = load("tcp4_port_8080")[1][0]
    with pytest.raises(NetlinkParseError):
        parse_datagram(datagram[:100], "tcp")
    short = encode_message(SOCK_DIAG_BY_FAMILY, 2, 1, b"\0" * 20)
    with pytest.raises(NetlinkParseError):
        parse_datagram(short, "tcp")
    with pytest.raises(NetlinkParseError):
        parse_socket(parse_messages(short)[0], "tcp")


def test_other_sequence_numbers_are_skipped() -> None:
    """Messages of an earlier request (another seq) are not taken as sockets of this one."""
    datagram = load("tcp4_port_8080")[1][0]
    seq = parse_messages(datagram)[0].seq
    assert parse_datagram(datagram, "tcp", seq=seq + 1).sockets == ()
    assert len(parse_datagram(datagram, "tcp", seq=seq).sockets) > 0


def test_kernel_error_in_done_is_reported() -> None:
    """A dump that ends with an errno in NLMSG_DONE gives the error as data."""
    done = encode_message(3, 2, 7, (-22).to_bytes(4, "little", signed=True))
    chunk = parse_datagram(done, "tcp")
    assert chunk.done and chunk.error is not None and chunk.error.name == "EINVAL"


def test_import_free_family_numbers_are_the_kernels() -> None:
    """netlink.tables spells AF_INET/AF_INET6 without importing socket: they must agree."""
    import socket

    from netdx.netlink import tables

    assert (tables.AF_INET, tables.AF_INET6) == (socket.AF_INET, socket.AF_INET6)
