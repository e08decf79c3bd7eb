"""Server-side rules over the sockets of one port: pure functions, `rule(server) -> Finding`.

Fed the `ServerEvidence` that `probes.server.read_server` records (for `netdx inspect` and
for a `netdx check` of a port on this host); each rule returns a Finding from the public
vocabulary (docs/causes.md) or None. `RULES` lists them in the order that decides the
`netdx inspect` verdict: nothing listening outranks a loopback bind, which outranks a full
accept queue, which outranks a CLOSE-WAIT leak. No rule judges a server that could not be
read (`error` set).
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Callable, Iterable, Mapping

from netdx.diagnose.facts import failure
from netdx.model import Finding
from netdx.model.server import (
    TCP_CLOSE_WAIT,
    TCP_ESTABLISHED,
    TCP_TIME_WAIT,
    Process,
    ServerEvidence,
    Socket,
)
from netdx.netlink.tables import AF_INET, AF_INET6

CLOSE_WAIT_THRESHOLD = 10  # more CLOSE-WAIT than this on one port is a leak, not a moment
TIME_WAIT_NOTE = 50  # TIME-WAIT sockets worth mentioning (always normal)
NEARBY = 10  # a listener this close to the asked port is probably the intended one


def is_loopback(address: str) -> bool:
    """127.0.0.0/8, ::1 and ::ffff:127.x.y.z."""
    addr = ipaddress.ip_address(address)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped.is_loopback
    return addr.is_loopback


def accepts(listener: Socket, address: str) -> bool:
    """Whether a connect to `address` reaches this listener (wildcards and dual-stack)."""
    addr = ipaddress.ip_address(address)
    if listener.src == str(addr):
        return True
    if listener.family == AF_INET:
        return addr.version == 4 and listener.src == "0.0.0.0"
    if listener.src == "::":
        return addr.version == 6 or not listener.v6only
    mapped = ipaddress.IPv6Address(listener.src).ipv4_mapped
    return mapped is not None and str(mapped) == str(addr)


def listener_text(sock: Socket, server: ServerEvidence) -> str:
    """`postgres (pid 901, user postgres) listens on 127.0.0.1:5433`."""
    return f"{who(server.owner_of(sock), sock)} listens on {sock.local}"


def who(owner: Process | None, sock: Socket | None = None) -> str:
    """A process as the verdicts name it; the uid when the process is unknown."""
    if owner is not None:
        return f"{owner.command} (pid {owner.pid}, user {owner.user})"
    if sock is not None and sock.inode:
        return f"a process of uid {sock.uid} (owner unknown)"
    return "a process"


def _ss(port: int) -> str:
    return f"ss -tlnp 'sport = :{port}'"


def port_refused(server: ServerEvidence) -> Finding | None:
    """port.refused: no listener on the port (or none that accepts the client's address)."""
    if server.listeners and _reachable(server):
        return None
    if server.listeners and is_loopback_only(server) and not is_loopback(server.address or "::1"):
        return None  # service.loopback_only says it better
    nearby = [s for s in server.other_listeners if is_near(s.sport, server.port)]
    where = server.address or "any address"
    evidence = [f"no TCP listener on port {server.port} accepts connections to {where} "
                f"(sock_diag, IPv4 and IPv6)"]  # fmt: skip
    evidence += [listener_text(s, server) for s in server.listeners]
    evidence += [listener_text(s, server) for s in nearby[:5]]
    instead = f"; {listener_text(nearby[0], server)}" if nearby else ""
    head = f"refused: nothing listens on {_at(server)}"
    if server.listeners:
        instead = f"; {listener_text(server.listeners[0], server)}"
        head = f"refused: nothing listens on {_at(server)}"
    return failure(
        cause="port.refused",
        summary=head + instead,
        evidence=tuple(evidence),
        fix=(_ss(server.port), _refused_fix(server, nearby)),
    )


def _refused_fix(server: ServerEvidence, nearby: list[Socket]) -> str:
    """A listener on the port itself, on another address, is the one to point at: a nearby
    port's listener is only a guess when the port has none (issue 10: [::1]:7001 beside
    127.0.0.1:7001 suggested :7004)."""
    if server.listeners:
        there = server.listeners[0].local
        return (f"point the client at {there}, where it listens, or bind the service to "
                f"{_at(server)} too")
    return (f"start the service on port {server.port}, or point the client at the port it "
            "listens on" + (f" (:{nearby[0].sport})" if nearby else ""))


def _at(server: ServerEvidence) -> str:
    if server.address is None:
        return f":{server.port}"
    host = f"[{server.address}]" if ":" in server.address else server.address
    return f"{host}:{server.port}"


def _reachable(server: ServerEvidence) -> bool:
    return server.address is None or any(accepts(s, server.address) for s in server.listeners)


def is_near(port: int, asked: int) -> bool:
    """A port close to the asked one (±10, or the same last three digits: 8080 for 80)."""
    return abs(port - asked) <= NEARBY or (port % 1000 == asked % 1000 and port != asked)


def is_loopback_only(server: ServerEvidence) -> bool:
    """Every listener on the port is bound to a loopback address."""
    return bool(server.listeners) and all(is_loopback(s.src) for s in server.listeners)


def loopback_only(server: ServerEvidence) -> Finding | None:
    """service.loopback_only: the port is only bound to 127.0.0.0/8 or ::1."""
    if not is_loopback_only(server) or (server.address is not None and is_loopback(server.address)):
        return None
    first = server.listeners[0]
    return failure(
        cause="service.loopback_only",
        summary=(
            f"{listener_text(first, server)} only: healthy on this host, "
            "refused for every remote client"
        ),
        evidence=tuple(listener_text(s, server) for s in server.listeners),
        fix=(
            _ss(server.port),
            "bind the service to 0.0.0.0/[::] or to the address clients use "
            "(listen_addresses, bind, --host)",
        ),
    )


def single_family(server: ServerEvidence) -> Finding | None:
    """service.ipv4_only_listener / service.ipv6_only_listener: a warning, not a failure."""
    if not server.listeners or is_loopback_only(server):
        return None
    v4 = any(s.family == AF_INET or not s.v6only for s in server.listeners)
    v6 = any(s.family == AF_INET6 for s in server.listeners)
    if v4 and v6:
        return None
    fam, other = ("IPv4", "IPv6") if v4 else ("IPv6", "IPv4")
    return Finding(
        cause=f"service.ipv{4 if v4 else 6}_only_listener",
        severity="warn",
        step="service",
        summary=(
            f"port {server.port} listens on {fam} only: clients that try {other} first "
            f"(localhost → {'::1' if v4 else '127.0.0.1'}) are refused"
        ),
        evidence=tuple(listener_text(s, server) for s in server.listeners),
        fix=(f"listen on {'[::]' if v4 else '0.0.0.0'} too, or a dual-stack [::] socket",),
    )


def accept_queue_full(server: ServerEvidence) -> Finding | None:
    """app.accept_queue_full: a listener's queue (Recv-Q) is at its backlog (Send-Q)."""
    full = [s for s in server.listeners if s.rqueue > 0 and s.rqueue >= s.wqueue]
    if not full:
        return None
    first = full[0]
    evidence = [
        f"{s.local}: Recv-Q {s.rqueue} queued of backlog (Send-Q) {s.wqueue}; "
        f"{who(server.owner_of(s), s)}"
        for s in full
    ]
    if server.listen_overflows is not None:
        evidence.append(f"TcpExtListenOverflows {server.listen_overflows} (nstat -az)")
    owner = server.owner_of(first)
    return failure(
        cause="app.accept_queue_full",
        step="service",
        summary=(
            f"the accept queue of {first.local} is full ({first.rqueue} of {first.wqueue}): "
            f"{who(owner, first)} does not accept() fast enough; new SYNs are dropped"
        ),
        evidence=tuple(evidence),
        fix=(
            f"ss -tln 'sport = :{server.port}'; nstat -az TcpExtListenOverflows",
            "find why the application stalls; raise the backlog (listen(), net.core.somaxconn)",
        ),
    )


def close_wait_leak(server: ServerEvidence) -> Finding | None:
    """app.close_wait_leak: many CLOSE-WAIT sockets on the port, or more than a moment ago."""
    waiting = [s for s in server.connections if s.state == TCP_CLOSE_WAIT]
    growing = server.earlier_close_wait is not None and len(waiting) > server.earlier_close_wait
    if not waiting or (len(waiting) < CLOSE_WAIT_THRESHOLD and not growing):
        return None
    owners = _owner_counts(waiting, server.owners())
    peers = Counter(f"{s.dst}" for s in waiting)
    culprit, count = owners.most_common(1)[0]
    evidence = [f"{len(waiting)} CLOSE-WAIT sockets on port {server.port}"]
    if server.earlier_close_wait is not None:
        evidence.append(f"{server.earlier_close_wait} a moment before: "
                        + ("growing" if growing else "not growing"))  # fmt: skip
    evidence += [f"{n} held by {name}" for name, n in owners.most_common(5)]
    evidence += [f"{n} from peer {peer}" for peer, n in peers.most_common(5)]
    return failure(
        cause="app.close_wait_leak",
        step="service",
        summary=(
            f"{culprit} holds {count} CLOSE-WAIT sockets (peers: "
            f"{', '.join(p for p, _ in peers.most_common(3))}): the peer closed and the "
            "application never called close() — a descriptor leak, not a network fault"
        ),
        evidence=tuple(evidence),
        fix=(
            f"ss -tanp state close-wait '( sport = :{server.port} or dport = :{server.port} )'",
            "fix the missing close() in that process; restart it meanwhile",
        ),
    )


def _owner_counts(socks: Iterable[Socket], owners: Mapping[int, Process]) -> Counter[str]:
    return Counter(who(owners.get(s.inode) if s.inode else None, s) for s in socks)


def time_wait_churn(server: ServerEvidence) -> Finding | None:
    """app.time_wait_churn (warning, normal): many TIME-WAIT sockets, and which side causes them."""
    waiting = [s for s in server.connections if s.state == TCP_TIME_WAIT]
    if len(waiting) < TIME_WAIT_NOTE:
        return None
    server_side = [s for s in waiting if s.sport == server.port]
    client_side = [s for s in waiting if s.sport != server.port]
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
            f"{len(waiting)} TIME-WAIT sockets on port {server.port}: normal churn of short "
            "connections (the side that closes first holds each for 60 s); it clears itself"
        ),
        evidence=tuple(parts),
        fix=("reuse connections (keep-alive, a pool) if the churn is unwanted",),
    )


def ok_summary(server: ServerEvidence) -> str:
    """What a healthy port looks like: its listeners and the established connections."""
    listening = "; ".join(listener_text(s, server) for s in server.listeners[:3])
    established = sum(
        1 for s in server.connections if s.state == TCP_ESTABLISHED and s.sport == server.port
    )
    return f"{listening}; {established} established connection(s)"


RULES: tuple[Callable[[ServerEvidence], Finding | None], ...] = (
    port_refused,
    loopback_only,
    accept_queue_full,
    close_wait_leak,
    single_family,
    time_wait_churn,
)


def evaluate(server: ServerEvidence) -> tuple[Finding, ...]:
    """Every finding of every rule, in RULES order (none when the server was not read)."""
    if server.error is not None:
        return ()
    return tuple(f for f in (rule(server) for rule in RULES) if f is not None)
