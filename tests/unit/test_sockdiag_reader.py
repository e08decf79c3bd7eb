"""The dump's reader thread (`collect.sockdiag._received`) hands datagrams over in order,
never runs more than `_AHEAD` datagrams ahead of its caller, and raises the source's
error in the caller."""

from __future__ import annotations

import time

import pytest

from netdx.budget import Deadline
from netdx.collect import sockdiag
from netdx.netlink import NetlinkIOError


class Endless:
    """A source that never ends its dump: datagram n is b"n" (never an NLMSG_DONE)."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.received, self.fail_at = 0, fail_at

    def receive(self, timeout: float) -> bytes:
        if self.received == self.fail_at:
            raise NetlinkIOError("netlink recv: boom", errno_code=5)
        self.received += 1
        return str(self.received).encode()


def test_reader_is_bounded_and_in_order() -> None:
    """Three datagrams taken in order; the reader stops at `_AHEAD` more than were taken."""
    source = Endless()
    got = sockdiag._received(source, None, Deadline.after(5))  # type: ignore[arg-type]
    assert [next(got) for _ in range(3)] == [b"1", b"2", b"3"]
    guard = Deadline.after(2)
    while source.received < 3 + sockdiag._AHEAD and guard.remaining() > 0:
        time.sleep(0.01)
    time.sleep(0.05)  # it would run on now if it were not bounded
    assert source.received == 3 + sockdiag._AHEAD


def test_reader_error_is_raised_in_the_caller() -> None:
    """The source's error after two datagrams reaches the caller after those two."""
    got = sockdiag._received(Endless(fail_at=2), None, Deadline.after(5))  # type: ignore[arg-type]
    assert [next(got), next(got)] == [b"1", b"2"]
    with pytest.raises(NetlinkIOError):
        next(got)
