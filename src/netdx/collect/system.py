"""The collector's one I/O seam: run a fixed argv, read a capped text file, open a socket.

`Host` is the Protocol every collector is written against; `LocalHost` is this machine as
it is. `netdx.host` re-exports both and adds `NetnsHost` (the same primitives inside a named
network namespace) and `FakeHost` (canned answers for tests). They are defined here, not in
`netdx.host`, because this package is shipped alone to a server and run by a bare
`python3 -I -S`: it may import only the standard library and `netdx.netlink`.

Python 3.9 compatible on purpose (the oldest python3 a server may have): no `slots=` or
`kw_only=` dataclasses, no `match`, no `zip(strict=)`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from netdx.netlink import csocket as socket  # socket.py without its enums (csocket says why)
from netdx.netlink._compat import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol
else:  # typing's costs a check 5-10 ms; nothing is checked against these at run time
    Protocol = object

# A /proc or /sys text file bigger than this is not one netdx reads (netstat is ~3 KiB).
DEFAULT_LIMIT = 1 << 20
# Output of one command is capped too: a 10,000-rule nft JSON ruleset is about 4 MiB.
OUTPUT_LIMIT = 64 << 20


@dataclass(frozen=True)
class RunResult:
    """What one command did: its exit status and output, or why it could not run.

    `returncode` is None exactly when the command did not run to an exit status, and then
    `error` says why in a few words ("nft: not found", "timed out after 2.0 s"); `missing`
    says the program does not exist on that host (an absent optional tool is no error).
    """

    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""
    error: str | None = None
    missing: bool = False
    argv: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the command ran and exited 0."""
        return self.returncode == 0

    def why(self) -> str:
        """One line saying why the command failed ('' when it did not)."""
        if self.error is not None:
            return self.error
        if self.returncode == 0:
            return ""
        lines = self.stderr.strip().splitlines()
        return lines[-1] if lines else f"exit status {self.returncode}"


class Budget(Protocol):
    """What a collector needs of a deadline (`netdx.budget.Deadline` is one)."""

    def remaining(self) -> float:
        """Seconds left, never negative."""
        ...


class Host(Protocol):
    """Where commands, files and sockets are reached: this machine, a network namespace,
    or (later) a server over SSH. Kept to three primitives so each transport stays small."""

    @property
    def netns_file(self) -> str:
        """A file whose stat (st_dev, st_ino) names this host's network namespace."""
        ...

    def run(self, argv: Sequence[str], *, timeout: float) -> RunResult:
        """Run a fixed argv (never a shell) for at most `timeout` seconds."""
        ...

    def read_text(self, path: str, *, limit: int = DEFAULT_LIMIT) -> str:
        """At most `limit` bytes of a text file under /proc or /sys; raises OSError."""
        ...

    def socket(self, family: int, kind: int, proto: int = 0) -> socket.socket:
        """A new socket (netlink included) in this host's network namespace; raises OSError."""
        ...


class LocalHost:
    """This machine, in the namespaces this process is in."""

    netns_file = "/proc/self/ns/net"

    def run(self, argv: Sequence[str], *, timeout: float) -> RunResult:
        """Run `argv` with a timeout; a missing binary or a timeout is a result, not raised."""
        return run_argv(argv, timeout=timeout)

    def read_text(self, path: str, *, limit: int = DEFAULT_LIMIT) -> str:
        """The first `limit` bytes of `path`, decoded as UTF-8 (bad bytes replaced)."""
        return read_capped(path, limit)

    def socket(self, family: int, kind: int, proto: int = 0) -> socket.socket:
        """A close-on-exec socket."""
        return socket.socket(family, kind | socket.SOCK_CLOEXEC, proto)


def run_argv(argv: Sequence[str], *, timeout: float) -> RunResult:
    """The one place that starts a process: argv only, stdin closed, output capped."""
    import subprocess  # here: with locale, signal, threading ~5 ms a check may not need

    args = tuple(argv)
    if timeout <= 0:
        return RunResult(error="no time left to run it", argv=args)
    try:
        proc = subprocess.run(
            args,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        return RunResult(error=f"{args[0]}: not found", missing=True, argv=args)
    except PermissionError:
        return RunResult(error=f"{args[0]}: permission denied", argv=args)
    except subprocess.TimeoutExpired:
        return RunResult(error=f"timed out after {timeout:.1f} s", argv=args)
    except OSError as exc:
        return RunResult(error=f"{args[0]}: {exc.strerror or exc}", argv=args)
    return RunResult(
        returncode=proc.returncode,
        stdout=_text(proc.stdout[:OUTPUT_LIMIT]),
        stderr=_text(proc.stderr[:OUTPUT_LIMIT]),
        argv=args,
    )


def read_capped(path: str, limit: int) -> str:
    """Read at most `limit` bytes; /proc files report size 0, so read until EOF or limit."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        left = limit
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    return _text(b"".join(chunks))


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")
