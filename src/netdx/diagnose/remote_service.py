"""Server rules for causes the client already names, where the server's evidence proves more:
the listener behind a one-family mismatch, the process behind an HTTP or TLS failure, and
the capture that shows a router's REJECT answered before any SYN reached the server.

Each rule starts from the client's own finding (`diagnose.port`, `diagnose.service`): the
cause keeps its meaning, and the server's facts are quoted beside the client's, marked with
where they were read ("on DEST: ..."). A rule fires only on evidence that proves its claim
(the server's reading is of the address the client tried, the listener takes or misses
it, the capture ran whole); otherwise it stands aside and the client's finding stands.
"""

from __future__ import annotations

from netdx.diagnose import port, protocols, service, service_tls
from netdx.diagnose.facts import connected, family_fallback, family_name, first
from netdx.diagnose.remote_text import capture_text, on_server
from netdx.diagnose.remote_wire import never_arrived
from netdx.diagnose.server import accepts, listener_text, who
from netdx.model import CheckEvidence, Finding
from netdx.model.record import replace
from netdx.model.remote import RemoteEvidence
from netdx.model.server import ServerEvidence, Socket
from netdx.netlink.tables import AF_INET6

__all__ = ["EXPLAINED", "family_listener", "router_reject", "served_by"]

# Server findings that a deciding finding already explains (they are not repeated as
# warnings): a one-family listener refuses the first family, which is the mismatch itself.
EXPLAINED: dict[str, frozenset[str]] = {
    "service.ipv4_only_mismatch": frozenset({"port.refused"}),
    "service.ipv6_only_mismatch": frozenset({"port.refused"}),
}


def _reading(remote: RemoteEvidence, address: str) -> ServerEvidence | None:
    """The server's sockets of the port, when they were read for `address` (the reading is
    of the client's first address: any other says nothing about this one)."""
    server = remote.server
    if server is None or server.error is not None or server.address != address:
        return None
    return server


def _bound(sock: Socket, server: ServerEvidence) -> str:
    """`python (pid 7, user root) listens on [::]:5432 (IPV6_V6ONLY: IPv6 only)`."""
    text = listener_text(sock, server)
    if sock.family == AF_INET6 and sock.v6only:
        return f"{text} (IPV6_V6ONLY: IPv6 only)"
    if sock.family != AF_INET6:
        return f"{text} (IPv4 only)"
    return text


def _capture_line(remote: RemoteEvidence, dest: str) -> list[str]:
    cap = remote.capture
    return [f"on {dest}: {capture_text(cap, remote.client)}"] if cap is not None else []


def family_listener(ev: CheckEvidence, remote: RemoteEvidence) -> Finding | None:
    """service.ipv4_only_mismatch / service.ipv6_only_mismatch, proven on the server: the
    first address was refused, the other family connected, and the port's listeners take
    the other family's address but not the first (the bind is named with its owner)."""
    head, other = first(ev), family_fallback(ev)
    if head is None or other is None or head.tcp is None or head.tcp.outcome != "refused":
        return None
    server = _reading(remote, head.address)
    if server is None or not server.listeners:
        return None
    if any(accepts(s, head.address) for s in server.listeners):
        return None  # something takes the first address: the refusal is not the bind's
    if not any(accepts(s, other.address) for s in server.listeners):
        return None
    base = service.ipv4_only_mismatch(ev) or service.ipv6_only_mismatch(ev)
    if base is None:
        return None
    dest = remote.ssh.destination
    fam = family_name(head.family)
    bound = [_bound(s, server) for s in server.listeners[:4]]
    # The client's summary ends with its guess ("it likely listens on IPv6 only"): the
    # server's listeners replace the guess.
    said = base.summary.rsplit(": ", 1)[0]
    wildcard = "0.0.0.0" if head.family == 4 else "[::]"
    owner = who(server.owner_of(server.listeners[0]), server.listeners[0])
    fix = [on_server(dest, f"ss -tlnp 'sport = :{server.port}'")]
    if head.family == 4 and any(s.family == AF_INET6 and s.v6only for s in server.listeners):
        fix.append(on_server(dest, f"make {owner} accept IPv4 too: clear IPV6_V6ONLY on its "
                             f"[::] socket (the service's own option), or listen on 0.0.0.0 "
                             "as well"))  # fmt: skip
    else:
        fix.append(on_server(dest, f"make {owner} listen on {fam} too ({wildcard})"))
    return replace(
        base,
        summary=f"{said}: on {dest}, {'; '.join(bound)}; nothing takes {fam} {head.address}",
        evidence=(
            *base.evidence,
            *(f"on {dest}: {b}" for b in bound),
            f"on {dest}: no listener of port {server.port} takes {head.address}",
            *_capture_line(remote, dest),
        ),
        fix=(*fix, base.fix[-1]),
    )


