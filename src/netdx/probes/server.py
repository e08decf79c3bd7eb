"""The server side of one TCP port, read on this host (this network namespace): listeners,
the connections of the port, their owners, the accept queues and TcpExtListenOverflows
(read, as every kernel counter, through the Host seam and parsed by `nstat_counters`).

Records, never judges: the rules of `diagnose.server` read the `ServerEvidence` this
returns. The reading itself is `sockets.dump.list_sockets` (two kernel-filtered sock_diag
dumps) and `sockets.owners.find_owners` (the /proc walk, for the few sockets a rule may
name). A dump or /proc problem becomes `notes`; a failure to read anything becomes `error`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from netdx.budget import Deadline
from netdx.collect.system import Host, LocalHost
from netdx.diagnose.server import is_near
from netdx.host.netns import here
from netdx.model.record import record
from netdx.model.server import (
    TCP_CLOSE_WAIT,
    TCP_ESTABLISHED,
    TCP_LISTEN,
    Process,
    ServerEvidence,
    Socket,
    SocketHolder,
)
from netdx.model.vantage import Vantage
from netdx.sockets.dump import DumpSource, list_sockets
from netdx.sockets.model import OwnerScan, SocketEntry, SocketQuery
from netdx.sockets.owners import find_owners


async def read_server(address: str | None, port: int, *, deadline: Deadline) -> ServerEvidence:
    """`read_server_sync` in a worker thread (sock_diag and /proc are synchronous), for the
    concurrent probes of `netdx check` on an event loop."""
    import asyncio

    return await asyncio.to_thread(read_server_sync, address, port, deadline=deadline)


def read_server_sync(address: str | None, port: int, *, deadline: Deadline) -> ServerEvidence:
    """`read_server_now` as a probe of `netdx check`: a read that fails at once becomes
    `error` (the threaded driver calls it in its probe's thread)."""
    try:
        return read_server_now(address, port, deadline=deadline)
    except OSError as exc:
        return ServerEvidence(port=port, address=address, error=f"server side not read: {exc}")


def read_server_now(
    address: str | None,
    port: int,
    *,
    deadline: Deadline,
    sample_gap: float = 0.0,
    enough: int | None = None,
    source: DumpSource | None = None,
    proc: str = "/proc",
    host: Host | None = None,
) -> ServerEvidence:
    """Read `port` on this host in the calling thread; `address` is the address a client
    connects to, if known; the kernel's counters are read through `host` (this one by
    default). With `sample_gap` > 0 a few CLOSE-WAIT sockets (fewer than `enough`) are
    counted again that much later: a growing pile is a leak even when small."""
    # Each read live in one walk of both families: the port's, unfiltered by state, visits
    # every bucket of the kernel's established table, ~2 ms a walk on a large host.
    live = source is None
    listening = list_sockets(
        SocketQuery(protocols=("tcp",), listen=True), deadline=deadline, source=source,
        one_walk=live,
    )
    on_port = list_sockets(
        SocketQuery(protocols=("tcp",), ports=(port,)), deadline=deadline, source=source,
        one_walk=live,
    )
    found = port_sockets(port, listening.sockets, on_port.sockets)
    earlier, connections = _resample(
        port, list(found.connections), deadline, sample_gap, enough, source
    )
    found = PortSockets(
        listeners=found.listeners, connections=tuple(connections), others=found.others
    )
    owners = find_owners(found.wanted(port), deadline=deadline.share(0.8), proc=proc)
    return server_evidence(
        port=port,
        address=address,
        sockets=found,
        owners=owners,
        earlier_close_wait=earlier,
        listen_overflows=listen_overflows(host),
        notes=(*listening.notes, *on_port.notes),
        observed_on=here(),
    )


@record
class PortSockets:
    """The TCP sockets that matter for one port: its listeners, its other sockets (the
    connections), and every other listener (to say where the service listens instead)."""

    listeners: tuple[SocketEntry, ...]
    connections: tuple[SocketEntry, ...]
    others: tuple[SocketEntry, ...]

    def wanted(self, port: int) -> list[int]:
        """The inodes whose owners a rule may name."""
        # Established sockets are named by no rule: leave them out of the /proc walk.
        out = [s.inode for s in (*self.listeners, *self.connections) if s.state != TCP_ESTABLISHED]
        # The listeners near the port too: a rule names them ("listens on :5433 instead").
        return out + [s.inode for s in self.others if is_near(s.sport, port)]


def port_sockets(
    port: int, listening: Sequence[SocketEntry], on_port: Sequence[SocketEntry]
) -> PortSockets:
    """Split two dumps (TCP listeners of every port; the TCP sockets of `port`) into the
    sockets of `port`: the same split for a read here and a document read on a server."""
    listen = [s for s in listening if s.proto == "tcp" and s.state == TCP_LISTEN]
    return PortSockets(
        listeners=tuple(s for s in listen if s.sport == port),
        connections=tuple(
            s
            for s in on_port
            if s.proto == "tcp" and s.state != TCP_LISTEN and port in (s.sport, s.dport)
        ),
        others=tuple(s for s in listen if s.sport != port),
    )


def server_evidence(
    *,
    port: int,
    address: str | None,
    sockets: PortSockets,
    owners: OwnerScan,
    earlier_close_wait: int | None,
    listen_overflows: int | None,
    notes: Sequence[str],
    observed_on: Vantage,
) -> ServerEvidence:
    """The evidence of one port from its sockets and an owner scan that covers at least
    the wanted ones (a server's document walks every dumped socket: only the owners of the
    wanted sockets are kept, as a walk here finds them)."""
    wanted = {i for i in sockets.wanted(port) if i}
    complete = all(i in owners.holders for i in wanted)
    notes = [*notes, *owners.notes]
    if not complete and owners.unreadable:
        # Root is the remedy only if the walk was refused for want of it (the reason says
        # so); as root, ptrace rules refuse (a sandbox's pid 1): do not send root in circles.
        if any("needs root" in issue.reason for issue in owners.unreadable):
            notes.append("some owners are not readable: run as root to name every process")
        else:
            notes.append("some owners are not readable even as root (ptrace access refused)")
    processes, holders = _owners(owners, wanted)
    return ServerEvidence(
        port=port,
        address=address,
        listeners=_sockets(sockets.listeners),
        connections=_sockets(sockets.connections),
        other_listeners=_sockets(sockets.others),
        processes=processes,
        holders=holders,
        unreadable=tuple(owners.unreadable),
        earlier_close_wait=earlier_close_wait,
        listen_overflows=listen_overflows,
        notes=tuple(notes),
        observed_on=observed_on,
    )


def _sockets(found: Sequence[SocketEntry]) -> tuple[Socket, ...]:
    """sock_diag records as evidence values (only the few sockets of one port)."""
    return tuple(Socket(**s._asdict()) for s in found)


def _owners(
    scan: OwnerScan, wanted: set[int]
) -> tuple[tuple[Process, ...], tuple[SocketHolder, ...]]:
    """The processes holding the wanted sockets, and every holder of each, first first."""
    holders: list[SocketHolder] = []
    for inode, (pid, fd) in sorted(scan.holders.items()):
        if inode not in wanted:
            continue
        holders.append(SocketHolder(inode=inode, pid=pid, fd=fd))
        holders += [SocketHolder(inode=inode, pid=p, fd=f) for p, f in scan.shared.get(inode, ())]
    pids = {h.pid for h in holders}
    return tuple(scan.process(pid) for pid in sorted(pids)), tuple(holders)


def _resample(
    port: int,
    connections: list[SocketEntry],
    deadline: Deadline,
    gap: float,
    enough: int | None,
    source: DumpSource | None,
) -> tuple[int | None, list[SocketEntry]]:
    """Count CLOSE-WAIT again a moment later when there are some: (the first count, the
    connections with the later CLOSE-WAIT sample), or (None, as they were)."""
    now = sum(1 for s in connections if s.state == TCP_CLOSE_WAIT)
    if now == 0 or (enough is not None and now >= enough) or gap <= 0 or source is not None:
        return None, connections
    time.sleep(min(gap, deadline.remaining() / 2))
    later = list_sockets(
        SocketQuery(protocols=("tcp",), states=("CLOSE-WAIT",), ports=(port,)),
        deadline=deadline,
    )
    kept = [s for s in connections if s.state != TCP_CLOSE_WAIT]
    return now, kept + list(later.sockets)


def listen_overflows(host: Host | None = None) -> int | None:
    """TcpExtListenOverflows of this network namespace, from /proc/net/netstat read through
    `host` (this one by default; a NetnsHost reads the namespace's)."""
    try:
        text = (host or LocalHost()).read_text("/proc/net/netstat")
    except OSError:
        return None
    # Only the TcpExt header and value lines: the other ~200 counters are not read.
    tcp_ext = "\n".join(line for line in text.splitlines() if line.startswith("TcpExt:"))
    return nstat_counters(tcp_ext).get("TcpExtListenOverflows")


# A counter is an unsigned 64-bit number (a few, like TcpMaxConn, are -1): anything longer
# is not a counter, and int() of a huge digit string would be slow or refused.
_MAX_DIGITS = 21


def nstat_counters(*texts: str) -> dict[str, int]:
    """The counters of /proc/net/netstat, /proc/net/snmp and /proc/net/snmp6 texts under
    nstat's names: a header line `TcpExt: ListenOverflows ...` and a value line become
    `TcpExtListenOverflows`; snmp6's `Ip6InReceives 12` lines are already named so. A line
    that is not a counter is skipped."""
    out: dict[str, int] = {}
    for text in texts:
        lines = text.splitlines()
        pending: tuple[str, list[str]] | None = None
        for line in lines:
            words = line.split()
            if not words:
                continue
            head = words[0]
            if head.endswith(":"):
                if pending is not None and pending[0] == head[:-1]:
                    _pair(out, pending[0], pending[1], words[1:])
                    pending = None
                else:
                    pending = (head[:-1], words[1:])
            elif len(words) == 2:
                _put(out, head, words[1])
    return out


def _pair(out: dict[str, int], prefix: str, names: list[str], values: list[str]) -> None:
    for name, text in zip(names, values, strict=False):
        _put(out, prefix + name, text)


def _put(out: dict[str, int], name: str, text: str) -> None:
    digits = text[1:] if text[:1] == "-" else text
    if 0 < len(digits) <= _MAX_DIGITS and digits.isascii() and digits.isdigit():
        out[name] = int(text)
