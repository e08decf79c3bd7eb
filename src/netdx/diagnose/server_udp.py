"""Server-side rules over the UDP sockets of one port (`netdx inspect --port N`): pure, fed
the `UdpPort` that `sockets.udp.read_udp_port` records beside the TCP `ServerEvidence`.

UDP has no LISTEN state, so the TCP reading ("nothing listens", port.refused) is wrong for
a port a UDP service has bound: `in_use_over_udp` says when the port is in use over UDP
instead, and `ok_over_udp` is then the ok the engine's picker returns. `udp_drops` is the
warning (app.udp_rcvbuf_drops) when the port's sockets, or the host, drop datagrams for a
full receive buffer. The UDP sockets and that warning ride beside whatever verdict the
picker chose (`beside`), as `netdx inspect` has always shown them.
"""

from __future__ import annotations

from netdx.diagnose.server import who
from netdx.model import Finding, Verdict
from netdx.model.record import replace
from netdx.model.server import ServerEvidence, UdpPort, UdpSocket

UDP_DROPS_CAUSE = "app.udp_rcvbuf_drops"


def in_use_over_udp(server: ServerEvidence, udp: UdpPort) -> bool:
    """UDP sockets are bound to the port and no TCP listener is (on a server that was read):
    the port is in use, over UDP, not refused."""
    return bool(udp.sockets) and not server.listeners and server.error is None


def ok_over_udp(udp: UdpPort, warnings: tuple[Finding, ...] = ()) -> Verdict:
    """The ok of a port bound over UDP only, naming its first socket and owner."""
    first = udp.sockets[0]
    return Verdict(
        cause="ok",
        summary=(f"UDP port {udp.port} is bound ({first.socket.local}, "
                 f"{_owner_short(first)}); no TCP listener"),
        warnings=warnings,
    )  # fmt: skip


def udp_drops(udp: UdpPort) -> Finding | None:
    """app.udp_rcvbuf_drops (warning): the port's sockets dropped datagrams (sk_drops), or
    the host counts UdpRcvbufErrors while UDP sockets are bound to the port."""
    if not udp.sockets:
        return None
    dropped = sum(s.drops or 0 for s in udp.sockets)
    if not dropped and not udp.rcvbuf_errors:
        return None
    evidence = [f"{dropped} datagrams dropped by the port's sockets (sock_diag sk_drops)"]
    if udp.rcvbuf_errors:
        evidence.append(f"UdpRcvbufErrors {udp.rcvbuf_errors} on this host (/proc/net/snmp)")
    return Finding(
        cause=UDP_DROPS_CAUSE,
        severity="warn",
        step="port",
        summary=(f"UDP datagrams to port {udp.port} are dropped: the receive buffer fills "
                 "faster than the service reads" if dropped else
                 "this host drops UDP datagrams for full receive buffers (not on this "
                 "port's sockets)"),
        evidence=tuple(evidence),
        fix=("raise the service's SO_RCVBUF (and net.core.rmem_max), or read faster",
             f"watch it: ss -uamn 'sport = :{udp.port}' (the d<N> of skmem)"),
    )  # fmt: skip


def beside(verdict: Verdict, udp: UdpPort) -> Verdict:
    """The port's UDP sockets appended to the verdict's evidence, and the drops warning to
    its warnings (nothing when no UDP socket is bound to the port)."""
    if not udp.sockets:
        return verdict
    lines = tuple(socket_text(s) for s in udp.sockets)
    drops = udp_drops(udp)
    warnings = verdict.warnings if drops is None else (*verdict.warnings, drops)
    return replace(verdict, evidence=(*verdict.evidence, *lines), warnings=warnings)


def socket_text(sock: UdpSocket) -> str:
    """`UDP 127.0.0.1:5353 bound by avahi-daemon (pid 321, user avahi), 7 dropped (...)`."""
    peer = f" connected to {sock.socket.remote}" if sock.socket.dport else ""
    drops = f", {sock.drops} dropped (receive buffer full)" if sock.drops else ""
    return f"UDP {sock.socket.local}{peer} bound by {who(sock.owner, sock.socket)}{drops}"


def _owner_short(sock: UdpSocket) -> str:
    owner = sock.owner
    return f"{owner.command} pid {owner.pid}" if owner is not None else "owner unknown"
