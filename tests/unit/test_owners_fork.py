"""The owner walk in a forked child (`collect.owners_fork`) gives what the walk in this
process gives, on a fake /proc tree and on the real one; a child that dies or hangs costs
at most the budget and leaves the owners it did not send unknown, with a note."""

from __future__ import annotations

import contextlib
import io
import os
import socket
import time
from pathlib import Path

import pytest
from test_sockets_owners import make_proc, with_vanished_pid
from test_sockets_stream import DONE, V4, message

from netdx.budget import Deadline
from netdx.collect import owners as owners_module
from netdx.collect.owners import Walk, walk_owners
from netdx.collect.owners_fork import ForkedWalk
from netdx.netlink.fake import ReplayTransport
from netdx.sockets import render
from netdx.sockets.dump import list_sockets
from netdx.sockets.model import SocketListing, SocketQuery
from netdx.sockets.owners import find_owners
from netdx.sockets.stream import stream_listing


def facts(walk: Walk) -> tuple[object, ...]:
    """Everything a walk says, for comparison."""
    return (walk.holders, walk.processes, walk.shared, walk.issues, walk.vanished,
            walk.other_ns, walk.complete, walk.notes)  # fmt: skip


def forked(inodes: list[int], proc: Path, seconds: float = 5, stop_early: bool = True) -> Walk:
    with ForkedWalk(deadline=Deadline.after(seconds), proc=str(proc)) as walker:
        return walker.result(inodes, stop_early=stop_early)


@pytest.mark.parametrize("stop_early", [True, False])
@pytest.mark.parametrize("inodes", [[111, 112, 113, 114], [111, 0], [113]])
def test_forked_walk_equals_the_walk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inodes: list[int], stop_early: bool
) -> None:
    """Same holders, shared sockets, processes, counts (a vanished pid, another namespace),
    completeness and notes as the walk in this process, with and without early stop."""
    proc = make_proc(tmp_path)
    with_vanished_pid(monkeypatch)
    here = walk_owners(inodes, deadline=Deadline.after(5), proc=str(proc), stop_early=stop_early)
    assert facts(forked(inodes, proc, stop_early=stop_early)) == facts(here)


def test_forked_walk_equals_the_walk_on_real_proc() -> None:
    """On the real /proc, the sockets this test holds are found at the same pid and fds."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(3)]
        inodes = [os.fstat(s.fileno()).st_ino for s in socks]
        with ForkedWalk(deadline=Deadline.after(20)) as walker:
            walk = walker.result(inodes)
        assert walk.holders == {
            i: (os.getpid(), s.fileno()) for i, s in zip(inodes, socks, strict=True)
        }
        assert walk.complete


def test_dead_child_leaves_the_rest_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A child that dies after pid 10: pid 10's sockets are owned, 113 (pid 20's) is not,
    and a note says why; no wrong owner."""
    proc = make_proc(tmp_path)
    real = owners_module._read_process

    def dying(proc: str, pid: int, *args: object) -> object:
        if pid == 20:
            os._exit(3)
        return real(proc, pid, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(owners_module, "_read_process", dying)
    walk = forked([112, 113], proc)
    assert walk.holders == {112: (10, 4)} and not walk.complete
    assert any("ended early" in note for note in walk.notes)


def test_hung_child_is_bounded_and_killed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A child stuck on pid 20 costs the budget and a short grace, then is killed and
    reaped; pid 10's sockets are owned, 113 is unknown, with a note."""
    proc = make_proc(tmp_path)
    real = owners_module._read_process

    def stuck(proc: str, pid: int, *args: object) -> object:
        if pid == 20:
            time.sleep(60)
        return real(proc, pid, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(owners_module, "_read_process", stuck)
    guard = Deadline.after(20)  # only against a hang of the test itself
    with ForkedWalk(deadline=Deadline.after(0.5), proc=str(proc)) as walker:
        child = walker.pid
        walk = walker.result([112, 113])
    assert guard.remaining() > 0 and child is not None
    with pytest.raises(ChildProcessError):
        os.waitpid(child, os.WNOHANG)  # already reaped
    assert walk.holders == {112: (10, 4)} and not walk.complete
    assert any("did not end in time" in note for note in walk.notes)


def test_without_fork_the_walk_runs_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When fork fails (no memory, no pids left) the walk runs in this process instead."""
    proc = make_proc(tmp_path)

    def refuse() -> int:
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", refuse)
    with ForkedWalk(deadline=Deadline.after(5), proc=str(proc)) as walker:
        assert walker.pid is None
        walk = walker.result([111, 113])
    assert walk.holders == {111: (10, 3), 113: (20, 7)} and walk.complete


@pytest.mark.parametrize("as_json", [False, True])
def test_streamed_owners_from_the_forked_walk_print_as_the_renderer(as_json: bool) -> None:
    """`sockets -p` streamed with the forked walk on the real /proc prints byte for byte
    what the renderer prints with the walk in this process (the JSON objects made before
    the walk and filled after it): owned, unowned and TIME-WAIT sockets."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(4)]
        inodes = [os.fstat(s.fileno()).st_ino for s in socks] + [1, 0]  # 1: nobody's
        reply = [b"".join([
            *(message(V4, 1, "10.0.0.2", 40000 + n, "10.0.0.3", 443, inode=ino)
              for n, ino in enumerate(inodes)),
            DONE,
        ])]  # fmt: skip
        query = SocketQuery(protocols=("tcp",), families=(4,))
        listing = list_sockets(query, deadline=Deadline.after(5), source=ReplayTransport([reply]))
        scan = find_owners([s.inode for s in listing.sockets], deadline=Deadline.after(20))
        owned = SocketListing(sockets=listing.sockets, owners=scan, notes=listing.notes,
                              interrupted=listing.interrupted)  # fmt: skip
        shown = render.json_text if as_json else render.table
        out = io.StringIO()
        stream_listing(query, deadline=Deadline.after(20), out=out, as_json=as_json,
                       process=True, ifnames={}, source=ReplayTransport([reply]))  # fmt: skip
    # The JSON's last line holds the notes, with the count of processes that exited
    # during each walk: on a busy machine the two walks need not see the same.
    streamed, rendered = (
        out.getvalue().splitlines(),
        shown(owned, with_process=True, ifnames={}).splitlines(),
    )
    cut = -1 if as_json else None
    assert streamed[:cut] == rendered[:cut] and len(streamed) == len(rendered)
    assert str(os.getpid()) in out.getvalue()
