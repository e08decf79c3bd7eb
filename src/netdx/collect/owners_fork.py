"""The /proc owner walk in a forked child, so that it runs beside the sock_diag dump.

`netdx sockets -p` needs two things that take about as long as each other at 100k sockets:
the dump (the kernel's time, then the rows) and the walk of /proc/PID/fd (a readlink per fd,
~4 µs in the kernel each). The walk needs the dumped inodes only to choose which sockets to
keep and when to stop, so a child started before the dump reads every socket fd of the
namespace's processes while the parent dumps; the parent then applies the child's reads in
pid order, exactly as `owners.walk_owners` applies its own (same filter, same early stop,
same holders, shared sockets, issues and counts): the result is the walk's, only sooner.
A thread would not do: the parent's row work holds the GIL, and a readlink returning in the
walker thread waits for it (measured: no overlap at all).

The child writes one marshal frame per process to an anonymous file (it never blocks on a
reader, whatever the parent is doing) and a byte to a pipe when it ends. The parent reads
the frames as they come; it waits only as long as the budget allows plus a short grace,
then kills the child (its own, by pid) and reaps it. A child that dies or hangs leaves the
owners it did not send unknown, with the reason as a note: never a wrong owner.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import select
import signal
import struct
import time
from collections.abc import Iterator

from . import owners
from .system import Budget

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs 5-10 ms: for mypy only
    from typing import Any

_FRAME = struct.Struct("=I")
_GRACE = 0.3  # past the budget, how long the child may still take to say it ended
_POLL = 0.005  # between looks at the frames while the child still walks
_DONE, _LATE = b"d", b"t"  # the child's last byte: walked every process, or out of time
_HUNG, _DIED = b"hung", b"died"  # no last byte: no end in time, or the child exited without
_ENDED = {
    _HUNG: "the /proc walk (a child process) did not end in time: the owners it did not"
    " send are unknown",
    _DIED: "the /proc walk (a child process) ended early: the owners it did not send are unknown",
}


class ForkedWalk:
    """The walk started in a child at once; `result(inodes)` gives the same `Walk` as
    `walk_owners(inodes, ...)` would. Use as a context manager: leaving it kills and reaps
    a child still running. Without fork (it failed) `result` walks in this process."""

    def __init__(self, *, deadline: Budget, proc: str = "/proc", ns_file: str | None = None):
        self.deadline, self.proc, self.ns_file = deadline, proc, ns_file
        self.pid: int | None = None
        self._file = self._pipe = -1
        try:
            self._file = _anonymous_file()
            read_end, write_end = os.pipe()
        except OSError:
            self._close_file()
            return
        try:
            pid = os.fork()
        except OSError:
            os.close(read_end)
            os.close(write_end)
            self._close_file()
            return
        if pid == 0:  # the child: walk, write, and never return into the parent's code
            code = 1
            try:
                os.close(read_end)
                self._child(write_end)
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        self.pid, self._pipe = pid, read_end

    def __enter__(self) -> ForkedWalk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the child ---------------------------------------------------------------------

    def _child(self, status: int) -> None:
        proc, out = self.proc, self._file
        ours = owners._namespace(
            self.ns_file if self.ns_file is not None else f"{proc}/self/ns/net"
        )
        notes = [] if ours is not None else [owners._NO_NAMESPACE]
        _write(out, marshal.dumps(notes))
        end, me = _DONE, os.getpid()
        for pid in owners._pids(proc):
            if self.deadline.remaining() <= 0:
                end = _LATE
                break
            if pid == me and proc == "/proc":
                continue  # it holds copies of the parent's fds: not a process of the listing
            read = owners._read_process(proc, pid, ours, None)
            if read is not None:
                _write(out, marshal.dumps(read))
        os.write(status, end)

    # --- the parent --------------------------------------------------------------------

    def result(self, inodes: list[int], *, stop_early: bool = True) -> owners.Walk:
        """The walk for `inodes`, from the child's reads (see `owners.walk_owners`)."""
        if self.pid is None:
            return owners.walk_owners(inodes, deadline=self.deadline, proc=self.proc,
                               ns_file=self.ns_file, stop_early=stop_early)  # fmt: skip
        walk = owners.Walk(wanted=owners.wanted_set(inodes))
        frames = _Frames(self._file)
        header: list[str] | None = None
        end = b""
        wait_until = self.deadline.remaining() + _GRACE + time.monotonic()
        while True:
            for frame in frames.new():
                if header is None:
                    header = frame
                    walk.notes += frame
                elif not (stop_early and walk.all_found):
                    owners.apply_read(frame, walk)
            if end or (stop_early and walk.all_found and header is not None):
                break
            left = wait_until - time.monotonic()
            # Out of time: one last look at what was written, then the child is killed.
            end = _wait_byte(self._pipe, min(left, _POLL)) if left > 0 else _HUNG
        self.close()
        walk.complete = walk.all_found
        if end in (_HUNG, _DIED) and not (stop_early and walk.complete):
            walk.notes.append(_ENDED[end])
        elif end == _LATE and not walk.complete:
            walk.notes.append(owners.OUT_OF_TIME)
        return walk

    def close(self) -> None:
        """Kill the child if it still runs (it is ours: by pid), reap it, free the file."""
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            _reap(self.pid)
            self.pid = None
        if self._pipe >= 0:
            os.close(self._pipe)
            self._pipe = -1
        self._close_file()

    def _close_file(self) -> None:
        if self._file >= 0:
            os.close(self._file)
            self._file = -1


def _anonymous_file() -> int:
    """A file only we and the child hold (memfd; an unlinked temporary file without it)."""
    try:
        return os.memfd_create("netdx-owners", os.MFD_CLOEXEC)
    except (AttributeError, OSError):
        import tempfile

        with tempfile.TemporaryFile() as handle:
            return os.dup(handle.fileno())


def _write(fd: int, payload: bytes) -> None:
    data = memoryview(_FRAME.pack(len(payload)) + payload)
    while data:
        data = data[os.write(fd, data) :]


class _Frames:
    """The complete frames the child has written so far, each once."""

    def __init__(self, fd: int) -> None:
        self.fd, self.offset, self.pending = fd, 0, b""

    def new(self) -> Iterator[Any]:
        """Each frame written since the last call, decoded one at a time (a frame holds
        up to one process's sockets: never all of them at once)."""
        chunks = []
        while True:
            chunk = os.pread(self.fd, 1 << 20, self.offset)
            if not chunk:
                break
            self.offset += len(chunk)
            chunks.append(chunk)
        if not chunks:
            return
        data = self.pending + b"".join(chunks)
        at, size = 0, _FRAME.size
        while len(data) - at >= size:
            (length,) = _FRAME.unpack_from(data, at)
            if len(data) - at - size < length:
                break  # the rest of this frame is still being written
            yield marshal.loads(data[at + size : at + size + length])
            at += size + length
        self.pending = data[at:]


def _wait_byte(pipe: int, timeout: float) -> bytes:
    """The child's last byte; b"" while it still walks, _DIED when it exited without one."""
    poller = select.poll()
    poller.register(pipe, select.POLLIN)
    if not poller.poll(max(1, int(timeout * 1000))):
        return b""
    return os.read(pipe, 1) or _DIED


def _reap(pid: int) -> None:
    """waitpid, bounded: a killed child exits at once, unless stuck in the kernel."""
    for _ in range(100):
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0]:
                return
            time.sleep(0.005)
            continue
        return
