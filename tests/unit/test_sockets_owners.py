"""The /proc walk that maps socket inodes to processes, on a fake /proc tree: same and other
network namespaces, a process that vanished, an unreadable fd directory, an fd closed
mid-walk, and early stopping."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from netdx.budget import Deadline
from netdx.collect import owners as owners_module
from netdx.sockets.owners import find_owners


def make_proc(root: Path) -> Path:
    """A fake /proc: self, pids 10 and 20 in our namespace, 30 in another."""
    (root / "self" / "ns").mkdir(parents=True)
    ours = root / "self" / "ns" / "net"
    ours.write_text("")
    for pid, fds in ((10, {3: 111, 4: 112, 5: None}), (20, {7: 113, 8: 111}), (30, {3: 114})):
        base = root / str(pid)
        (base / "fd").mkdir(parents=True)
        (base / "ns").mkdir()
        if pid == 30:
            (base / "ns" / "net").write_text("")  # another namespace: another inode
        else:
            os.link(ours, base / "ns" / "net")  # the same file: the same namespace
        (base / "comm").write_text(f"cmd{pid}\n")
        for fd, inode in fds.items():
            target = f"socket:[{inode}]" if inode else "/dev/null"
            (base / "fd" / str(fd)).symlink_to(target)
    return root


def with_vanished_pid(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the walk list pid 40, which does not exist by the time it is read."""
    real = owners_module._pids
    monkeypatch.setattr(owners_module, "_pids", lambda proc: [*real(proc), 40])


def test_owners_found_in_our_namespace_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inodes map to pid, command and fd (a shared socket to both holders); the process in
    another namespace is not read, so its inode stays unfound; a vanished pid is counted."""
    proc = make_proc(tmp_path)
    with_vanished_pid(monkeypatch)
    scan = find_owners([111, 112, 113, 114], deadline=Deadline.after(5), proc=str(proc))
    assert {
        i: [(p.pid, p.command, fd) for p, fd in found]
        for i, found in ((i, scan.owners_of(i)) for i in scan.holders)
    } == {
        111: [(10, "cmd10", 3), (20, "cmd20", 8)],
        112: [(10, "cmd10", 4)],
        113: [(20, "cmd20", 7)],
    }
    assert scan.other_namespace == 1 and scan.vanished == 1
    assert not scan.complete and scan.wanted == 4


def test_walk_stops_once_everything_is_found(tmp_path: Path) -> None:
    """With every inode found in pid 10, pid 20 is never read (so 111 has one owner)."""
    proc = make_proc(tmp_path)
    scan = find_owners([111, 0], deadline=Deadline.after(5), proc=str(proc))
    assert scan.complete and [p.pid for p, _ in scan.owners_of(111)] == [10]
    full = find_owners([111], deadline=Deadline.after(5), proc=str(proc), stop_early=False)
    assert [p.pid for p, _ in full.owners_of(111)] == [10, 20]


def test_unreadable_fd_directory_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process whose fds cannot be opened (not root) is a ProcessIssue, not a traceback."""
    proc = make_proc(tmp_path)
    real_open = os.open

    def fake_open(path: str, flags: int, *args: object, **kwargs: object) -> int:
        if path.endswith("/20/fd"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)  # as a user: root is the remedy
    scan = find_owners([113], deadline=Deadline.after(5), proc=str(proc))
    assert not scan.complete
    [issue] = scan.unreadable
    assert (issue.pid, issue.command) == (20, "cmd20")
    assert "needs root" in issue.reason


def test_fd_closed_mid_walk_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An fd that disappears between listdir and readlink is skipped; the others are read."""
    proc = make_proc(tmp_path)
    real_readlink = os.readlink

    def flaky(name: str, *, dir_fd: int | None = None) -> str:
        if name == "3":
            raise FileNotFoundError(2, "No such file or directory")
        return real_readlink(name, dir_fd=dir_fd)

    monkeypatch.setattr(os, "readlink", flaky)
    scan = find_owners([111, 112], deadline=Deadline.after(5), proc=str(proc))
    assert [(p.pid, fd) for p, fd in scan.owners_of(112)] == [(10, 4)]
    assert [(p.pid, fd) for p, fd in scan.owners_of(111)] == [(20, 8)]


def test_expired_deadline_reads_nothing_and_says_so(tmp_path: Path) -> None:
    """With no time left the walk stops at once and notes it."""
    proc = make_proc(tmp_path)
    scan = find_owners([111], deadline=Deadline(0.0), proc=str(proc))
    assert scan.holders == {} and not scan.complete
    assert any("ran out of time" in n for n in scan.notes)


def test_missing_proc_gives_an_empty_scan(tmp_path: Path) -> None:
    """No /proc at all: nothing found, a note about the namespace, no exception."""
    scan = find_owners([111], deadline=Deadline.after(5), proc=str(tmp_path / "nope"))
    assert scan.holders == {} and not scan.complete and scan.notes


def test_fds_listable_but_not_readable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """readlink refused (EACCES) for one process: that process is reported unreadable."""
    proc = make_proc(tmp_path)
    real_readlink = os.readlink

    def refusing(name: str, *, dir_fd: int | None = None) -> str:
        if name in ("7", "8"):  # the fds of pid 20
            raise PermissionError(13, "Permission denied")
        return real_readlink(name, dir_fd=dir_fd)

    monkeypatch.setattr(os, "readlink", refusing)
    scan = find_owners([112, 113], deadline=Deadline.after(5), proc=str(proc))
    assert [(p.pid, fd) for p, fd in scan.owners_of(112)] == [(10, 4)]
    assert [i.pid for i in scan.unreadable] == [20] and not scan.complete


def test_namespace_not_readable_means_process_not_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process whose ns/net link is refused is reported, and its fds are not even tried."""
    proc = make_proc(tmp_path)
    real_stat, real_open = os.stat, os.open
    opened: list[str] = []

    def refusing_stat(path: str, *args: object, **kwargs: object) -> os.stat_result:
        if path.endswith("/20/ns/net"):
            raise PermissionError(13, "Permission denied")
        return real_stat(path, *args, **kwargs)  # type: ignore[arg-type]

    def recording_open(path: str, flags: int, *args: object, **kwargs: object) -> int:
        opened.append(path)
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "stat", refusing_stat)
    monkeypatch.setattr(os, "open", recording_open)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    scan = find_owners([113], deadline=Deadline.after(5), proc=str(proc))
    assert [(i.pid, i.reason) for i in scan.unreadable] == [
        (20, "not readable (permission denied: needs root)")
    ]
    assert not any(p.endswith("/20/fd") for p in opened)
