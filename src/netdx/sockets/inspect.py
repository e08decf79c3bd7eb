"""The server-side verdict for one TCP port: `netdx inspect --port N`, and what `netdx check`
uses (`inspect_local`) for a target on this host.

`build_view` (pure) sorts dumped sockets into a `findings.PortView`; `judge` (pure) turns a
view into an `Inspection` with one `netdx.model.Verdict`, shaped like check's. `inspect_local`
is the thin I/O wrapper: two kernel-filtered dumps, the owners of the few sockets that
matter, a second CLOSE-WAIT sample a moment later, and TcpExtListenOverflows.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from netdx.budget import Deadline
from netdx.model import Finding, Verdict
from netdx.sockets.dump import DumpSource, list_sockets
from netdx.sockets.findings import (
    CLOSE_WAIT_THRESHOLD,
    PortView,
    evaluate,
    is_near,
    listener_text,
)
from netdx.sockets.model import OwnerScan, SocketEntry, SocketQuery
from netdx.sockets.owners import find_owners

INSPECT_SCHEMA = "netdx.inspect/1"
_LISTEN, _CLOSE_WAIT, _ESTAB = 10, 8, 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Inspection:
    """The server-side answer for one port: the verdict, every finding, the listeners and
    the count of connections per state (ss names), and what could not be read."""

    port: int
    address: str | None
    verdict: Verdict
    findings: tuple[Finding, ...]
    listeners: tuple[SocketEntry, ...]
    states: Mapping[str, int] = field(default_factory=dict)
    owners: OwnerScan | None = None
    notes: tuple[str, ...] = ()
    schema: str = INSPECT_SCHEMA


def build_view(
    port: int,
    sockets: Sequence[SocketEntry],
    *,
    owners: OwnerScan | None = None,
    address: str | None = None,
) -> PortView:
    """Sort TCP sockets into listeners on `port`, connections on it, and other listeners."""
    tcp = [s for s in sockets if s.proto == "tcp"]
    listeners = tuple(s for s in tcp if s.state == _LISTEN and s.sport == port)
    connections = tuple(s for s in tcp if s.state != _LISTEN and port in (s.sport, s.dport))
    others = tuple(s for s in tcp if s.state == _LISTEN and s.sport != port)
    return PortView(
        port=port,
        listeners=listeners,
        connections=connections,
        other_listeners=others,
        owners=owners,
        address=address,
    )


def judge(view: PortView, notes: Sequence[str] = ()) -> Inspection:
    """The verdict: the first failing finding in rule order, the rest as warnings."""
    findings = evaluate(view)
    fails = [f for f in findings if f.severity == "fail"]
    if fails:
        head = fails[0]
        verdict = Verdict(
            cause=head.cause,
            summary=head.summary,
            evidence=head.evidence,
            fix=head.fix,
            warnings=tuple(f for f in findings if f is not head),
        )
    else:
        verdict = Verdict(cause="ok", summary=_ok_summary(view), warnings=findings)
    states = Counter(s.state_name for s in view.connections)
    return Inspection(
        port=view.port,
        address=view.address,
        verdict=verdict,
        findings=findings,
        listeners=view.listeners,
        states=dict(sorted(states.items())),
        owners=view.owners,
        notes=tuple(notes),
    )


def _ok_summary(view: PortView) -> str:
    listening = "; ".join(listener_text(s, view.owners) for s in view.listeners[:3])
    established = sum(1 for s in view.connections if s.state == _ESTAB and s.sport == view.port)
    return f"{listening}; {established} established connection(s)"


def inspect_local(
    port: int,
    *,
    deadline: Deadline,
    address: str | None = None,
    sample_gap: float = 0.3,
    source: DumpSource | None = None,
    proc: str = "/proc",
) -> Inspection:
    """Inspect `port` on this host (this network namespace).

    `address` is the address a client connects to, if known: `netdx check` passes the
    target's local address so the verdict says whether *that* address is served. Nothing
    here raises for a network outcome; dump and /proc problems become `notes`.
    """
    listeners = list_sockets(
        SocketQuery(protocols=("tcp",), listen=True), deadline=deadline, source=source
    )
    on_port = list_sockets(
        SocketQuery(protocols=("tcp",), ports=(port,)), deadline=deadline, source=source
    )
    sockets = [*listeners.sockets, *(s for s in on_port.sockets if s.state != _LISTEN)]
    view = _resample(build_view(port, sockets, address=address), deadline, sample_gap, source)
    # Established sockets are not named by any rule: leave them out of the /proc walk.
    wanted = [s.inode for s in (*view.listeners, *view.connections) if s.state != _ESTAB]
    wanted += [s.inode for s in view.other_listeners if is_near(s.sport, port)]
    owners = find_owners(wanted, deadline=deadline.share(0.8), proc=proc)
    view = replace(view, owners=owners)
    view = replace(view, listen_overflows=listen_overflows(proc))
    notes = [*listeners.notes, *on_port.notes, *owners.notes]
    if not owners.complete and owners.unreadable:
        notes.append("some owners are not readable: run as root to name every process")
    return judge(view, notes)


def _resample(
    view: PortView, deadline: Deadline, gap: float, source: DumpSource | None
) -> PortView:
    """Count CLOSE-WAIT again a moment later: a growing pile is a leak even when small."""
    now = sum(1 for s in view.connections if s.state == _CLOSE_WAIT)
    if now == 0 or now >= view.close_wait_threshold or gap <= 0 or source is not None:
        return view
    time.sleep(min(gap, deadline.remaining() / 2))
    later = list_sockets(
        SocketQuery(protocols=("tcp",), states=("CLOSE-WAIT",), ports=(view.port,)),
        deadline=deadline,
    )
    extra = tuple(later.sockets)
    return replace(
        view,
        earlier_close_wait=now,
        connections=tuple(s for s in view.connections if s.state != _CLOSE_WAIT) + extra,
    )


def is_local_address(address: str) -> bool:
    """Whether `address` belongs to this host (this network namespace), without a route
    lookup (`netdx check` reads the route probe's `local` type instead). Binding a UDP
    socket to an address succeeds only for a local one (unless net.ipv4.ip_nonlocal_bind is
    set); nothing is sent."""
    try:
        addr = ipaddress.ip_address(address)
    except ValueError:
        return False
    if addr.is_loopback or addr.is_unspecified:
        return True
    family = socket.AF_INET6 if addr.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((str(addr), 0))
        except OSError:
            return False
    return True


def listen_overflows(proc: str = "/proc") -> int | None:
    """TcpExtListenOverflows of this network namespace, from /proc/net/netstat."""
    try:
        with open(f"{proc}/net/netstat", encoding="ascii") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            table = dict(zip(names.split()[1:], values.split()[1:], strict=False))
            value = table.get("ListenOverflows")
            return int(value) if value is not None and value.isdigit() else None
    return None


__all__ = [
    "CLOSE_WAIT_THRESHOLD",
    "INSPECT_SCHEMA",
    "Inspection",
    "build_view",
    "inspect_local",
    "is_local_address",
    "judge",
    "listen_overflows",
]
