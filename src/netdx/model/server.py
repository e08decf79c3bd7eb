"""Server-side evidence: the sockets of one port on one host, their owners and queues.

What `probes.server.read_server` records (sock_diag and /proc, read on the server) and what
the pure rules of `diagnose.server` judge. Frozen dataclasses (and netlink's socket record,
a NamedTuple the codec rebuilds as well), so every value here round-trips through
`model.codec`: the evidence of a server read elsewhere (a namespace, later an SSH
destination) comes back as data.

The numbers and names of TCP states live in one table, `netdx.netlink.tables.TCP_STATES`
(stdlib-only, so the netlink package can be shipped to a server); the constants below are
read from it.
"""

from __future__ import annotations

from netdx.model.record import record
from netdx.model.vantage import THIS_HOST, Vantage
from netdx.netlink.tables import (
    TCP_CLOSE_WAIT,
    TCP_ESTABLISHED,
    TCP_LISTEN,
    TCP_TIME_WAIT,
    DiagSocket,
)

__all__ = [
    "TCP_CLOSE_WAIT",
    "TCP_ESTABLISHED",
    "TCP_LISTEN",
    "TCP_TIME_WAIT",
    "Process",
    "ProcessIssue",
    "ServerEvidence",
    "Socket",
    "SocketHolder",
    "UdpPort",
    "UdpSocket",
]


# One TCP or UDP socket as sock_diag reported it: netlink's wire record itself (its fields,
# `state_name`, `local` and `remote` are declared once, in `netlink.tables`), so the sockets
# of a dump become evidence without a copy. `family` is the address family number (AF_INET
# 2, AF_INET6 10), `state` the kernel's TCP state number; `model.codec` rebuilds it by its
# fields like a dataclass.
Socket = DiagSocket


@record
class Process:
    """A process that holds sockets: pid, command (comm), user and uid."""

    pid: int
    command: str
    user: str
    uid: int


@record
class SocketHolder:
    """One descriptor through which a process holds a socket (a socket shared after fork()
    has several)."""

    inode: int
    pid: int
    fd: int


@record
class ProcessIssue:
    """A process whose sockets could not be read, and why ("permission denied: needs root")."""

    pid: int
    command: str | None
    reason: str


@record
class ServerEvidence:
    """Everything read on the server about one TCP port (in the host or namespace read).

    `listeners` are the LISTEN sockets on `port`; `connections` the other TCP sockets whose
    local or remote port is `port` (the latest sample); `other_listeners` every other TCP
    listener (to say where the service listens instead). `address` is the address a client
    connects to, when known. `earlier_close_wait` is the CLOSE-WAIT count of a first sample
    taken a moment before the last (None: one sample only); `listen_overflows` is
    TcpExtListenOverflows of the namespace. `processes` and `holders` name the owners of the
    sockets that matter (first holder first); `unreadable` lists processes whose descriptors
    could not be read. `error` says the server side could not be read at all (then nothing
    else is filled and no rule judges); `notes` say what could not be read in part.
    `observed_on` is the host or namespace the sockets were read on.
    """

    port: int
    address: str | None = None
    listeners: tuple[Socket, ...] = ()
    connections: tuple[Socket, ...] = ()
    other_listeners: tuple[Socket, ...] = ()
    processes: tuple[Process, ...] = ()
    holders: tuple[SocketHolder, ...] = ()
    unreadable: tuple[ProcessIssue, ...] = ()
    earlier_close_wait: int | None = None
    listen_overflows: int | None = None
    error: str | None = None
    notes: tuple[str, ...] = ()
    observed_on: Vantage = THIS_HOST

    def owners(self) -> dict[int, Process]:
        """inode → the process of its first holder (build once: a leak has thousands)."""
        by_pid = {p.pid: p for p in self.processes}
        out: dict[int, Process] = {}
        for held in self.holders:
            proc = by_pid.get(held.pid)
            if proc is not None:
                out.setdefault(held.inode, proc)
        return out

    def owners_of(self, sock: Socket) -> tuple[tuple[Process, int], ...]:
        """Every (process, fd) holding `sock`, first holder first (a process that exited
        before it was read shows as `?`)."""
        by_pid = {p.pid: p for p in self.processes}
        return tuple(
            (by_pid.get(h.pid) or Process(pid=h.pid, command="?", user="?", uid=-1), h.fd)
            for h in self.holders
            if sock.inode and h.inode == sock.inode
        )

    def owner_of(self, sock: Socket) -> Process | None:
        """The process of the first holder of `sock`, or None (unknown, or no process)."""
        return self.owners().get(sock.inode) if sock.inode else None


@record
class UdpSocket:
    """One UDP socket on the port, its owner (None: unknown) and its drop counter (None: the
    kernel did not report SK_MEMINFO)."""

    socket: Socket
    owner: Process | None = None
    fd: int = 0  # the owner's descriptor of it
    drops: int | None = None


@record
class UdpPort:
    """The UDP side of one port (`sockets.udp.read_udp_port`), which the rules of
    `diagnose.server_udp` judge: its sockets and the host's UdpRcvbufErrors (IPv4 + IPv6;
    None when /proc/net/snmp could not be read)."""

    port: int
    sockets: tuple[UdpSocket, ...] = ()
    rcvbuf_errors: int | None = None
