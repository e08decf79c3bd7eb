"""Netlink framing, attribute tables and reply collection, on captured and fuzzed bytes."""

from __future__ import annotations

import errno
import struct
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from netlink_capture import load_case

from netdx.netlink import (
    AttrSpec,
    Field,
    NetlinkParseError,
    NlMsg,
    ReplyCollector,
    StructFormat,
    collect,
    encode_attr,
    encode_message,
    parse_attrs,
    parse_error,
    parse_messages,
    parse_neighbour,
    parse_route,
)
from netdx.netlink.attrs import be16, ip_address, u32
from netdx.netlink.rtnl import NDA, RTA, RTM_NEWNEIGH, RTM_NEWROUTE
from netdx.netlink.wire import NLM_F_MULTI, NLMSG_DONE, NLMSG_ERROR

FIXTURES = Path(__file__).parent / "fixtures" / "netlink"


def load(case: str) -> tuple[bytes, list[bytes]]:
    """(request, reply datagrams) of one captured case."""
    return load_case(FIXTURES, case)


ALL_CASES = sorted(p.stem for p in FIXTURES.glob("*.hex"))
ALL_DATAGRAMS = [d for case in ALL_CASES for d in load(case)[1]]


def test_fixtures_cover_every_case() -> None:
    """The capture produced the route, neighbour and dump cases the other tests rely on."""
    assert len(ALL_CASES) >= 29
    assert all(load(case)[1] for case in ALL_CASES)


def test_encode_message_round_trips() -> None:
    """An encoded message parses back to the same header fields and payload, padded to 4."""
    data = encode_message(26, 1, 7, b"\x02\x00\x00", pid=9)
    assert len(data) % 4 == 0
    (msg,) = parse_messages(data)
    assert msg == NlMsg(type=26, flags=1, seq=7, pid=9, payload=b"\x02\x00\x00")


def test_parse_messages_rejects_a_length_past_the_end() -> None:
    """An nlmsg_len larger than the datagram is a parse error, not a short read."""
    data = bytearray(encode_message(24, 0, 1, b"\0" * 12))
    struct.pack_into("=I", data, 0, 200)
    with pytest.raises(NetlinkParseError):
        parse_messages(bytes(data))


def test_kernel_error_with_extended_ack_message() -> None:
    """A captured ENODEV error carries the kernel's extended-ack text."""
    _, replies = load("neigh_bad_ifindex")
    reply = collect(replies)
    assert reply.error is not None
    assert reply.error.errno == errno.ENODEV
    assert reply.error.name == "ENODEV"
    assert reply.error.message == "Unknown device ifindex"
    assert reply.messages == ()


def test_extended_ack_after_an_uncapped_echo() -> None:
    """Without NETLINK_CAP_ACK the whole request is echoed; the message after it is still read.

    Hand-built from the captured ENODEV reply: the echoed header grows by its payload.
    """
    request, replies = load("neigh_bad_ifindex")
    (captured,) = parse_messages(replies[0])
    tlvs = encode_attr(1, b"Unknown device ifindex\0")
    payload = struct.pack("=i", -errno.ENODEV) + request + tlvs
    uncapped = encode_message(NLMSG_ERROR, 0x200, captured.seq, payload)
    (msg,) = parse_messages(uncapped)
    assert parse_error(msg).message == "Unknown device ifindex"


def test_kernel_error_without_message() -> None:
    """A captured route-get ENETUNREACH is an error reply with no text."""
    reply = collect(load("route_v4_none")[1])
    assert reply.error is not None
    assert (reply.error.name, reply.error.message) == ("ENETUNREACH", None)


def test_plain_ack_is_no_error() -> None:
    """An NLMSG_ERROR with errno 0 (an ACK) ends the reply without an error."""
    ack = encode_message(NLMSG_ERROR, 0, 5, struct.pack("=i", 0) + b"\0" * 16)
    reply = collect([ack])
    assert reply.error is None
    assert reply.messages == ()


def test_multipart_dump_is_collected_until_done() -> None:
    """A captured neighbour dump of 600+ entries spans datagrams and ends at NLMSG_DONE."""
    replies = load("neigh_v4_dump")[1]
    assert len(replies) >= 2
    reply = collect(replies)
    assert reply.error is None
    assert not reply.interrupted
    assert len(reply.messages) >= 600
    assert all(m.flags & NLM_F_MULTI for m in reply.messages)


def test_collector_skips_stale_sequence_numbers() -> None:
    """Replies to an earlier request (another seq) do not complete the current one."""
    _, replies = load("route_v4_gateway")
    (answer,) = parse_messages(replies[0])
    collector = ReplyCollector(seq=answer.seq + 1, pid=answer.pid)
    collector.feed(replies[0])
    assert not collector.done
    collector = ReplyCollector(seq=answer.seq, pid=answer.pid)
    collector.feed(replies[0])
    assert collector.done
    assert len(collector.reply().messages) == 1


def test_done_with_errno_is_an_error() -> None:
    """A dump that fails part way reports the errno in NLMSG_DONE."""
    done = encode_message(NLMSG_DONE, NLM_F_MULTI, 1, struct.pack("=i", -errno.EBUSY))
    reply = collect([done])
    assert reply.error is not None
    assert reply.error.name == "EBUSY"


