"""The server side of one TCP port, read on this host (this network namespace): listeners,
the connections of the port, their owners, the accept queues and TcpExtListenOverflows.

Records, never judges: the rules of `diagnose.server` read the `ServerEvidence` this
returns. The reading itself is `sockets.dump.list_sockets` (two kernel-filtered sock_diag
dumps) and `sockets.owners.find_owners` (the /proc walk, for the few sockets a rule may
name). A dump or /proc problem becomes `notes`; a failure to read anything becomes `error`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from netdx.budget import Deadline
from netdx.diagnose.server import is_near
from netdx.host.netns import here
from netdx.model.server import (
    TCP_CLOSE_WAIT,
    TCP_ESTABLISHED,
    TCP_LISTEN,
    Process,
    ServerEvidence,
    Socket,
    SocketHolder,
)
from netdx.sockets.dump import DumpSource, list_sockets
from netdx.sockets.model import OwnerScan, SocketEntry, SocketQuery
from netdx.sockets.owners import find_owners


async def read_server(address: str | None, port: int, *, deadline: Deadline) -> ServerEvidence:
    """`read_server_now` in a worker thread (sock_diag and /proc are synchronous), for the
    concurrent probes of `netdx check`; a read that fails at once becomes `error`."""
    try:
        return await asyncio.to_thread(read_server_now, address, port, deadline=deadline)
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
) -> ServerEvidence:
    """Read `port` on this host in the calling thread; `address` is the address a client
    connects to, if known. With `sample_gap` > 0 a few CLOSE-WAIT sockets (fewer than
    `enough`) are counted again that much later: a growing pile is a leak even when small."""
    listening = list_sockets(
        SocketQuery(protocols=("tcp",), listen=True), deadline=deadline, source=source
    )
    on_port = list_sockets(
        SocketQuery(protocols=("tcp",), ports=(port,)), deadline=deadline, source=source
    )
    tcp = [s for s in (*listening.sockets, *on_port.sockets) if s.proto == "tcp"]
    listeners = [s for s in listening.sockets if s.proto == "tcp" and s.sport == port]
    others = [s for s in listening.sockets if s.proto == "tcp" and s.sport != port]
    connections = [s for s in tcp if s.state != TCP_LISTEN and port in (s.sport, s.dport)]
    earlier, connections = _resample(port, connections, deadline, sample_gap, enough, source)
    # Established sockets are named by no rule: leave them out of the /proc walk.
    wanted = [s.inode for s in (*listeners, *connections) if s.state != TCP_ESTABLISHED]
    # The listeners near the port too: a rule names them ("listens on :5433 instead").
    wanted += [s.inode for s in others if is_near(s.sport, port)]
    owners = find_owners(wanted, deadline=deadline.share(0.8), proc=proc)
    notes = [*listening.notes, *on_port.notes, *owners.notes]
    if not owners.complete and owners.unreadable:
        notes.append("some owners are not readable: run as root to name every process")
    processes, holders = _owners(owners)
    return ServerEvidence(
        port=port,
        address=address,
        listeners=_sockets(listeners),
        connections=_sockets(connections),
        other_listeners=_sockets(others),
        processes=processes,
        holders=holders,
        unreadable=tuple(owners.unreadable),
        earlier_close_wait=earlier,
        listen_overflows=listen_overflows(proc),
        notes=tuple(notes),
        observed_on=here(),
    )


def _sockets(found: Sequence[SocketEntry]) -> tuple[Socket, ...]:
    """sock_diag records as evidence values (only the few sockets of one port)."""
    return tuple(Socket(**s._asdict()) for s in found)


def _owners(scan: OwnerScan) -> tuple[tuple[Process, ...], tuple[SocketHolder, ...]]:
    """The scan's processes, and every holder of each socket, first holder first."""
    holders: list[SocketHolder] = []
    for inode, (pid, fd) in sorted(scan.holders.items()):
        holders.append(SocketHolder(inode=inode, pid=pid, fd=fd))
        holders += [SocketHolder(inode=inode, pid=p, fd=f) for p, f in scan.shared.get(inode, ())]
    return tuple(p for _, p in sorted(scan.processes.items())), tuple(holders)


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
