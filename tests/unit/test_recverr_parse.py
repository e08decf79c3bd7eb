"""The sock_extended_err parser and ICMP names, on control messages captured from a real kernel.

The fixtures under fixtures/recverr were written by fixtures/recverr/capture.py in a chain of
network namespaces; each carries the ground truth (type, code, sender) of its topology.
"""

from __future__ import annotations

import json
import socket
import struct
from pathlib import Path
from typing import Any

import pytest

from netdx.netlink.errors import errno_name, os_error_text
from netdx.probes.recverr import (
    SO_EE_ORIGIN_ICMP,
    SO_EE_ORIGIN_ICMP6,
    extended_err_from_cmsgs,
    icmp_kind,
    parse_extended_err,
    parse_offender,
    to_icmp_error,
)

FIXTURES = Path(__file__).parent / "fixtures" / "recverr"
ERRQUEUE_CASES = sorted(
    p.stem for p in FIXTURES.glob("*.json") if json.loads(p.read_text())["capture"].get("entries")
)


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())  # type: ignore[no-any-return]


def cmsgs(entry: dict[str, Any]) -> list[tuple[int, int, bytes]]:
    return [(m["level"], m["type"], bytes.fromhex(m["data"])) for m in entry["cmsgs"]]


def test_fixtures_cover_every_scenario_family() -> None:
    """The captured set holds TCP and ICMP errors for both IPv4 and IPv6."""
    assert {"tcp4_port_unreachable", "tcp6_no_route", "dgram4_host_unreachable"} <= set(
        ERRQUEUE_CASES
    )
    assert len(ERRQUEUE_CASES) >= 15


@pytest.mark.parametrize("name", ERRQUEUE_CASES)
def test_captured_errqueue_entry_parses_to_ground_truth(name: str) -> None:
    """Each captured error-queue control message decodes to the type, code, kind and sender
    the namespace topology dictates."""
    doc = load(name)
    expect = doc["expect"]
    entry = doc["capture"]["entries"][0]
    err = extended_err_from_cmsgs(cmsgs(entry))
    assert err is not None
    assert (err.icmp_type, err.icmp_code, err.offender) == (
        expect["type"],
        expect["code"],
        expect["sender"],
    )
    icmp = to_icmp_error(err)
    assert icmp is not None
    assert icmp.kind == expect["kind"]
    assert icmp.sender == expect["sender"]
    if "errno" in expect:
        assert icmp.errno == expect["errno"]


@pytest.mark.parametrize("name", [n for n in ERRQUEUE_CASES if n.startswith("tcp")])
def test_tcp_errqueue_errno_matches_so_error(name: str) -> None:
    """For a TCP connect the queued ee_errno is the very errno SO_ERROR reported."""
    capture = load(name)["capture"]
    err = extended_err_from_cmsgs(cmsgs(capture["entries"][0]))
    assert err is not None
    assert err.errno == capture["so_error"]


def test_origin_tells_icmp_from_icmpv6() -> None:
    """A v4 error carries origin ICMP, a v6 one origin ICMP6, and the family follows."""
    e4 = extended_err_from_cmsgs(cmsgs(load("tcp4_port_unreachable")["capture"]["entries"][0]))
    e6 = extended_err_from_cmsgs(cmsgs(load("tcp6_port_unreachable")["capture"]["entries"][0]))
    assert e4 is not None and e6 is not None
    assert (e4.origin, e4.family) == (SO_EE_ORIGIN_ICMP, 4)
    assert (e6.origin, e6.family) == (SO_EE_ORIGIN_ICMP6, 6)


def test_unrelated_cmsgs_are_ignored() -> None:
    """Control messages that are not IP_RECVERR/IPV6_RECVERR (a TTL, say) yield nothing."""
    assert extended_err_from_cmsgs([(0, 2, b"\x40\x00\x00\x00")]) is None


def test_local_origin_is_not_an_icmp_error() -> None:
    """An entry of origin LOCAL (e.g. EMSGSIZE) has no offender and no IcmpError."""
    raw = struct.pack("=IBBBBII", 90, 1, 0, 0, 0, 1500, 0) + b"\0" * 16
    err = parse_extended_err(raw)
    assert err.offender is None
    assert not err.is_icmp
    assert to_icmp_error(err) is None


def test_short_payload_is_a_bug() -> None:
    """A payload shorter than struct sock_extended_err raises ValueError."""
    with pytest.raises(ValueError, match="16 bytes"):
        parse_extended_err(b"\0" * 8)


def test_v4_mapped_offender_is_unmapped() -> None:
    """An IPv4 sender reported in a sockaddr_in6 (dual-stack socket) reads as plain IPv4."""
    raw = (
        struct.pack("=HHI", socket.AF_INET6, 0, 0)
        + bytes(10)
        + b"\xff\xff"
        + bytes([10, 0, 0, 1])
        + struct.pack("=I", 0)
    )
    assert parse_offender(raw) == "10.0.0.1"


@pytest.mark.parametrize(
    ("family", "icmp_type", "code", "kind"),
    [
        (4, 3, 0, "net-unreachable"),
        (4, 3, 1, "host-unreachable"),
        (4, 3, 2, "protocol-unreachable"),
        (4, 3, 3, "port-unreachable"),
        (4, 3, 4, "frag-needed"),
        (4, 3, 9, "net-prohibited"),
        (4, 3, 10, "host-prohibited"),
        (4, 3, 13, "admin-prohibited"),
        (4, 3, 5, "other"),
        (4, 11, 0, "time-exceeded"),
        (4, 12, 0, "other"),
        (6, 1, 0, "no-route"),
        (6, 1, 1, "admin-prohibited"),
        (6, 1, 2, "other"),
        (6, 1, 3, "addr-unreachable"),
        (6, 1, 4, "port-unreachable"),
        (6, 1, 5, "admin-prohibited"),
        (6, 1, 6, "admin-prohibited"),
        (6, 2, 0, "frag-needed"),
        (6, 3, 0, "time-exceeded"),
        (6, 4, 0, "other"),
    ],
)
def test_icmp_kind_names(family: int, icmp_type: int, code: int, kind: str) -> None:
    """ICMP and ICMPv6 type/code pairs map to the model's stable kind names."""
    assert icmp_kind(family, icmp_type, code) == kind  # type: ignore[arg-type]


def test_errno_name_falls_back_to_number() -> None:
    """Known errnos get their symbol, unknown ones E<n>."""
    assert errno_name(111) == "ECONNREFUSED"
    assert errno_name(99999) == "E99999"


def test_os_error_text_names_the_errno() -> None:
    """An OSError reads as its strerror and symbol; one without a known errno as itself."""
    assert os_error_text(ConnectionRefusedError(111, "x")) == "connection refused (ECONNREFUSED)"
    assert os_error_text(OSError("no errno")) == "no errno"
    assert os_error_text(OSError()) == "OSError"
