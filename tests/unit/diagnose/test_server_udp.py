"""The UDP rules of diagnose.server_udp through the engine's one picker (`diagnose_server`
with the port's `UdpPort`): a port bound over UDP and by no TCP listener is ok, not
port.refused; drops are the app.udp_rcvbuf_drops warning; the TCP findings stay as read."""

from __future__ import annotations

from netdx.diagnose import server_udp
from netdx.diagnose.engine import diagnose_server
from netdx.model.server import TCP_LISTEN, Process, ServerEvidence, Socket, UdpPort, UdpSocket

BOUND = Socket(proto="udp", family=2, state=7, src="127.0.0.1", sport=5353, dst="0.0.0.0",
               dport=0, inode=42)  # fmt: skip
LISTEN = Socket(proto="tcp", family=2, state=TCP_LISTEN, src="0.0.0.0", sport=5353,
                dst="0.0.0.0", dport=0, inode=43)  # fmt: skip
AVAHI = Process(pid=321, command="avahi-daemon", user="avahi", uid=107)


def test_udp_bound_port_is_ok_not_refused() -> None:
    """No TCP listener but a bound UDP socket: ok naming the socket and its owner, the
    socket's drops as the app.udp_rcvbuf_drops warning with the host counter, and
    port.refused still among the findings (the TCP side as read)."""
    udp = UdpPort(port=5353, sockets=(UdpSocket(socket=BOUND, owner=AVAHI, drops=7),),
                  rcvbuf_errors=12)  # fmt: skip
    findings, verdict = diagnose_server(ServerEvidence(port=5353), udp)
    assert [f.cause for f in findings] == ["port.refused"]
    assert verdict.cause == "ok"
    assert verdict.summary == ("UDP port 5353 is bound (127.0.0.1:5353, avahi-daemon pid 321); "
                               "no TCP listener")  # fmt: skip
    assert verdict.evidence == (
        "UDP 127.0.0.1:5353 bound by avahi-daemon (pid 321, user avahi), 7 dropped "
        "(receive buffer full)",
    )
    (warning,) = verdict.warnings
    assert warning.cause == server_udp.UDP_DROPS_CAUSE == "app.udp_rcvbuf_drops"
    assert warning.severity == "warn" and "are dropped" in warning.summary
    assert warning.evidence[1] == "UdpRcvbufErrors 12 on this host (/proc/net/snmp)"


def test_host_drops_alone_warn_only_with_a_socket_on_the_port() -> None:
    """UdpRcvbufErrors with no UDP socket on the port: the TCP verdict stands unchanged;
    with a quiet socket there, the host's drops are the warning."""
    server = ServerEvidence(port=5353)
    alone = diagnose_server(server, UdpPort(port=5353, rcvbuf_errors=3))
    assert alone == diagnose_server(server) and alone[1].cause == "port.refused"
    quiet = UdpPort(port=5353, sockets=(UdpSocket(socket=BOUND, drops=0),), rcvbuf_errors=3)
    _, verdict = diagnose_server(server, quiet)
    assert verdict.cause == "ok" and "owner unknown" in verdict.summary
    assert [w.cause for w in verdict.warnings] == ["app.udp_rcvbuf_drops"]
    assert "not on this port's sockets" in verdict.warnings[0].summary


def test_quiet_udp_socket_beside_a_tcp_listener_adds_evidence_only() -> None:
    """With a TCP listener the TCP verdict is kept; the UDP socket joins its evidence and,
    with no drops anywhere, no warning is added."""
    server = ServerEvidence(port=5353, listeners=(LISTEN,))
    udp = UdpPort(port=5353, sockets=(UdpSocket(socket=BOUND, drops=0),), rcvbuf_errors=0)
    tcp_findings, tcp_verdict = diagnose_server(server)
    findings, verdict = diagnose_server(server, udp)
    assert findings == tcp_findings and verdict.cause == tcp_verdict.cause == "ok"
    assert verdict.warnings == tcp_verdict.warnings
    assert verdict.evidence == (*tcp_verdict.evidence,
                                "UDP 127.0.0.1:5353 bound by a process of uid 0 (owner unknown)")


def test_unread_tcp_side_stays_unknown_with_the_udp_side_beside() -> None:
    """A TCP side that could not be read stays unknown even with UDP sockets bound (no rule
    judges it); the UDP socket and its drops ride beside."""
    server = ServerEvidence(port=5353, error="sock_diag: permission denied")
    udp = UdpPort(port=5353, sockets=(UdpSocket(socket=BOUND, drops=2),))
    findings, verdict = diagnose_server(server, udp)
    assert findings == () and verdict.cause == "unknown"
    assert verdict.summary == "sock_diag: permission denied"
    assert [w.cause for w in verdict.warnings] == ["app.udp_rcvbuf_drops"]
    assert verdict.evidence[0].startswith("UDP 127.0.0.1:5353 bound by")
