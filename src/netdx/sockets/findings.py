"""Server-side rules over the sockets of one port: pure functions, `rule(view) -> Finding`.

The view (`PortView`) is gathered once by `sockets.inspect`; each rule reads it and returns
a Finding from the public vocabulary (docs/causes.md) or None. `RULES` lists them in the
order that decides the verdict: nothing listening outranks a loopback bind, which outranks
a full accept queue, which outranks a CLOSE-WAIT leak.
"""

from __future__ import annotations

import ipaddress
import socket
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from netdx.model import Finding
from netdx.sockets.model import Owner, OwnerScan, SocketEntry

CLOSE_WAIT_THRESHOLD = 10  # more CLOSE-WAIT than this on one port is a leak, not a moment
TIME_WAIT_NOTE = 50  # TIME-WAIT sockets worth mentioning (always normal)
NEARBY = 10  # a listener this close to the asked port is probably the intended one

_LISTEN, _CLOSE_WAIT, _TIME_WAIT = 10, 8, 6


@dataclass(frozen=True, slots=True, kw_only=True)
class PortView:
    """Everything the rules know about one TCP port on this host.

    `listeners` are the LISTEN sockets on `port`; `connections` the other TCP sockets whose
    local or remote port is `port`; `other_listeners` every other TCP listener (to say where
    the service listens instead). `address` is the address a client connects to, when known
    (from `netdx check`). `earlier_close_wait` is the CLOSE-WAIT count of a first sample
    taken a moment before; `listen_overflows` is TcpExtListenOverflows of the namespace.
    """

    port: int
    listeners: tuple[SocketEntry, ...] = ()
    connections: tuple[SocketEntry, ...] = ()
    other_listeners: tuple[SocketEntry, ...] = ()
    owners: OwnerScan | None = None
    address: str | None = None
    earlier_close_wait: int | None = None
    listen_overflows: int | None = None
    close_wait_threshold: int = CLOSE_WAIT_THRESHOLD


def is_loopback(address: str) -> bool:
    """127.0.0.0/8, ::1 and ::ffff:127.x.y.z."""
    addr = ipaddress.ip_address(address)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped.is_loopback
    return addr.is_loopback


def accepts(listener: SocketEntry, address: str) -> bool:
    """Whether a connect to `address` reaches this listener (wildcards and dual-stack)."""
    addr = ipaddress.ip_address(address)
    if listener.src == str(addr):
        return True
    if listener.family == socket.AF_INET:
        return addr.version == 4 and listener.src == "0.0.0.0"
    if listener.src == "::":
        return addr.version == 6 or not listener.v6only
    mapped = ipaddress.IPv6Address(listener.src).ipv4_mapped
    return mapped is not None and str(mapped) == str(addr)


def listener_text(sock: SocketEntry, owners: OwnerScan | None) -> str:
    """`postgres (pid 901, user postgres) listens on 127.0.0.1:5433`."""
    owner = owners.owner_of(sock) if owners else None
    return f"{who(owner, sock)} listens on {sock.local}"


def who(owner: Owner | None, sock: SocketEntry | None = None) -> str:
    """A process as the verdicts name it; the uid when the process is unknown."""
    if owner is not None:
        return f"{owner.command} (pid {owner.pid}, user {owner.user})"
    if sock is not None and sock.inode:
        return f"a process of uid {sock.uid} (owner unknown)"
    return "a process"


def _ss(port: int) -> str:
    return f"ss -tlnp 'sport = :{port}'"


