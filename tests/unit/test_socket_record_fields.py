"""The wire record of a sock_diag dump is the evidence record of a socket: one declaration
(`netlink.tables.DiagSocket`, a NamedTuple for 100k-socket dumps) that the model holds and the
codec rebuilds like a dataclass."""

from __future__ import annotations

import json

import pytest

from netdx.model.codec import CodecError, from_data, to_data
from netdx.model.server import ServerEvidence, Socket
from netdx.netlink.diag import DiagSocket


def _listener() -> DiagSocket:
    return DiagSocket(
        proto="tcp", family=10, state=10, src="::", sport=5432, dst="::", dport=0,
        ifindex=0, rqueue=0, wqueue=128, uid=0, inode=4242, v6only=False,
    )  # fmt: skip


def test_a_wire_record_is_evidence_as_it_is() -> None:
    """A dump entry goes into ServerEvidence unconverted and prints as ss does."""
    entry = _listener()
    server = ServerEvidence(port=5432, listeners=(entry,))
    assert isinstance(server.listeners[0], Socket)
    sock = server.listeners[0]
    assert (sock.state_name, sock.local, sock.remote) == ("LISTEN", "*:5432", "*:*")


def test_the_socket_record_round_trips_through_json_by_field_name() -> None:
    """The codec writes the NamedTuple as an object of its fields (not a list) and rebuilds
    an equal ServerEvidence from the JSON text."""
    server = ServerEvidence(port=5432, listeners=(_listener(),))
    data = json.loads(json.dumps(to_data(server)))
    assert data["listeners"][0]["wqueue"] == 128 and data["listeners"][0]["v6only"] is False
    back = from_data(ServerEvidence, data)
    assert back == server and type(back.listeners[0]) is DiagSocket


def test_a_socket_with_an_unknown_field_is_refused() -> None:
    """Data with a field the record does not have is a CodecError, as for a dataclass."""
    data = to_data(_listener())
    data["colour"] = "red"
    with pytest.raises(CodecError, match="unknown field"):
        from_data(Socket, data)
