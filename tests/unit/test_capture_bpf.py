"""The capture's classic BPF program and its packet parser, on packets captured from the
kernel (AF_PACKET SOCK_DGRAM on lo: network header first) and on crafted variants; the
program is run by an interpreter of the opcodes it uses (the lab test runs it in the kernel).
"""

from __future__ import annotations

import struct

import pytest

from netdx.collect.capture import (
    ETH_P_IP,
    ETH_P_IPV6,
    JEQ_K,
    RET_K,
    SNAPLEN,
    bpf_program,
    existing_flows,
    flags_text,
    parse_packet,
    run_filter,
)
from netdx.netlink.diag import DiagSocket
from netdx.netlink.tables import STATE_NUMBERS

# Captured on lo: 127.0.0.1:40182 → 127.0.0.1:45998 SYN, its SYN-ACK, the ACK;
# then [::1]:33374 → [::1]:45998 SYN and SYN-ACK.
SYN4 = bytes.fromhex(
    "4500003c1f3a400040061d807f0000017f0000019cf6b3ae1ef685be00000000a002ffd7fe300000"
    "0204ffd70402080a2a8e2b90000000000103030a"
)
SYNACK4 = bytes.fromhex(
    "4500003c0000400040063cba7f0000017f000001b3ae9cf66b76fcab1ef685bfa012ffcbfe300000"
    "0204ffd70402080ae8d4b4b92a8e2b900103030a"
)
ACK4 = bytes.fromhex(
    "450000341f3b400040061d877f0000017f0000019cf6b3ae1ef685bf6b76fcac80100040fe280000"
    "0101080a2a8e2b90e8d4b4b9"
)
SYN6 = bytes.fromhex(
    "6001810700280640000000000000000000000000000000010000000000000000000000000000000182"
    "5eb3ae7d1ecaf200000000a002ffc4003000000204ffc40402080ad31c0767000000000103030a"
)
SYNACK6 = bytes.fromhex(
    "600ba95e002806400000000000000000000000000000000100000000000000000000000000000001b3"
    "ae825eb0a4734b7d1ecaf3a012ffb8003000000204ffc40402080a21ea101dd31c07670103030a"
)
PORT = 45998


def with_ipv4_options(packet: bytes) -> bytes:
    """The same IPv4 packet with 4 bytes of options (IHL 6): the ports move by 4."""
    head = bytes([0x46]) + packet[1:20] + b"\x01\x01\x01\x00"
    return head + packet[20:]


def test_captured_packets_parse() -> None:
    """Addresses, ports and tcpdump-style flags of the captured IPv4 and IPv6 packets."""
    assert parse_packet(SYN4) == ("127.0.0.1", 40182, "127.0.0.1", PORT, 0x02)
    assert parse_packet(SYNACK4) == ("127.0.0.1", PORT, "127.0.0.1", 40182, 0x12)
    assert parse_packet(SYN6) == ("::1", 33374, "::1", PORT, 0x02)
    assert parse_packet(SYNACK6) == ("::1", PORT, "::1", 33374, 0x12)
    assert parse_packet(with_ipv4_options(SYN4)) == parse_packet(SYN4)
    assert [flags_text(p[4]) for p in map(parse_packet, (SYN4, SYNACK4, ACK4)) if p] == [
        "S", "S.", ".",
    ]  # fmt: skip
    assert flags_text(0x04) == "R" and flags_text(0x11) == "F." and flags_text(0) == "none"


def test_parser_refuses_what_it_cannot_read() -> None:
    """Empty, truncated, UDP and ARP-like data are not TCP packets: None, not an error."""
    udp = SYN4[:9] + b"\x11" + SYN4[10:]
    for junk in (b"", b"\x45", SYN4[:30], udp, b"\x00\x01\x08\x00" + b"\x00" * 40, SYN6[:50]):
        assert parse_packet(junk) is None


def test_filter_keeps_tcp_of_the_port_both_ways_ipv4_and_ipv6() -> None:
    """The program returns SNAPLEN for a segment to or from the port, IPv4 (with or
    without options) and IPv6, and 0 for another port, UDP, a later fragment, ARP."""
    program = bpf_program(PORT)
    for packet, proto in ((SYN4, ETH_P_IP), (SYNACK4, ETH_P_IP), (ACK4, ETH_P_IP),
                          (with_ipv4_options(SYN4), ETH_P_IP), (SYN6, ETH_P_IPV6),
                          (SYNACK6, ETH_P_IPV6)):  # fmt: skip
        assert run_filter(program, packet, proto) == SNAPLEN
    other = bpf_program(PORT + 1)
    assert run_filter(other, SYN4, ETH_P_IP) == 0 and run_filter(other, SYN6, ETH_P_IPV6) == 0
    udp = SYN4[:9] + b"\x11" + SYN4[10:]
    later_fragment = SYN4[:6] + b"\x00\x10" + SYN4[8:]
    assert run_filter(program, udp, ETH_P_IP) == 0
    assert run_filter(program, later_fragment, ETH_P_IP) == 0
    assert run_filter(program, SYN4, 0x0806) == 0  # skb->protocol says ARP
    assert run_filter(program, SYN4[:22], ETH_P_IP) == 0  # a load past the end ends it


