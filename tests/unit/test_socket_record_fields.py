"""The wire record of a sock_diag dump and the evidence record of a socket list the same fields:
they are declared twice on purpose (a NamedTuple for 100k-socket dumps, a frozen dataclass for
the codec), and `probes.server` turns one into the other by field name."""

from __future__ import annotations

import dataclasses

from netdx.model.server import Socket
from netdx.netlink.diag import DiagSocket


def test_evidence_socket_has_the_wire_records_fields_in_order() -> None:
    """Socket's fields are DiagSocket's, same names, same order: a field added to one side
    only would break `Socket(**entry._asdict())` on the first server read."""
    assert tuple(f.name for f in dataclasses.fields(Socket)) == DiagSocket._fields


def test_a_wire_record_becomes_evidence_unchanged() -> None:
    """A dump entry converted the way probes.server does keeps every value and prints as ss."""
    entry = DiagSocket(
        proto="tcp", family=10, state=10, src="::", sport=5432, dst="::", dport=0,
        ifindex=0, rqueue=0, wqueue=128, uid=0, inode=4242, v6only=False,
    )  # fmt: skip
    sock = Socket(**entry._asdict())
    assert tuple(getattr(sock, name) for name in DiagSocket._fields) == tuple(entry)
    assert (sock.state_name, sock.local, sock.remote) == ("LISTEN", "*:5432", "*:*")
