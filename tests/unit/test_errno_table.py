"""The one errno → text table (netdx.netlink.errors): its names, and that the probes of the
collector core and the DNS flights write errno fields through it, with one fallback."""

from __future__ import annotations

import ast
import errno
import socket
from pathlib import Path
from typing import Any

import pytest

from netdx.collect import probe, probe_http
from netdx.collect.clock import Deadline
from netdx.netlink.errors import errno_name, os_error_name, os_error_text

SRC = Path(__file__).resolve().parents[2] / "src" / "netdx"


@pytest.mark.parametrize(
    ("exc", "name"),
    [
        (OSError(errno.ECONNREFUSED, "Connection refused"), "ECONNREFUSED"),
        (PermissionError(errno.EPERM, "Operation not permitted"), "EPERM"),
        (OSError(4000, "made up"), "E4000"),  # a number the table does not know
        (OSError("no errno at all"), "OSError"),  # no errno: the class, never "None" or ""
        (TimeoutError(), "TimeoutError"),
    ],
)
def test_os_error_name(exc: OSError, name: str) -> None:
    """An OSError's errno field is its name, `E<n>` for an unknown number, or its class name
    when it has no errno: always a short word."""
    assert os_error_name(exc) == name
    if exc.errno:  # the name is the table's own
        assert errno_name(exc.errno) == name


def test_os_error_text_uses_the_same_names() -> None:
    """The sentence for an OSError ends in the name os_error_name gives it."""
    exc = OSError(errno.EHOSTUNREACH, "x")
    assert os_error_text(exc) == f"no route to host ({os_error_name(exc)})"


def test_only_the_table_reads_errno_errorcode() -> None:
    """No module of netdx but netlink/errors.py reads `errno.errorcode` with a fallback of its
    own: every errno → text goes through the one table."""
    readers = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        if any(isinstance(n, ast.Attribute) and n.attr == "errorcode" for n in ast.walk(tree)):
            readers.append(path.relative_to(SRC).as_posix())
    assert readers == ["netlink/errors.py"]


class _NoSockets:
    """A host whose socket() fails with a given OSError (the collector's Host protocol, cut
    to the one primitive these paths call)."""

    def __init__(self, exc: OSError) -> None:
        self.exc = exc

    def socket(self, *args: Any) -> socket.socket:
        raise self.exc


@pytest.mark.parametrize(
    ("exc", "name"),
    [(OSError(errno.EMFILE, "Too many open files"), "EMFILE"), (OSError("odd"), "OSError")],
)
def test_probe_errno_fields_use_the_table(exc: OSError, name: str) -> None:
    """The TCP connect's open_error, the egress test's errno and the HTTP probe's failure
    all name the same OSError the same way."""
    host: Any = _NoSockets(exc)
    tcp = probe._connect(host, "127.0.0.1", 9, Deadline.after(1.0))
    assert tcp["open_error"] == name
    assert probe._egress(host, "127.0.0.1", 9) == {"sent": False, "stage": "open", "errno": name}
    assert probe_http.failure(exc)["errno"] == name