def test_ipv6_extension_header_is_not_matched() -> None:
    """The documented limit: TCP behind an IPv6 extension header (next header 0,
    hop-by-hop) is not matched."""
    hop_by_hop = SYN6[:6] + b"\x00" + SYN6[7:40] + b"\x06\x00" + b"\x00" * 6 + SYN6[40:]
    assert run_filter(bpf_program(PORT), hop_by_hop, ETH_P_IPV6) == 0


def test_peer_narrows_the_filter_to_the_clients_packets() -> None:
    """With a peer, only packets from or to it pass, IPv4 and IPv6."""
    assert run_filter(bpf_program(PORT, "127.0.0.1"), SYN4, ETH_P_IP) == SNAPLEN
    assert run_filter(bpf_program(PORT, "127.0.0.1"), SYNACK4, ETH_P_IP) == SNAPLEN
    assert run_filter(bpf_program(PORT, "10.0.0.10"), SYN4, ETH_P_IP) == 0
    assert run_filter(bpf_program(PORT, "::1"), SYN6, ETH_P_IPV6) == SNAPLEN
    assert run_filter(bpf_program(PORT, "::1"), SYNACK6, ETH_P_IPV6) == SNAPLEN
    assert run_filter(bpf_program(PORT, "fd00::10"), SYN6, ETH_P_IPV6) == 0
    # The answer goes from the server's address to the peer: it passes too.
    from_server4 = SYNACK4[:12] + bytes([10, 0, 0, 2]) + SYNACK4[16:]
    from_server6 = SYNACK6[:8] + bytes.fromhex("fd00" + "00" * 13 + "02") + SYNACK6[24:]
    assert run_filter(bpf_program(PORT, "127.0.0.1"), from_server4, ETH_P_IP) == SNAPLEN
    assert run_filter(bpf_program(PORT, "::1"), from_server6, ETH_P_IPV6) == SNAPLEN
    assert run_filter(bpf_program(PORT, "::2"), from_server6, ETH_P_IPV6) == 0
    # A v4 peer says nothing of IPv6 addresses: the port decides there (and vice versa).
    assert run_filter(bpf_program(PORT, "fd00::10"), SYN4, ETH_P_IP) == SNAPLEN


@pytest.mark.parametrize("peer", [None, "10.0.0.10", "fd00::10"])
def test_program_is_well_formed(peer: str | None) -> None:
    """Every jump lands inside the program, it ends with a return, and it packs into
    struct sock_filter (u16 code, u8 jt, u8 jf, u32 k)."""
    program = bpf_program(PORT, peer)
    assert program[-1][0] == RET_K and len(program) < 64
    for index, (code, jt, jf, k) in enumerate(program):
        struct.pack("HBBI", code, jt, jf, k)
        if code == JEQ_K:
            assert index + 1 + max(jt, jf) < len(program)


def test_connections_open_before_the_capture_are_left_out() -> None:
    """The port's connections listed when the capture opens give both directions of each
    flow (a dual-stack socket's IPv4-mapped addresses as they are on the wire); listeners,
    other ports and UDP do not (the session's own connection is left out when the port is
    the SSH port)."""
    def sock(proto: str, state: str, src: str, sport: int, dst: str, dport: int) -> DiagSocket:
        return DiagSocket(proto, 2 if "." in src else 10, STATE_NUMBERS[state], src, sport,
                          dst, dport, 0, 0, 0, 0, 1)  # fmt: skip

    flows = existing_flows(22, [
        sock("tcp", "LISTEN", "0.0.0.0", 22, "0.0.0.0", 0),
        sock("tcp", "ESTAB", "10.0.0.2", 22, "10.0.0.10", 54321),
        sock("tcp", "ESTAB", "10.0.0.2", 80, "10.0.0.10", 54322),
        sock("udp", "ESTAB", "10.0.0.2", 22, "10.0.0.10", 54323),
        sock("tcp", "CLOSE-WAIT", "::1", 22, "::1", 40000),
        sock("tcp", "ESTAB", "::ffff:10.0.0.2", 22, "::ffff:10.0.0.11", 5000),
    ])  # fmt: skip
    assert flows == {
        ("10.0.0.2", 22, "10.0.0.10", 54321), ("10.0.0.10", 54321, "10.0.0.2", 22),
        ("10.0.0.2", 22, "10.0.0.11", 5000), ("10.0.0.11", 5000, "10.0.0.2", 22),
        ("::1", 22, "::1", 40000), ("::1", 40000, "::1", 22),
    }  # fmt: skip
