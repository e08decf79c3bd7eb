"""The netdx exception tree. Network outcomes are evidence, never exceptions; these are for
bad input and for "netdx could not run".

    NetdxError
    ├── UsageError        bad input: one line on stderr, exit 2
    │   └── TargetError   a target that cannot be parsed
    └── CannotRun         netdx cannot run here (missing binary, no permission): exit 3
"""

from __future__ import annotations


class NetdxError(Exception):
    """Base of every error netdx raises on purpose."""

    exit_code = 3


class UsageError(NetdxError):
    """Bad usage or input."""

    exit_code = 2


class TargetError(UsageError):
    """A target that cannot be parsed."""


class CannotRun(NetdxError):
    """netdx cannot run at all here (a missing binary, no permission)."""

    exit_code = 3
