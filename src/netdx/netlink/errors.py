"""The netlink exception tree. A kernel error reply (NLMSG_ERROR) is data (`ErrorAck`), not
an exception; these are for bytes that cannot be parsed and for a socket that failed.

    NetlinkError
    ├── NetlinkParseError   malformed or truncated bytes (the only error a parser raises)
    └── NetlinkIOError      the socket failed (`errno_name` says how)
        ├── NetlinkTimeout  no complete answer before the timeout
        └── NetlinkKernelError  an unexpected NLMSG_ERROR where data was needed
"""

from __future__ import annotations

import errno as _errno
import os as _os


class NetlinkError(Exception):
    """Base of every error the netlink package raises."""


class NetlinkParseError(NetlinkError):
    """Bytes that are not a well-formed netlink message, attribute or struct."""


class NetlinkIOError(NetlinkError):
    """The netlink socket could not send or receive."""

    def __init__(self, message: str, *, errno_code: int) -> None:
        super().__init__(message)
        self.errno_code = errno_code

    @property
    def errno_name(self) -> str:
        """The symbolic errno name (ETIMEDOUT, EPERM, ...)."""
        return errno_name(self.errno_code)


class NetlinkTimeout(NetlinkIOError):
    """No complete reply arrived before the timeout."""

    def __init__(self, message: str = "netlink reply timed out") -> None:
        super().__init__(message, errno_code=_errno.ETIMEDOUT)


class NetlinkKernelError(NetlinkIOError):
    """The kernel answered a request with an error the caller cannot turn into data."""


# The one errno → text table of netdx (stdlib-only here, because this package is shipped to
# servers): the symbolic name, and the sentence for an OSError. Probes import these.


def errno_name(code: int) -> str:
    """`errno.errorcode` name of a positive errno, or `E<n>` for an unknown number."""
    return _errno.errorcode.get(code, f"E{code}")


def os_error_name(exc: OSError) -> str:
    """The errno field of a probe's answer: `ECONNREFUSED`, `E<n>` for a number the table
    does not know, or the exception's class name (`OSError`) when it carries no errno. Always
    a short word, so the judging side's length checks of an errno field hold."""
    if not exc.errno:
        return type(exc).__name__
    return errno_name(exc.errno)


def os_error_text(exc: OSError) -> str:
    """`connection refused (ECONNREFUSED)`: the strerror text and the name, or the
    exception's own text when it carries no known errno."""
    name = _errno.errorcode.get(exc.errno or 0)
    if name is None:
        return str(exc) or type(exc).__name__
    return f"{_os.strerror(exc.errno or 0).lower()} ({name})"
