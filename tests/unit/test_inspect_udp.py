"""`inspect --port N` judges UDP sockets: the captured sock_diag reply of a UDP socket that
dropped datagrams is read with its sk_drops, and a port bound over UDP is not "nothing
listens"."""

from __future__ import annotations

import socket
from pathlib import Path

from netlink_capture import load_case

from netdx.model import Verdict
from netdx.model.server import Process, ServerEvidence, Socket
from netdx.netlink.wire import encode_message, parse_messages
from netdx.sockets.inspect import inspect_evidence
from netdx.sockets.render import inspect_document, inspect_text
from netdx.sockets.udp import (
    UDP_DROPS_CAUSE,
    UdpPort,
    UdpSocket,
    drop_notes,
    judge_udp,
    parse_udp_reply,
    rcvbuf_errors,
    udp_port_request,
)

SOCKDIAG = Path(__file__).resolve().parent / "fixtures" / "sockdiag"
BOUND = Socket(proto="udp", family=2, state=7, src="127.0.0.1", sport=5353, dst="0.0.0.0",
               dport=0, inode=42)  # fmt: skip
AVAHI = Process(pid=321, command="avahi-daemon", user="avahi", uid=107)


def captured() -> list[tuple[Socket, int | None]]:
    _, replies = load_case(SOCKDIAG, "udp4_port_5353_drops")
    return parse_udp_reply([m for data in replies for m in parse_messages(data)])


def test_request_is_the_one_captured() -> None:
    """udp_port_request asks for UDP/IPv4 sockets of sport 5353 with SKMEMINFO, byte for
    byte the request whose reply was captured."""
    request, _ = load_case(SOCKDIAG, "udp4_port_5353_drops")
    kind, flags, payload = udp_port_request(socket.AF_INET, 5353)
    assert encode_message(kind, flags, 0, payload) == request


def test_captured_reply_gives_the_socket_and_its_drops() -> None:
    """The socket fed 50 datagrams into a 1 KiB buffer reports most of them dropped; the
    socket on another port is not in the answer."""
    found = captured()
    assert [(s.local, s.proto) for s, _ in found] == [("127.0.0.1:5353", "udp")]
    drops = found[0][1]
    assert drops is not None and 40 <= drops < 50


def test_udp_bound_port_is_not_nothing_listens() -> None:
    """No TCP listener but a bound UDP socket: ok, naming the socket and its owner, with the
    drops as a warning (cause app.udp_rcvbuf_drops) and the host counter in the evidence."""
    refused = Verdict(cause="port.refused", summary="refused: nothing listens on :5353")
    udp = UdpPort(port=5353, sockets=(UdpSocket(socket=BOUND, owner=AVAHI, drops=7),),
                  rcvbuf_errors=12)  # fmt: skip
    verdict = judge_udp(udp, refused, tcp_listeners=0)
    assert verdict.cause == "ok"
    assert "UDP port 5353 is bound (127.0.0.1:5353, avahi-daemon pid 321)" in verdict.summary
    assert "7 dropped" in verdict.evidence[0]
    (warning,) = verdict.warnings
    assert warning.cause == UDP_DROPS_CAUSE == "app.udp_rcvbuf_drops"
    assert any("UdpRcvbufErrors 12" in line for line in warning.evidence)


def test_no_udp_socket_leaves_the_tcp_verdict_alone() -> None:
    """Without a UDP socket on the port the TCP verdict stands, even with host-wide drops."""
    refused = Verdict(cause="port.refused", summary="refused: nothing listens on :5353")
    assert judge_udp(UdpPort(port=5353, rcvbuf_errors=3), refused, tcp_listeners=0) == refused


def test_quiet_udp_socket_beside_a_tcp_verdict_adds_evidence_only() -> None:
    """A TCP verdict other than refused is kept; the UDP socket joins its evidence and, with
    no drops anywhere, no warning is added."""
    tcp = Verdict(cause="ok", summary="listening", evidence=("LISTEN 0.0.0.0:53",))
    udp = UdpPort(port=53, sockets=(UdpSocket(socket=BOUND, drops=0),), rcvbuf_errors=0)
    verdict = judge_udp(udp, tcp, tcp_listeners=1)
    assert verdict.cause == "ok" and verdict.warnings == ()
    assert verdict.evidence[0] == "LISTEN 0.0.0.0:53"
    assert "UDP 127.0.0.1:5353" in verdict.evidence[1]


def test_rcvbuf_errors_adds_ipv4_and_ipv6(tmp_path: Path) -> None:
    """UdpRcvbufErrors of /proc/net/snmp plus Udp6RcvbufErrors of /proc/net/snmp6."""
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "snmp").write_text(
        "Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\n"
        "Udp: 10 0 5 9 4 0\n"
    )
    (tmp_path / "net" / "snmp6").write_text("Udp6InDatagrams  3\nUdp6RcvbufErrors  2\n")
    assert rcvbuf_errors(str(tmp_path)) == 6
    assert rcvbuf_errors(str(tmp_path / "missing")) is None


def test_inspection_renders_the_udp_socket_and_keeps_tcp_documents_unchanged() -> None:
    """The text names the UDP socket instead of "nothing listens"; the JSON carries a `udp`
    object with the drops, and an inspection without UDP sockets has no such key."""
    server = ServerEvidence(port=5353)
    udp = UdpPort(port=5353, sockets=(UdpSocket(socket=BOUND, owner=AVAHI, fd=9, drops=7),))
    inspection = inspect_evidence(server, udp)
    text = inspect_text(inspection)
    assert "nothing listens" not in text and "UDP 127.0.0.1:5353 bound by avahi-daemon" in text
    doc = inspect_document(inspection)
    assert doc["verdict"]["cause"] == "ok"
    assert doc["udp"]["sockets"][0]["drops"] == 7
    assert doc["udp"]["sockets"][0]["process"]["pid"] == 321
    assert "udp" not in inspect_document(inspect_evidence(server))


def test_who_notes_only_nonzero_drops() -> None:
    """`who` notes a socket's drops and the host counter only when they are non-zero, and
    says nothing about the host counter when no UDP socket uses the port."""
    quiet = UdpSocket(socket=BOUND, drops=0)
    dropping = UdpSocket(socket=BOUND, drops=5)
    assert drop_notes(UdpPort(port=5353, sockets=(quiet,), rcvbuf_errors=0)) == []
    assert drop_notes(UdpPort(port=5353, rcvbuf_errors=9)) == []
    assert drop_notes(UdpPort(port=5353, sockets=(quiet, dropping), rcvbuf_errors=9)) == [
        "udp 127.0.0.1:5353: 5 datagrams dropped, receive buffer full (sk_drops)",
        "UdpRcvbufErrors 9 on this host (/proc/net/snmp)",
    ]
