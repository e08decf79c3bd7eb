"""Issue 10: `inspect --address` accepted an address that is not this host's; it is a
usage error now (exit 2, one line), and this host's addresses are still taken."""

from __future__ import annotations

import pytest

from netdx.cli import main
from netdx.sockets.cli import is_local_address


def test_loopback_is_local_and_a_foreign_address_is_not() -> None:
    """127.0.0.1 and ::1 bind here; 192.0.2.1 (TEST-NET-1) does not."""
    assert is_local_address("127.0.0.1")
    assert not is_local_address("192.0.2.1")


def test_inspect_with_a_foreign_address_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`netdx inspect --port 8080 --address 192.0.2.1`: exit 2, one line naming it."""
    assert main(["inspect", "--port", "8080", "--address", "192.0.2.1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "192.0.2.1 is not an address of this host" in err[0]