def port_refused(view: PortView) -> Finding | None:
    """port.refused: no listener on the port (or none that accepts the client's address)."""
    if view.listeners and _reachable(view):
        return None
    if view.listeners and is_loopback_only(view) and not is_loopback(view.address or "::1"):
        return None  # service.loopback_only says it better
    nearby = [s for s in view.other_listeners if is_near(s.sport, view.port)]
    where = view.address or "any address"
    evidence = [f"no TCP listener on port {view.port} accepts connections to {where} "
                f"(sock_diag, IPv4 and IPv6)"]  # fmt: skip
    evidence += [listener_text(s, view.owners) for s in view.listeners]
    evidence += [listener_text(s, view.owners) for s in nearby[:5]]
    instead = f"; {listener_text(nearby[0], view.owners)}" if nearby else ""
    head = f"refused: nothing listens on {_at(view)}"
    if view.listeners:
        instead = f"; {listener_text(view.listeners[0], view.owners)}"
        head = f"refused: nothing listens on {_at(view)}"
    return Finding(
        cause="port.refused",
        severity="fail",
        step="port",
        summary=head + instead,
        evidence=tuple(evidence),
        fix=(
            _ss(view.port),
            f"start the service on port {view.port}, or point the client at the port it "
            "listens on" + (f" (:{nearby[0].sport})" if nearby else ""),
        ),
    )


def _at(view: PortView) -> str:
    if view.address is None:
        return f":{view.port}"
    host = f"[{view.address}]" if ":" in view.address else view.address
    return f"{host}:{view.port}"


def _reachable(view: PortView) -> bool:
    return view.address is None or any(accepts(s, view.address) for s in view.listeners)


def is_near(port: int, asked: int) -> bool:
    """A port close to the asked one (±10, or the same last three digits: 8080 for 80)."""
    return abs(port - asked) <= NEARBY or (port % 1000 == asked % 1000 and port != asked)


def is_loopback_only(view: PortView) -> bool:
    """Every listener on the port is bound to a loopback address."""
    return bool(view.listeners) and all(is_loopback(s.src) for s in view.listeners)


def loopback_only(view: PortView) -> Finding | None:
    """service.loopback_only: the port is only bound to 127.0.0.0/8 or ::1."""
    if not is_loopback_only(view) or (view.address is not None and is_loopback(view.address)):
        return None
    first = view.listeners[0]
    return Finding(
        cause="service.loopback_only",
        severity="fail",
        step="service",
        summary=(
            f"{listener_text(first, view.owners)} only: healthy on this host, "
            "refused for every remote client"
        ),
        evidence=tuple(listener_text(s, view.owners) for s in view.listeners),
        fix=(
            _ss(view.port),
            "bind the service to 0.0.0.0/[::] or to the address clients use "
            "(listen_addresses, bind, --host)",
        ),
    )


def single_family(view: PortView) -> Finding | None:
    """service.ipv4_only_listener / service.ipv6_only_listener: a warning, not a failure."""
    if not view.listeners or is_loopback_only(view):
        return None
    v4 = any(s.family == socket.AF_INET or not s.v6only for s in view.listeners)
    v6 = any(s.family == socket.AF_INET6 for s in view.listeners)
    if v4 and v6:
        return None
    fam, other = ("IPv4", "IPv6") if v4 else ("IPv6", "IPv4")
    return Finding(
        cause=f"service.ipv{4 if v4 else 6}_only_listener",
        severity="warn",
        step="service",
        summary=(
            f"port {view.port} listens on {fam} only: clients that try {other} first "
            f"(localhost → {'::1' if v4 else '127.0.0.1'}) are refused"
        ),
        evidence=tuple(listener_text(s, view.owners) for s in view.listeners),
        fix=(f"listen on {'[::]' if v4 else '0.0.0.0'} too, or a dual-stack [::] socket",),
    )


def accept_queue_full(view: PortView) -> Finding | None:
    """app.accept_queue_full: a listener's queue (Recv-Q) is at its backlog (Send-Q)."""
    full = [s for s in view.listeners if s.rqueue > 0 and s.rqueue >= s.wqueue]
    if not full:
        return None
    first = full[0]
    evidence = [
        f"{s.local}: Recv-Q {s.rqueue} queued of backlog (Send-Q) {s.wqueue}; "
        f"{who(view.owners.owner_of(s) if view.owners else None, s)}"
        for s in full
    ]
    if view.listen_overflows is not None:
        evidence.append(f"TcpExtListenOverflows {view.listen_overflows} (nstat -az)")
    owner = view.owners.owner_of(first) if view.owners else None
    return Finding(
        cause="app.accept_queue_full",
        severity="fail",
        step="service",
        summary=(
            f"the accept queue of {first.local} is full ({first.rqueue} of {first.wqueue}): "
            f"{who(owner, first)} does not accept() fast enough; new SYNs are dropped"
        ),
        evidence=tuple(evidence),
        fix=(
            f"ss -tln 'sport = :{view.port}'; nstat -az TcpExtListenOverflows",
            "find why the application stalls; raise the backlog (listen(), net.core.somaxconn)",
        ),
    )


