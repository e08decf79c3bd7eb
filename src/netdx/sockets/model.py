"""The values of the sockets package: what was asked, what the kernel said, who owns what.

`SocketEntry` is the netlink layer's `DiagSocket` itself: the stdlib-only reader that may be
shipped to a server produces these objects directly, and a busy host has 100k of them, so
they are not copied into a second type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from netdx.netlink.diag import DiagSocket

SocketEntry = DiagSocket

Proto = Literal["tcp", "udp"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SocketQuery:
    """Which sockets to list. `states` are ss names (ESTAB, CLOSE-WAIT...); `listen` means
    LISTEN for TCP and UNCONN for UDP (as `ss -l`); `ports` match the local or the remote
    port (only the local one with `local_port_only`). Empty tuples mean "all"."""

    protocols: tuple[Proto, ...] = ("tcp", "udp")
    families: tuple[int, ...] = (4, 6)
    states: tuple[str, ...] = ()
    listen: bool = False
    ports: tuple[int, ...] = ()
    local_port_only: bool = False


class Owner(NamedTuple):
    """A process holding a socket: its pid, command (comm), user, and the fd number.

    A NamedTuple, like SocketEntry and for the same reason: `netdx sockets -p` makes one
    per socket, 100k on a busy host.
    """

    pid: int
    command: str
    user: str
    uid: int
    fd: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessIssue:
    """A process whose sockets could not be read, and why ("permission denied: needs root")."""

    pid: int
    command: str | None
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Process:
    """A process that holds sockets: pid, command (comm) and user."""

    pid: int
    command: str
    user: str
    uid: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OwnerScan:
    """The result of walking /proc for socket inodes.

    `holders` maps an inode to its first holder as (pid, fd) and `processes` a pid to its
    Process: two small tuples per socket instead of one object, because `netdx sockets -p`
    has 100k sockets to own. `shared` lists the further holders of a socket shared after
    fork(). `complete` says every wanted inode was found; `unreadable` lists the processes
    that could not be read (their sockets may be the missing ones); `vanished` counts
    processes that exited during the walk.
    """

    holders: Mapping[int, tuple[int, int]] = field(default_factory=dict)
    processes: Mapping[int, Process] = field(default_factory=dict)
    shared: Mapping[int, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    wanted: int = 0
    complete: bool = True
    unreadable: tuple[ProcessIssue, ...] = ()
    vanished: int = 0
    other_namespace: int = 0
    notes: tuple[str, ...] = ()

    @classmethod
    def of(cls, owners: Mapping[int, tuple[Owner, ...]], **kwargs: Any) -> OwnerScan:
        """A scan holding these owners (for tests and for callers that built Owners)."""
        processes = {o.pid: Process(pid=o.pid, command=o.command, user=o.user, uid=o.uid)
                     for found in owners.values() for o in found}  # fmt: skip
        holders = {ino: (found[0].pid, found[0].fd) for ino, found in owners.items() if found}
        shared = {ino: tuple((o.pid, o.fd) for o in found[1:])
                  for ino, found in owners.items() if len(found) > 1}  # fmt: skip
        return cls(holders=holders, processes=processes, shared=shared, **kwargs)

    def owners_of(self, inode: int) -> tuple[Owner, ...]:
        """Every owner found for a socket inode, first holder first."""
        first = self.holders.get(inode) if inode else None
        if first is None:
            return ()
        return tuple(self._owner(pid, fd) for pid, fd in (first, *self.shared.get(inode, ())))

    def owner_of(self, sock: SocketEntry) -> Owner | None:
        """The first owner of a socket, or None."""
        first = self.holders.get(sock.inode) if sock.inode else None
        return self._owner(*first) if first is not None else None

    def _owner(self, pid: int, fd: int) -> Owner:
        proc = self.processes.get(pid)
        if proc is None:
            return Owner(pid=pid, command="?", user="?", uid=-1, fd=fd)
        return Owner(pid=pid, command=proc.command, user=proc.user, uid=proc.uid, fd=fd)


@dataclass(frozen=True, slots=True, kw_only=True)
class SocketListing:
    """A finished listing: the sockets, their owners if asked, and what could not be read.

    `notes` are short sentences for the user ("the dump was interrupted: sockets changed
    while it was read"; "3 sockets: owner not readable without root").
    """

    sockets: tuple[SocketEntry, ...]
    owners: OwnerScan | None = None
    notes: tuple[str, ...] = ()
    interrupted: bool = False

    def owner_of(self, sock: SocketEntry) -> Owner | None:
        """The owner of `sock`, or None (not asked, not found, or no process: TIME-WAIT)."""
        return self.owners.owner_of(sock) if self.owners is not None else None
