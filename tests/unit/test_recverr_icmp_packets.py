"""Matching echo replies and ICMP errors to our echoes, on packets captured from a real kernel
(raw and datagram ICMP sockets), and building correct echo/SYN packets."""

from __future__ import annotations

import ipaddress
import json
import socket
import struct
from pathlib import Path
from typing import Any

from netdx.probes.egress import build_syn
from netdx.probes.icmp import (
    EchoPacket,
    _EchoState,
    _settle,
    build_echo,
    errqueue_echo_seq,
    inet_checksum,
    parse_dgram_reply,
    parse_raw_packet,
    reply_ttl,
)

FIXTURES = Path(__file__).parent / "fixtures" / "recverr"


def load(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    doc = json.loads((FIXTURES / f"{name}.json").read_text())
    return doc["capture"], doc["expect"]


def packet(capture: dict[str, Any], index: int = 0) -> tuple[bytes, str, list[Any]]:
    p = capture["packets"][index]
    anc = [(m["level"], m["type"], bytes.fromhex(m["data"])) for m in p["cmsgs"]]
    return bytes.fromhex(p["data"]), p["from"], anc


def test_raw_v4_reply_matches_and_reads_ttl_from_ip_header() -> None:
    """A raw IPv4 echo reply from the target with our id yields seq 1 and the header TTL."""
    capture, expect = load("raw4_reply")
    data, sender, _ = packet(capture)
    got = parse_raw_packet(4, data, sender, "10.91.3.2", capture["sent_id"])
    assert got is not None
    assert (got.seq, got.ttl, got.error) == (1, expect["ttl"], None)


def test_raw_reply_with_foreign_id_or_from_elsewhere_is_ignored() -> None:
    """A raw socket sees every ICMP packet: another identifier or another source is not ours."""
    capture, _ = load("raw4_reply")
    data, sender, _ = packet(capture)
    assert parse_raw_packet(4, data, sender, "10.91.3.2", capture["sent_id"] ^ 1) is None
    assert parse_raw_packet(4, data, sender, "10.91.3.99", capture["sent_id"]) is None


def test_raw_v4_error_is_matched_on_the_quoted_echo() -> None:
    """A host-unreachable quoting our echo to the target is our error, sender = the router."""
    capture, expect = load("raw4_host_unreachable")
    data, sender, _ = packet(capture)
    got = parse_raw_packet(4, data, sender, expect["dest"], capture["sent_id"])
    assert got is not None and got.error is not None
    assert got.seq == 1
    assert (got.error.kind, got.error.sender) == (expect["kind"], expect["sender"])
    assert parse_raw_packet(4, data, sender, "10.91.9.2", capture["sent_id"]) is None
    assert parse_raw_packet(4, data, sender, expect["dest"], capture["sent_id"] + 1) is None


def test_raw_v6_error_matches_and_neighbour_advert_does_not() -> None:
    """An ICMPv6 no-route quoting our echo matches; the unrelated ND packet also captured
    on the same raw socket does not."""
    capture, expect = load("raw6_no_route")
    data, sender, _ = packet(capture, 0)
    got = parse_raw_packet(6, data, sender, expect["dest"], capture["sent_id"])
    assert got is not None and got.error is not None
    assert (got.error.kind, got.error.sender, got.seq) == ("no-route", expect["sender"], 1)
    noise, noise_from, _ = packet(capture, 1)
    assert noise[0] == 136  # a neighbour advertisement
    assert parse_raw_packet(6, noise, noise_from, expect["dest"], capture["sent_id"]) is None


def test_raw_v6_reply_takes_ttl_from_hoplimit_cmsg() -> None:
    """A raw ICMPv6 reply has no IP header: the hop limit comes from IPV6_HOPLIMIT."""
    capture, expect = load("raw6_reply")
    data, sender, anc = packet(capture)
    got = parse_raw_packet(6, data, sender, "fd91:3::2", capture["sent_id"])
    assert got is not None and got.ttl is None
    assert reply_ttl(anc) == expect["ttl"]


def test_dgram_replies_and_ttl_cmsg() -> None:
    """Datagram-socket replies (no IP header) give their seq, the TTL comes from the cmsg."""
    for name, family in (("dgram4_reply", 4), ("dgram6_reply", 6)):
        capture, expect = load(name)
        data, _, anc = packet(capture)
        assert parse_dgram_reply(family, data) == 1  # type: ignore[arg-type]
        assert reply_ttl(anc) == expect["ttl"]


def test_dgram_error_queue_hands_back_our_echo() -> None:
    """The error queue returns the echo request the error is about; its seq is readable."""
    for name, family in (("dgram4_host_unreachable", 4), ("dgram6_no_route", 6)):
        capture, _ = load(name)
        payload = bytes.fromhex(capture["entries"][0]["payload"])
        assert errqueue_echo_seq(family, payload) == 1  # type: ignore[arg-type]


def test_built_v4_echo_has_a_valid_checksum() -> None:
    """The IPv4 echo we build sums to zero, as the receiver checks it."""
    echo = build_echo(4, 0x1234, 7)
    assert echo[0] == 8
    assert inet_checksum(echo) == 0
    assert struct.unpack_from("!HH", echo, 4) == (0x1234, 7)


def test_built_syn_checksum_covers_the_pseudo_header() -> None:
    """A built SYN's checksum verifies over the v4 and v6 pseudo headers."""
    for src, dst in (("10.91.1.2", "10.91.3.2"), ("fd91:1::2", "fd91:3::2")):
        family = ipaddress.ip_address(src).version
        syn = build_syn(family, src, dst, 40000, 8080, 12345)
        s, d = ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed
        if family == 4:
            pseudo = s + d + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(syn))
        else:
            pseudo = s + d + struct.pack("!I3xB", len(syn), socket.IPPROTO_TCP)
        assert inet_checksum(pseudo + syn) == 0
        assert syn[13] == 0x02  # SYN only


def test_echo_told_to_settle_ends_at_its_first_answer() -> None:
    """Unsettled, the echo waits for all of its echoes; told to settle (TCP answered) one
    reply is enough, while with no answer yet it keeps waiting."""
    state = _EchoState(family=4, target="127.0.0.1", ident=7, method="dgram")
    woken: list[bool] = []
    state.wake = lambda: woken.append(True)
    state.sent_at[1] = 0.0
    assert not state.settled(3)
    _settle(state)
    assert woken and not state.settled(3)  # woken, but nothing answered yet
    state.record(EchoPacket(seq=1, ttl=64), 0.001)
    assert state.settled(3) and state.rtts == {1: 1.0}
