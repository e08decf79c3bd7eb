"""--source / --interface: validated up front (exit 2), applied to the probes' sockets and
asked of the route lookup."""

from __future__ import annotations

import socket
import struct

import pytest

from netdx.errors import UsageError
from netdx.netlink.rtnl import route_get_request
from netdx.probes.bind import Binding, apply_binding, bind_socket, current_binding, validate_binding
from netdx.start import main


def test_no_option_is_no_binding() -> None:
    """Without either option nothing is bound and the kernel chooses as before."""
    assert validate_binding(None, None) is None


@pytest.mark.parametrize(
    ("source", "interface", "message"),
    [
        ("192.0.2.77", None, "no such address"),
        ("not-an-ip", None, "not an IP address"),
        (None, "ndx-nosuch0", "no such interface"),
    ],
)
def test_bad_source_or_interface_is_a_usage_error(
    source: str | None, interface: str | None, message: str
) -> None:
    """A source this host lacks (no IP_FREEBIND), a non-address or an unknown device is
    refused before any probe."""
    with pytest.raises(UsageError, match=message):
        validate_binding(source, interface)


def test_check_with_a_foreign_source_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`netdx check ... --source ADDR-NOT-HERE` is bad input: one line on stderr, exit 2."""
    assert main(["check", "127.0.0.1:9", "--source", "192.0.2.77"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "192.0.2.77" in err[0]


def test_trace_with_an_unknown_interface_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """`netdx trace ... -I IFACE` with no such interface is bad input: exit 2."""
    assert main(["trace", "127.0.0.1", "-I", "ndx-nosuch0"]) == 2
    assert "ndx-nosuch0" in capsys.readouterr().err


def test_bound_socket_sends_from_the_source_and_the_binding_is_scoped() -> None:
    """A socket opened under the binding is bound to the source address; outside the block
    there is no binding again."""
    binding = validate_binding("127.0.0.2", "lo")
    assert binding == Binding(source="127.0.0.2", interface="lo")
    with apply_binding(binding):
        assert current_binding() == binding
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            bind_socket(sock)
            assert sock.getsockname()[0] == "127.0.0.2"
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, 16).rstrip(
                b"\0"
            ) == b"lo"
    assert current_binding() is None


def test_route_request_asks_for_the_output_interface() -> None:
    """`ip route get ADDR oif DEV`: the request carries RTA_OIF (4) with the ifindex."""
    _, _, body = route_get_request("10.0.0.1", oif=7)
    assert struct.pack("=HHI", 8, 4, 7) in body