def close_wait_leak(view: PortView) -> Finding | None:
    """app.close_wait_leak: many CLOSE-WAIT sockets on the port, or more than a moment ago."""
    waiting = [s for s in view.connections if s.state == _CLOSE_WAIT]
    growing = view.earlier_close_wait is not None and len(waiting) > view.earlier_close_wait
    if not waiting or (len(waiting) < view.close_wait_threshold and not growing):
        return None
    owners = _owner_counts(waiting, view.owners)
    peers = Counter(f"{s.dst}" for s in waiting)
    culprit, count = owners.most_common(1)[0]
    evidence = [f"{len(waiting)} CLOSE-WAIT sockets on port {view.port}"]
    if view.earlier_close_wait is not None:
        evidence.append(f"{view.earlier_close_wait} a moment before: "
                        + ("growing" if growing else "not growing"))  # fmt: skip
    evidence += [f"{n} held by {name}" for name, n in owners.most_common(5)]
    evidence += [f"{n} from peer {peer}" for peer, n in peers.most_common(5)]
    return Finding(
        cause="app.close_wait_leak",
        severity="fail",
        step="service",
        summary=(
            f"{culprit} holds {count} CLOSE-WAIT sockets (peers: "
            f"{', '.join(p for p, _ in peers.most_common(3))}): the peer closed and the "
            "application never called close() — a descriptor leak, not a network fault"
        ),
        evidence=tuple(evidence),
        fix=(
            f"ss -tanp state close-wait '( sport = :{view.port} or dport = :{view.port} )'",
            "fix the missing close() in that process; restart it meanwhile",
        ),
    )


def _owner_counts(socks: Iterable[SocketEntry], owners: OwnerScan | None) -> Counter[str]:
    return Counter(who(owners.owner_of(s) if owners else None, s) for s in socks)


def time_wait_churn(view: PortView) -> Finding | None:
    """app.time_wait_churn (warning, normal): many TIME-WAIT sockets, and which side causes them."""
    waiting = [s for s in view.connections if s.state == _TIME_WAIT]
    if len(waiting) < TIME_WAIT_NOTE:
        return None
    server_side = [s for s in waiting if s.sport == view.port]
    client_side = [s for s in waiting if s.sport != view.port]
    parts = []
    if server_side:
        peers = Counter(s.dst for s in server_side).most_common(3)
        parts.append(f"{len(server_side)} where this server closed first (clients "
                     + ", ".join(p for p, _ in peers) + ")")  # fmt: skip
    if client_side:
        locals_ = Counter(s.src for s in client_side).most_common(3)
        parts.append(f"{len(client_side)} where this host, as the client from "
                     + ", ".join(a for a, _ in locals_) + ", closed first")  # fmt: skip
    return Finding(
        cause="app.time_wait_churn",
        severity="warn",
        step="service",
        summary=(
            f"{len(waiting)} TIME-WAIT sockets on port {view.port}: normal churn of short "
            "connections (the side that closes first holds each for 60 s); it clears itself"
        ),
        evidence=tuple(parts),
        fix=("reuse connections (keep-alive, a pool) if the churn is unwanted",),
    )


RULES: tuple[Callable[[PortView], Finding | None], ...] = (
    port_refused,
    loopback_only,
    accept_queue_full,
    close_wait_leak,
    single_family,
    time_wait_churn,
)


def evaluate(view: PortView) -> tuple[Finding, ...]:
    """Every finding of every rule, in RULES order."""
    return tuple(f for f in (rule(view) for rule in RULES) if f is not None)
