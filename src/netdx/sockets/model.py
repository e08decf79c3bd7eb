"""The values of the sockets listing: what was asked, what the kernel said, who owns what.

`SocketEntry` is the netlink layer's `DiagSocket` itself, the wire record of a dump: a busy
host has 100k of them and `netdx sockets` lists them all, so the listing does not copy them
into a second type; the evidence of a port holds the same record (`model.server.Socket` is
it). `SocketQuery` is likewise the collector's `Selection` (`collect.sockdiag`), handed to
the dump as it is.
`Process` and `ProcessIssue` are the model's own (`model.server`), re-exported here for the
/proc reader.
"""

from __future__ import annotations

from collections.abc import Mapping

from netdx.collect.sockdiag import Proto, Selection
from netdx.model.record import field, record
from netdx.model.server import Process, ProcessIssue
from netdx.model.vantage import THIS_HOST, Vantage
from netdx.netlink.diag import DiagSocket

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SocketEntry = DiagSocket

# Which sockets to list: the collector's own selection, so a query is handed to the dump as
# it is (`ss` words: states, listen, ports; empty tuples mean "all").
SocketQuery = Selection


@record
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
    def of(cls, owners: Mapping[int, tuple[tuple[Process, int], ...]], **kwargs: Any) -> OwnerScan:
        """A scan holding these (process, fd) owners per inode (for tests)."""
        processes = {p.pid: p for found in owners.values() for p, _ in found}
        holders = {ino: (found[0][0].pid, found[0][1]) for ino, found in owners.items() if found}
        shared = {ino: tuple((p.pid, fd) for p, fd in found[1:])
                  for ino, found in owners.items() if len(found) > 1}  # fmt: skip
        return cls(holders=holders, processes=processes, shared=shared, **kwargs)

    def owners_of(self, inode: int) -> tuple[tuple[Process, int], ...]:
        """Every (process, fd) holding a socket inode, first holder first."""
        first = self.holders.get(inode) if inode else None
        if first is None:
            return ()
        return tuple((self.process(pid), fd) for pid, fd in (first, *self.shared.get(inode, ())))

    def owner_of(self, sock: SocketEntry) -> Process | None:
        """The process of the first holder of a socket, or None."""
        first = self.holders.get(sock.inode) if sock.inode else None
        return self.process(first[0]) if first is not None else None

    def process(self, pid: int) -> Process:
        """The process `pid`, or a placeholder for one that exited before it was read."""
        return self.processes.get(pid) or Process(pid=pid, command="?", user="?", uid=-1)


@record
class SocketListing:
    """A finished listing: the sockets, their owners if asked, and what could not be read.

    `notes` are short sentences for the user ("the dump was interrupted: sockets changed
    while it was read"; "3 sockets: owner not readable without root"). `observed_on` is
    the host, namespace or SSH destination whose sockets they are.
    """

    sockets: tuple[SocketEntry, ...]
    owners: OwnerScan | None = None
    notes: tuple[str, ...] = ()
    interrupted: bool = False
    observed_on: Vantage = THIS_HOST  # where the sockets were read (this host, a netns, ssh)

    def owner_of(self, sock: SocketEntry) -> Process | None:
        """The owner of `sock`, or None (not asked, not found, or no process: TIME-WAIT)."""
        return self.owners.owner_of(sock) if self.owners is not None else None


__all__ = [
    "OwnerScan",
    "Process",
    "ProcessIssue",
    "Proto",
    "SocketEntry",
    "SocketListing",
    "SocketQuery",
]
