"""The connect address tuple keeps an IPv6 scope (issue 10: `[fe80::1%eth0]:22` failed with
EINVAL because a 2-tuple drops the `%eth0`)."""

from __future__ import annotations

import errno
import socket

import pytest

from netdx.probes.tcp import sockaddr


def test_scoped_address_carries_the_interface_index() -> None:
    """`fe80::1%lo` and `fe80::1%<index>` become the 4-tuple with lo's index as scope id."""
    index = socket.if_nametoindex("lo")
    assert sockaddr("fe80::1%lo", 22) == ("fe80::1", 22, 0, index)
    assert sockaddr(f"fe80::1%{index}", 22) == ("fe80::1", 22, 0, index)


def test_unscoped_addresses_stay_two_tuples() -> None:
    """IPv4 and unscoped IPv6 addresses are unchanged."""
    assert sockaddr("10.0.0.1", 5432) == ("10.0.0.1", 5432)
    assert sockaddr("2001:db8::1", 443) == ("2001:db8::1", 443)


def test_unknown_interface_is_enodev() -> None:
    """A scope naming no interface is ENODEV (the connect's local error), not a crash."""
    with pytest.raises(OSError) as caught:
        sockaddr("fe80::1%ndx-none0", 22)
    assert caught.value.errno == errno.ENODEV
