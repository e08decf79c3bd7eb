"""`inspect --port N` reads UDP sockets: the captured sock_diag reply of a UDP socket that
dropped datagrams is read with its sk_drops, and a port bound over UDP is not "nothing
listens"."""

from __future__ import annotations

import socket
from pathlib import Path

from netlink_capture import load_case

from netdx.model.server import Process, ServerEvidence, Socket
from netdx.netlink.wire import encode_message, parse_messages
from netdx.sockets.inspect import inspect_evidence
from netdx.sockets.render import inspect_document, inspect_text
from netdx.sockets.udp import (
    UdpPort,
    UdpSocket,
    drop_notes,
    parse_udp_reply,
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