def _tls_finding(ev: CheckEvidence) -> Finding | None:
    """The failed handshake as the local engine names it (expired, wrong name, untrusted,
    or any other TLS failure), so the SSH twin keeps the client's cause."""
    return (
        protocols.tls_expired(ev)
        or protocols.tls_name_mismatch(ev)
        or protocols.tls_untrusted(ev)
        or service.tls_error(ev)
        or service_tls.tls_failed(ev)
        or service_tls.tls_not_offered(ev)
    )


def served_by(ev: CheckEvidence, remote: RemoteEvidence) -> Finding | None:
    """service.http_error / a TLS failure with the server's listener that answered: its
    bind and its owner (the process whose logs or certificate to look at)."""
    base = service.http_error(ev) or _tls_finding(ev)
    head = first(ev)
    if base is None or base.severity != "fail" or head is None or not connected(head):
        return None
    server = _reading(remote, head.address)
    if server is None:
        return None
    takers = [s for s in server.listeners if accepts(s, head.address)]
    if not takers:
        return None
    dest = remote.ssh.destination
    sock = takers[0]
    owner = server.owner_of(sock)
    name = who(owner, sock)
    if owner is None:
        look = on_server(dest, f"find who holds the socket: ss -tlnp 'sport = :{server.port}'")
    elif base.cause.startswith("service.tls_"):
        look = on_server(dest, f"check the certificate and key {name} serves (its TLS settings)")
    else:
        look = on_server(dest, f"read the logs of {name}: journalctl _PID={owner.pid}")
    return replace(
        base,
        summary=f"{base.summary} — served on {dest} by {name}",
        evidence=(
            *base.evidence,
            *(f"on {dest}: {listener_text(s, server)}" for s in takers[:3]),
            *_capture_line(remote, dest),
        ),
        fix=(*base.fix, look),
    )


def router_reject(ev: CheckEvidence, remote: RemoteEvidence) -> Finding | None:
    """firewall.reject_admin / firewall.reject_port_unreachable sent by a router on the way,
    with the server's proof: its capture ran whole and saw none of the client's SYNs."""
    head = first(ev)
    icmp = head.tcp.icmp if head is not None and head.tcp is not None else None
    if head is None or icmp is None or icmp.sender is None or icmp.sender == head.address:
        return None  # no ICMP, or the target's own (its ruleset is `icmp_rule`'s)
    if not never_arrived(remote):
        return None
    base = port.reject_admin(ev) or port.reject_port_unreachable(ev)
    if base is None:
        return None
    dest = remote.ssh.destination
    evidence = [*base.evidence, *_capture_line(remote, dest)]
    server = _reading(remote, head.address)
    if server is not None:
        evidence += [f"on {dest}: {listener_text(s, server)} (no SYN got there)"
                     for s in server.listeners if accepts(s, head.address)][:3]  # fmt: skip
    return replace(
        base,
        summary=f"{base.summary}; the server's capture saw none of the SYNs: "
        f"{icmp.sender} answers for it",
        evidence=tuple(evidence),
    )
