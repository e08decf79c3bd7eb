"""Reading a file the user names (a snapshot, a flows file, root hints): regular files only,
with a size cap, so /dev/zero cannot fill memory and a FIFO cannot hang the command."""

from __future__ import annotations

import os
import stat

from netdx.errors import UsageError

MIB = 1 << 20


def read_user_file(path: str | os.PathLike[str], *, what: str, limit: int = 64 * MIB) -> str:
    """The UTF-8 text of the regular file `path`; a UsageError naming `what` and the path
    when it is missing, not a regular file (a FIFO, a device, a directory), larger than
    `limit` bytes, or not UTF-8."""
    shown = os.fspath(path)
    try:
        # O_NONBLOCK: opening a FIFO with no writer would otherwise wait for one forever.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise UsageError(f"{what} {shown!r}: {exc.strerror or exc}") from None
    # Checked before fdopen, which refuses a directory with IsADirectoryError of its own.
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UsageError(f"{what} {shown!r}: not a regular file")
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise UsageError(f"{what} {shown!r}: larger than {limit // MIB} MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{what} {shown!r}: not UTF-8 text (byte {exc.start})") from None
