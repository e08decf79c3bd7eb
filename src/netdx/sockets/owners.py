"""Socket inode → owning process, by walking /proc/PID/fd (what ss -p and lsof do).

The walk itself is `netdx.collect.owners` (stdlib-only, so it also runs on a server by a
bare python3); this module gives its raw result the typed face of the sockets package
(`OwnerScan`, `Process`, `ProcessIssue`). Only processes in our network namespace are read,
the walk stops once every wanted inode is found, processes that exit meanwhile are counted
as vanished, and unreadable ones are recorded, never raised.
"""

from __future__ import annotations

from collections.abc import Collection

from netdx.budget import Deadline
from netdx.collect.owners import Walk, user_name, walk_owners
from netdx.sockets.model import OwnerScan, Process, ProcessIssue

__all__ = ["find_owners", "scan_of", "user_name"]


def find_owners(
    inodes: Collection[int],
    *,
    deadline: Deadline,
    proc: str = "/proc",
    stop_early: bool = True,
    ns_file: str | None = None,
) -> OwnerScan:
    """Find the processes holding the socket `inodes` (0 is ignored: no process owns it).

    With `stop_early` the walk ends once each inode has one owner; without it, every
    process is read (all owners of a shared listening socket). `ns_file` names the network
    namespace the sockets live in (default: ours, `PROC/self/ns/net`).
    """
    walk = walk_owners(inodes, deadline=deadline, proc=proc, ns_file=ns_file, stop_early=stop_early)
    return scan_of(walk)


def scan_of(walk: Walk) -> OwnerScan:
    """The typed scan of a raw walk (the holders map is passed on, not copied)."""
    return OwnerScan(
        holders=walk.holders,
        processes={
            pid: Process(pid=p.pid, command=p.command, user=p.user, uid=p.uid)
            for pid, p in walk.processes.items()
        },
        shared={ino: tuple(more) for ino, more in walk.shared.items()},
        wanted=len(walk.wanted),
        complete=walk.complete,
        unreadable=tuple(
            ProcessIssue(pid=i.pid, command=i.command, reason=i.reason) for i in walk.issues
        ),
        vanished=walk.vanished,
        other_namespace=walk.other_ns,
        notes=tuple(walk.notes),
    )