def test_collect_refuses_an_incomplete_dump() -> None:
    """Datagrams that stop before NLMSG_DONE are an incomplete reply, a parse error."""
    replies = load("neigh_v4_dump")[1]
    with pytest.raises(NetlinkParseError):
        collect(replies[:-1])


@dataclass(frozen=True, slots=True, kw_only=True)
class _Ports:
    sport: int
    dport: int
    ifindex: int


def test_struct_format_with_big_endian_members() -> None:
    """A struct mixing network-order ports and native integers decodes by declaration."""
    fmt = StructFormat(
        "ports",
        _Ports,
        (
            Field("sport", "2s", decode=be16, encode=lambda v: struct.pack("!H", v)),
            Field("dport", "2s", decode=be16, encode=lambda v: struct.pack("!H", v)),
            Field("", "4x"),
            Field("ifindex", "I"),
        ),
    )
    value = _Ports(sport=443, dport=5432, ifindex=3)
    data = fmt.pack(value)
    assert data[:4] == b"\x01\xbb\x15\x38"
    assert fmt.unpack(data) == value
    with pytest.raises(NetlinkParseError):
        fmt.unpack(data[:-1])


def test_attrs_keep_unknown_types_and_mask_flags() -> None:
    """Unknown attribute types stay as bytes; the NESTED/BYTEORDER bits are masked off."""
    table = {1: AttrSpec("A_ADDR", ip_address), 2: AttrSpec("A_NUM", u32)}
    data = encode_attr(1 | 0x4000, bytes([10, 0, 0, 1])) + encode_attr(9, b"xyz")
    data += encode_attr(2, struct.pack("=I", 77))
    attrs = parse_attrs(data, table)
    assert attrs.get_str("A_ADDR") == "10.0.0.1"
    assert attrs.get_int("A_NUM") == 77
    assert attrs.items[1].name is None
    assert attrs.items[1].value == b"xyz"


def test_attr_of_wrong_size_is_a_parse_error() -> None:
    """A u32 attribute of 3 bytes is rejected."""
    with pytest.raises(NetlinkParseError):
        parse_attrs(encode_attr(4, b"\0\0\0"), RTA)


# --- fuzzing: malformed bytes raise NetlinkParseError and nothing else -------------------------


def _parse_everything(data: bytes) -> None:
    """Run every parser reachable from a datagram; only NetlinkParseError may escape."""
    for msg in parse_messages(data):
        if msg.type in (NLMSG_ERROR, NLMSG_DONE):
            parse_error(msg)
        elif msg.type == RTM_NEWROUTE:
            parse_route(msg)
        elif msg.type == RTM_NEWNEIGH:
            parse_neighbour(msg)


def _outcome(data: bytes) -> str:
    """ "parsed" or "rejected" (NetlinkParseError); any other exception fails the test."""
    try:
        _parse_everything(data)
    except NetlinkParseError:
        return "rejected"
    return "parsed"


def _boundaries(datagram: bytes) -> set[int]:
    """Offsets where a message of the datagram starts or ends."""
    ends, offset = {0}, 0
    for msg in parse_messages(datagram):
        offset += (16 + len(msg.payload) + 3) & ~3
        ends.add(min(offset, len(datagram)))
    return ends


@settings(max_examples=400, database=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(data: bytes) -> None:
    """Random bytes either parse or raise NetlinkParseError, never another exception."""
    assert _outcome(data) in ("parsed", "rejected")


@settings(max_examples=400, database=None)
@given(st.sampled_from(ALL_DATAGRAMS), st.data())
def test_fuzz_truncated_captures(datagram: bytes, data: st.DataObject) -> None:
    """A captured datagram cut inside a message is rejected with NetlinkParseError."""
    cut = data.draw(st.integers(0, len(datagram)))
    expected = "parsed" if cut in _boundaries(datagram) else "rejected"
    with pytest.raises(NetlinkParseError) if expected == "rejected" else nullcontext():
        parse_messages(datagram[:cut])


@settings(max_examples=400, database=None)
@given(st.sampled_from(ALL_DATAGRAMS), st.data())
def test_fuzz_mutated_captures(datagram: bytes, data: st.DataObject) -> None:
    """Captured datagrams with bytes changed parse or raise only NetlinkParseError."""
    mutated = bytearray(datagram)
    for _ in range(data.draw(st.integers(1, 4))):
        mutated[data.draw(st.integers(0, len(mutated) - 1))] = data.draw(st.integers(0, 255))
    assert _outcome(bytes(mutated)) in ("parsed", "rejected")


@settings(max_examples=300, database=None)
@given(st.sampled_from([RTM_NEWROUTE, RTM_NEWNEIGH]), st.binary(max_size=200))
def test_fuzz_message_bodies(msg_type: int, body: bytes) -> None:
    """Random rtmsg/ndmsg bodies with valid framing raise only NetlinkParseError."""
    data = encode_message(msg_type, 0, 0, body)
    assert _outcome(data) in ("parsed", "rejected")


@settings(max_examples=300, database=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.binary(max_size=24)), max_size=6))
def test_fuzz_well_framed_attributes(items: list[tuple[int, bytes]]) -> None:
    """Well-framed attributes of any type and size decode one item each or are rejected."""
    data = b"".join(encode_attr(kind, value) for kind, value in items)
    for table in (RTA, NDA):
        try:
            parsed = parse_attrs(data, table)
        except NetlinkParseError:
            continue
        assert len(parsed.items) == len(items)
