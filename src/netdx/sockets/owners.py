"""Socket inode → owning process, by walking /proc/PID/fd (what ss -p and lsof do).

Only processes in our network namespace are read (their /proc/PID/ns/net is ours): a
socket inode seen by sock_diag belongs to this namespace, so other processes cannot own it
and reading their fds would be wasted work. The walk stops as soon as every wanted inode is
found. Processes exit during the walk (no error: counted as vanished); fds of other users'
processes are unreadable without root (recorded as a ProcessIssue, never a traceback).
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import lru_cache

from netdx.budget import Deadline
from netdx.sockets.model import OwnerScan, Process, ProcessIssue

_SOCKET_PREFIX = "socket:["
_new = tuple.__new__


@lru_cache(maxsize=256)
def user_name(uid: int) -> str:
    """The login name of a uid, or the number when it has none."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _command(proc: str, pid: int) -> str | None:
    try:
        with open(f"{proc}/{pid}/comm", encoding="utf-8", errors="replace") as handle:
            return handle.read().rstrip("\n")
    except OSError:
        return None


def _namespace(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


@dataclass(slots=True)
class _Walk:
    """Mutable state of one walk (kept local to `find_owners`)."""

    wanted: set[int]
    holders: dict[int, tuple[int, int]] = field(default_factory=dict)
    processes: dict[int, Process] = field(default_factory=dict)
    shared: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    issues: list[ProcessIssue] = field(default_factory=list)
    vanished: int = 0
    other_ns: int = 0


def find_owners(
    inodes: Collection[int],
    *,
    deadline: Deadline,
    proc: str = "/proc",
    stop_early: bool = True,
) -> OwnerScan:
    """Find the processes holding the socket `inodes` (0 is ignored: no process owns it).

    With `stop_early` the walk ends once each inode has one owner; without it, every
    process is read (all owners of a shared listening socket).
    """
    walk = _Walk(wanted={i for i in inodes if i})
    remaining = set(walk.wanted)
    ours = _namespace(f"{proc}/self/ns/net")
    notes: list[str] = []
    if ours is None:
        notes.append("own network namespace unknown: processes of every namespace were read")
    for pid in _pids(proc):
        if (stop_early and not remaining) or deadline.expired:
            break
        _read_process(proc, pid, ours, walk, remaining)
    if deadline.expired and remaining:
        notes.append("the /proc walk ran out of time: some owners were not looked for")
    return OwnerScan(
        holders=walk.holders,
        processes=walk.processes,
        shared={ino: tuple(more) for ino, more in walk.shared.items()},
        wanted=len(walk.wanted),
        complete=not remaining,
        unreadable=tuple(walk.issues),
        vanished=walk.vanished,
        other_namespace=walk.other_ns,
        notes=tuple(notes),
    )


def _pids(proc: str) -> list[int]:
    try:
        names = os.listdir(proc)
    except OSError:
        return []
    return sorted(int(n) for n in names if n.isdigit())


def _read_process(
    proc: str, pid: int, ours: tuple[int, int] | None, walk: _Walk, remaining: set[int]
) -> None:
    base = f"{proc}/{pid}"
    if ours is not None:
        theirs = _namespace(f"{base}/ns/net")
        if theirs is None:
            if not os.path.exists(base):
                walk.vanished += 1
            else:
                # No ptrace access to it: its fds would be refused too, so do not try.
                walk.issues.append(
                    _issue(proc, pid, "not readable (permission denied: needs root)")
                )
            return
        if theirs != ours:
            walk.other_ns += 1
            return
    try:
        dir_fd = os.open(f"{base}/fd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        walk.vanished += 1
        return
    except PermissionError:
        walk.issues.append(_issue(proc, pid, "fds not readable (permission denied: needs root)"))
        return
    except OSError as exc:
        walk.issues.append(_issue(proc, pid, f"fds not readable ({exc.strerror})"))
        return
    try:
        found = _scan_fds(dir_fd, walk.wanted, pid)
    finally:
        os.close(dir_fd)
    if found is None:
        walk.issues.append(_issue(proc, pid, "fds not readable (permission denied: needs root)"))
    elif found:
        _record(proc, pid, found, walk, remaining)


def _scan_fds(dir_fd: int, wanted: set[int], pid: int) -> dict[int, tuple[int, int]] | None:
    """{inode: (pid, fd)} of the wanted sockets among a process's fds; None if not listable.

    readlink() is most of the cost (about 3 µs each in the kernel; stat() is no cheaper),
    so the common case is two comprehensions; an fd closed meanwhile makes readlink fail,
    and then the careful loop reads this process again.
    """
    try:
        names = os.listdir(dir_fd)
    except PermissionError:
        return None
    except OSError:
        return {}  # the process exited between open and listdir
    readlink = os.readlink
    try:
        targets = [readlink(name, dir_fd=dir_fd) for name in names]
    except PermissionError:
        return None  # listable but not readable: a process root may not trace
    except OSError:
        return _scan_carefully(dir_fd, names, wanted, pid)
    prefix = _SOCKET_PREFIX
    return {
        inode: (pid, int(name))
        for name, target in zip(names, targets, strict=True)
        if target[:8] == prefix and (inode := int(target[8:-1])) in wanted
    }


def _scan_carefully(
    dir_fd: int, names: list[str], wanted: set[int], pid: int
) -> dict[int, tuple[int, int]] | None:
    found: dict[int, tuple[int, int]] = {}
    for name in names:
        try:
            target = os.readlink(name, dir_fd=dir_fd)
        except PermissionError:
            return None
        except OSError:  # the fd was closed meanwhile
            continue
        if target.startswith(_SOCKET_PREFIX):
            inode = int(target[8:-1])
            if inode in wanted:
                found[inode] = (pid, int(name))
    return found


def _record(
    proc: str, pid: int, mine: dict[int, tuple[int, int]], walk: _Walk, remaining: set[int]
) -> None:
    try:
        uid = os.stat(f"{proc}/{pid}").st_uid
    except OSError:
        uid = -1
    command = _command(proc, pid) or "?"
    user = user_name(uid) if uid >= 0 else "?"
    walk.processes[pid] = Process(pid=pid, command=command, user=user, uid=uid)
    # Sockets held by an earlier process too (shared after fork()): rare, one by one.
    for inode in mine.keys() & walk.holders.keys():
        walk.shared.setdefault(inode, []).append(mine.pop(inode))
    walk.holders.update(mine)
    remaining.difference_update(mine)


def _issue(proc: str, pid: int, reason: str) -> ProcessIssue:
    return ProcessIssue(pid=pid, command=_command(proc, pid), reason=reason)
