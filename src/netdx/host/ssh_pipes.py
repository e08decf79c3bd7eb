"""One ssh process seen through asyncio's low-level subprocess API, every wait bounded.

Why not `asyncio.create_subprocess_exec`: its `Process.wait()` returns only once every pipe
is closed, and with connection sharing the ssh master holds the client's stdio (the mux
client hands its descriptors over), so a killed client's pipes can stay open for as long as
the master likes. Here the exit is known from `process_exited`, and `close()` closes our
ends of the pipes, kills the process by its pid if it still runs, and never waits on them.
"""

from __future__ import annotations

import asyncio
import contextlib

from netdx.budget import Deadline

STDERR_LIMIT = 64 * 1024


class LineTooLong(ValueError):
    """A line of output longer than the limit."""


class SshPipes(asyncio.SubprocessProtocol):
    """Collects stdout (read line by line) and stderr (kept, capped) of one process."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._out = bytearray()
        self._out_closed = False
        self._changed = asyncio.Event()
        self.stderr = bytearray()
        self.exited = asyncio.Event()
        self.transport: asyncio.SubprocessTransport | None = None

    # asyncio's callbacks.
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.SubprocessTransport)
        self.transport = transport

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd == 1:
            self._out += data
            self._changed.set()
        elif len(self.stderr) < STDERR_LIMIT:
            self.stderr += data[: STDERR_LIMIT - len(self.stderr)]

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == 1:
            self._out_closed = True
            self._changed.set()

    def process_exited(self) -> None:
        self.exited.set()
        self._changed.set()

    # What the session uses.
    @property
    def returncode(self) -> int | None:
        return None if self.transport is None else self.transport.get_returncode()

    async def readline(self, deadline: Deadline) -> bytes:
        """The next line of stdout; b"" at its end; TimeoutError at the deadline."""
        while True:
            end = self._out.find(b"\n")
            if end >= 0:
                line = bytes(self._out[: end + 1])
                del self._out[: end + 1]
                return line
            if len(self._out) > self._limit:
                raise LineTooLong(f"a line longer than {self._limit} bytes")
            if self._out_closed:
                return b""
            self._changed.clear()
            async with asyncio.timeout_at(_loop_time(deadline)):
                await self._changed.wait()

    def write(self, data: bytes) -> bool:
        """Write to stdin (buffered by asyncio); False when it is closed."""
        pipe = self._stdin()
        if pipe is None or pipe.is_closing():
            return False
        pipe.write(data)
        return True

    def end_input(self) -> None:
        pipe = self._stdin()
        if pipe is not None:
            pipe.close()

    async def wait_exit(self, deadline: Deadline) -> bool:
        """Wait (until the deadline) for the process to exit; True when it did."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout_at(_loop_time(deadline)):
                await self.exited.wait()
        return self.exited.is_set()

    async def close(self) -> None:
        """Kill the process (SIGKILL to its pid) if it still runs, close our pipe ends."""
        if self.transport is None:
            return
        if not self.exited.is_set():
            with contextlib.suppress(ProcessLookupError):
                self.transport.kill()
            # SIGKILL cannot be caught: the exit is reported at once.
            await self.wait_exit(Deadline.after(5.0))
        self.transport.close()

    def _stdin(self) -> asyncio.WriteTransport | None:
        if self.transport is None:
            return None
        pipe = self.transport.get_pipe_transport(0)
        return pipe if isinstance(pipe, asyncio.WriteTransport) else None


def _loop_time(deadline: Deadline) -> float:
    """The deadline on the event loop's clock (both are time.monotonic on Linux, but the
    loop may be given another one)."""
    loop = asyncio.get_running_loop()
    return loop.time() + deadline.remaining()


async def start(argv: list[str], limit: int) -> SshPipes:
    """Start `argv` with three pipes; OSError when it cannot start."""
    loop = asyncio.get_running_loop()
    _, pipes = await loop.subprocess_exec(lambda: SshPipes(limit), *argv)
    return pipes
