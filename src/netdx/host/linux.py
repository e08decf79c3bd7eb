"""The few Linux calls Python 3.11 does not wrap (setns, unshare, mount, umount2), by ctypes.

Kept in one module so the flags and the errno translation live in one place. Each call
raises OSError with the errno the kernel gave, like the os module does.
"""

from __future__ import annotations

import ctypes
import os
from functools import lru_cache

CLONE_NEWNS = 0x00020000
CLONE_FS = 0x00000200
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_BIND = 4096
MS_REC = 16384
MS_SLAVE = 1 << 19
MNT_DETACH = 2


@lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def setns(fd: int, nstype: int) -> None:
    """Move the calling thread into the namespace open at `fd`."""
    _check(_libc().setns(fd, nstype), "setns")


def unshare(flags: int) -> None:
    """Give the calling thread private copies of the namespaces in `flags`."""
    _check(_libc().unshare(flags), "unshare")


def mount(source: str, target: str, fstype: str, flags: int) -> None:
    """mount(2) without data."""
    _check(
        _libc().mount(
            source.encode(), target.encode(), fstype.encode(), ctypes.c_ulong(flags), None
        ),
        f"mount {target}",
    )


def umount2(target: str, flags: int) -> None:
    """umount2(2)."""
    _check(_libc().umount2(target.encode(), flags), f"umount {target}")
