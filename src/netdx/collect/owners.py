"""Socket inode → owning process, by walking /proc/PID/fd (what ss -p and lsof do).

Only processes in the host's network namespace are read (their /proc/PID/ns/net is the
same namespace as `ns_file`): a socket inode seen by sock_diag belongs to that namespace,
so other processes cannot own it and reading their fds would be wasted work. The walk stops
as soon as every wanted inode is found. Processes exit during the walk (no error: counted as
vanished); fds of other users' processes are unreadable without root (recorded as an issue,
never a traceback). The result is raw: `netdx.sockets.owners` gives it its typed face.

/proc/PID/fd is the same for every network namespace of one machine, so the walk reads the
file system directly; only the namespace it compares against comes from the `Host`.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Collection
from functools import lru_cache

from netdx.netlink._compat import dataclass, field

from .system import Budget

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a check 5-10 ms: for mypy only
    from typing import Any

_SOCKET_PREFIX = "socket:["


@dataclass(frozen=True)
class Holder:
    """A process that holds wanted sockets: pid, command (comm), user and uid."""

    pid: int
    command: str
    user: str
    uid: int


@dataclass(frozen=True)
class Unreadable:
    """A process whose sockets could not be read, and why."""

    pid: int
    command: str | None
    reason: str


@dataclass
class Walk:
    """The result of one walk. `holders` maps an inode to its first holder as (pid, fd):
    two small ints per socket, because `netdx sockets -p` has 100k sockets to own.
    `shared` lists further holders of a socket shared after fork(); `complete` says every
    wanted inode was found."""

    wanted: set[int]
    holders: dict[int, tuple[int, int]] = field(default_factory=dict)
    processes: dict[int, Holder] = field(default_factory=dict)
    shared: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    issues: list[Unreadable] = field(default_factory=list)
    vanished: int = 0
    other_ns: int = 0
    complete: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def all_found(self) -> bool:
        """Every wanted inode has an owner (`holders` holds wanted inodes only)."""
        return len(self.holders) == len(self.wanted)


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


def walk_owners(
    inodes: Collection[int],
    *,
    deadline: Budget,
    proc: str = "/proc",
    ns_file: str | None = None,
    stop_early: bool = True,
) -> Walk:
    """Find the processes holding the socket `inodes` (0 is ignored: no process owns it).

    `ns_file` names the namespace the sockets live in (default: this process's). With
    `stop_early` the walk ends once each inode has one owner; without it, every process is
    read (all owners of a shared listening socket).
    """
    walk = Walk(wanted=wanted_set(inodes))
    ours = _namespace(ns_file if ns_file is not None else f"{proc}/self/ns/net")
    if ours is None:
        walk.notes.append(_NO_NAMESPACE)
    for pid in _pids(proc):
        if (stop_early and walk.all_found) or deadline.remaining() <= 0:
            break
        apply_read(_read_process(proc, pid, ours, walk.wanted), walk)
    walk.complete = walk.all_found
    if deadline.remaining() <= 0 and not walk.complete:
        walk.notes.append(OUT_OF_TIME)
    return walk


def wanted_set(inodes: Collection[int]) -> set[int]:
    """The inodes to look for: 0 is no inode (TIME-WAIT, request sockets)."""
    wanted = set(inodes)
    wanted.discard(0)
    return wanted


_NO_NAMESPACE = "own network namespace unknown: processes of every namespace were read"
OUT_OF_TIME = "the /proc walk ran out of time: some owners were not looked for"

# What reading one process gave, as plain tuples (a forked walker sends them through a
# file with marshal): (VANISHED, pid), (OTHER_NS, pid), (ISSUE, pid, command, reason) or
# (SOCKETS, pid, uid, command, {inode: fd}).
VANISHED, OTHER_NS, ISSUE, SOCKETS = 0, 1, 2, 3
if TYPE_CHECKING:
    Read = tuple[Any, ...]  # one process's read, as applied (annotations only)


def _pids(proc: str) -> list[int]:
    try:
        names = os.listdir(proc)
    except OSError:
        return []
    return sorted(int(n) for n in names if n.isdigit())


def _denied() -> str:
    """Why a process's fds were refused: root is the remedy only when we are not root."""
    if os.geteuid() != 0:
        return "permission denied: needs root"
    # As root, only ptrace rules refuse (Yama ptrace_scope, an LSM, a process of another
    # user namespace such as a sandbox's pid 1): "needs root" would send the user in circles.
    return "permission denied even as root: ptrace access refused (Yama, LSM or namespace)"


def _read_process(
    proc: str, pid: int, ours: tuple[int, int] | None, wanted: set[int] | None
) -> Read | None:
    """Read one process: its sockets among `wanted` (every socket when None), or why not.
    None: it holds none of them (nothing to record)."""
    base = f"{proc}/{pid}"
    if ours is not None:
        theirs = _namespace(f"{base}/ns/net")
        if theirs is None:
            if not os.path.exists(base):
                return (VANISHED, pid)
            # No ptrace access to it: its fds would be refused too, so do not try.
            return _issue(proc, pid, f"not readable ({_denied()})")
        if theirs != ours:
            return (OTHER_NS, pid)
    try:
        dir_fd = os.open(f"{base}/fd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        return (VANISHED, pid)
    except PermissionError:
        return _issue(proc, pid, f"fds not readable ({_denied()})")
    except OSError as exc:
        return _issue(proc, pid, f"fds not readable ({exc.strerror})")
    try:
        found = _scan_fds(dir_fd, wanted)
    finally:
        os.close(dir_fd)
    if found is None:
        return _issue(proc, pid, f"fds not readable ({_denied()})")
    if not found:
        return None
    try:
        uid = os.stat(base).st_uid
    except OSError:
        uid = -1
    return (SOCKETS, pid, uid, _command(proc, pid) or "?", found)


def _scan_fds(dir_fd: int, wanted: set[int] | None) -> dict[int, int] | None:
    """{inode: fd} of the wanted sockets (all with None) among a process's fds; None if not
    listable.

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
        return _scan_carefully(dir_fd, names, wanted)
    prefix = _SOCKET_PREFIX
    if wanted is None:
        return {
            int(target[8:-1]): int(name)
            for name, target in zip(names, targets)  # noqa: B905 (strict= is 3.10+)
            if target[:8] == prefix
        }
    return {
        inode: int(name)
        for name, target in zip(names, targets)  # noqa: B905 (strict= is 3.10+)
        if target[:8] == prefix and (inode := int(target[8:-1])) in wanted
    }


def _scan_carefully(
    dir_fd: int, names: list[str], wanted: set[int] | None
) -> dict[int, int] | None:
    found: dict[int, int] = {}
    for name in names:
        try:
            target = os.readlink(name, dir_fd=dir_fd)
        except PermissionError:
            return None
        except OSError:  # the fd was closed meanwhile
            continue
        if target.startswith(_SOCKET_PREFIX):
            inode = int(target[8:-1])
            if wanted is None or inode in wanted:
                found[inode] = int(name)
    return found


def apply_read(read: Read | None, walk: Walk) -> None:
    """Add one process's read to the walk: its wanted sockets, or why it was not read."""
    if read is None:
        return
    kind, pid = read[0], read[1]
    if kind == VANISHED:
        walk.vanished += 1
    elif kind == OTHER_NS:
        walk.other_ns += 1
    elif kind == ISSUE:
        walk.issues.append(Unreadable(pid=pid, command=read[2], reason=read[3]))
    else:
        wanted = walk.wanted
        mine = {i: (pid, fd) for i, fd in read[4].items() if i in wanted}
        if mine:
            _record(pid, read[2], read[3], mine, walk)


def _record(pid: int, uid: int, command: str, mine: dict[int, tuple[int, int]], walk: Walk) -> None:
    user = user_name(uid) if uid >= 0 else "?"
    walk.processes[pid] = Holder(pid=pid, command=command, user=user, uid=uid)
    # Sockets held by an earlier process too (shared after fork()): rare, one by one.
    for inode in mine.keys() & walk.holders.keys():
        walk.shared.setdefault(inode, []).append(mine.pop(inode))
    walk.holders.update(mine)


def _issue(proc: str, pid: int, reason: str) -> Read:
    return (ISSUE, pid, _command(proc, pid), reason)
