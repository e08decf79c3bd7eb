"""`FakeHost`: a Host with canned answers, shipped for tests (like httpx's MockTransport)."""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable, Mapping, Sequence

from netdx.collect.system import DEFAULT_LIMIT, RunResult

SocketFactory = Callable[[int, int, int], socket.socket]


class FakeHost:
    """Answers from tables: `commands` maps an argv tuple to its result (a string is the
    stdout of a command that exited 0); `files` maps a path to its text, or to the OSError
    reading it raises; `sockets` opens sockets (default: none, EPERM as for an unprivileged
    user). An argv not in the table is a program that does not exist there. Every call is
    recorded in `calls` as (primitive, argument) so tests can check what was asked."""

    def __init__(
        self,
        *,
        commands: Mapping[tuple[str, ...], RunResult | str] | None = None,
        files: Mapping[str, str | OSError] | None = None,
        sockets: SocketFactory | None = None,
        netns_file: str = "/proc/self/ns/net",
    ) -> None:
        self._commands = dict(commands or {})
        self._files = dict(files or {})
        self._sockets = sockets
        self.netns_file = netns_file
        self.calls: list[tuple[str, object]] = []

    def run(self, argv: Sequence[str], *, timeout: float) -> RunResult:
        """The canned result of `argv`, or 'not found'."""
        key = tuple(argv)
        self.calls.append(("run", key))
        answer = self._commands.get(key)
        if answer is None:
            return RunResult(error=f"{key[0]}: not found", missing=True, argv=key)
        if isinstance(answer, str):
            return RunResult(returncode=0, stdout=answer, argv=key)
        return answer

    def read_text(self, path: str, *, limit: int = DEFAULT_LIMIT) -> str:
        """The canned text of `path` (cut at `limit` characters), or its canned OSError."""
        self.calls.append(("read_text", path))
        answer = self._files.get(path)
        if answer is None:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
        if isinstance(answer, OSError):
            raise answer
        return answer[:limit]

    def socket(self, family: int, kind: int, proto: int = 0) -> socket.socket:
        """A socket from the factory, else EPERM."""
        self.calls.append(("socket", (family, kind, proto)))
        if self._sockets is None:
            raise PermissionError(errno.EPERM, "Operation not permitted (FakeHost)")
        return self._sockets(family, kind, proto)
