"""`netdx inspect` without a kernel: the server read over replayed sock_diag dumps and an
empty /proc, the verdict of the one picker, and its text and JSON (the verdict in check's
contract)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netdx.budget import Deadline
from netdx.host.fake import FakeHost
from netdx.model.server import TCP_LISTEN, ServerEvidence, Socket
from netdx.netlink.diag import parse_datagram
from netdx.netlink.fake import ReplayTransport
from netdx.probes.server import listen_overflows, read_server_now
from netdx.render.json import verdict_document
from netdx.sockets.inspect import INSPECT_SCHEMA, inspect_evidence, inspect_local
from netdx.sockets.render import inspect_document, inspect_text

FIXTURES = Path(__file__).parent / "fixtures" / "sockdiag"
PROC_NET = Path(__file__).parent / "fixtures" / "proc_net"  # captured real /proc/net files


def replies_of(case: str) -> list[bytes]:
    """The reply datagrams of one captured case."""
    lines = (FIXTURES / f"{case}.hex").read_text().splitlines()
    return [bytes.fromhex(x[2:]) for x in lines if x.startswith("< ")]


def listening(port: int) -> ServerEvidence:
    """The evidence of `port` over the captured listeners of both families."""
    socks = [
        Socket(**s._asdict())
        for case in ("tcp4_all", "tcp6_all")
        for data in replies_of(case)
        for s in parse_datagram(data, "tcp").sockets
    ]
    return ServerEvidence(
        port=port,
        listeners=tuple(s for s in socks if s.state == TCP_LISTEN and s.sport == port),
        connections=tuple(s for s in socks if s.state != TCP_LISTEN and port in (s.sport, s.dport)),
    )


def empty_proc(tmp_path: Path) -> str:
    """A /proc with only our own network namespace link (no process holds anything)."""
    (tmp_path / "self" / "ns").mkdir(parents=True)
    (tmp_path / "self" / "ns" / "net").write_text("")
    return str(tmp_path)


def test_inspect_document_uses_the_one_verdict_contract() -> None:
    """The JSON has schema netdx.inspect/1 and the verdict exactly as render.json writes
    check's; the listeners keep the socket objects of `netdx sockets --json`."""
    result = inspect_evidence(listening(5433))
    doc = inspect_document(result)
    assert doc["schema"] == INSPECT_SCHEMA
    assert doc["verdict"] == verdict_document(result.verdict)
    assert doc["verdict"]["layer"] == "service"
    assert doc["listeners"][0]["local"] == "127.0.0.1:5433"
    assert doc["listeners"][0]["process"] is None
    json.dumps(doc)


def test_inspect_text_starts_with_the_verdict() -> None:
    """The text output leads with the port and the cause, then the summary."""
    lines = inspect_text(inspect_evidence(listening(7000))).splitlines()
    assert lines[0] == "port 7000: service.loopback_only"
    assert any(line.startswith("  warning [app.accept_queue_full]") for line in lines)


@pytest.mark.parametrize(("text", "value"), [("TcpExt: A ListenOverflows\nTcpExt: 1 17\n", 17),
                                             ("IpExt: A\nIpExt: 1\n", None)])  # fmt: skip
def test_listen_overflows_reads_netstat(text: str, value: int | None) -> None:
    """TcpExtListenOverflows comes from the TcpExt lines of /proc/net/netstat, read through
    the host."""
    assert listen_overflows(FakeHost(files={"/proc/net/netstat": text})) == value


CASES = ("tcp4_listen", "tcp6_listen", "tcp4_port_8080", "tcp6_ports_8443_9000")


def test_read_server_records_without_judging(tmp_path: Path) -> None:
    """The probe over replayed dumps records the listeners of the port, its connections and
    every other listener, and no owner (an empty /proc); it makes no finding."""
    source = ReplayTransport([replies_of(case) for case in CASES])
    host = FakeHost(files={"/proc/net/netstat": (PROC_NET / "netstat").read_text()})
    server = read_server_now(
        "10.0.0.5", 8080, deadline=Deadline.after(5), source=source, proc=empty_proc(tmp_path),
        host=host,
    )  # fmt: skip
    assert server.address == "10.0.0.5" and server.error is None
    assert server.listen_overflows == 10  # the captured netstat's, read through the host
    assert [s.local for s in server.listeners] == ["0.0.0.0:8080"]
    assert sorted({s.state_name for s in server.connections}) == [
        "CLOSE-WAIT", "ESTAB", "FIN-WAIT-2", "TIME-WAIT",
    ]  # fmt: skip
    assert 5433 in {s.sport for s in server.other_listeners}
    assert server.processes == () and server.holders == () and server.notes == ()


def test_inspect_local_over_a_replayed_kernel(tmp_path: Path) -> None:
    """The I/O wrapper over captured dumps and an empty /proc: the listeners of both
    families, the connections of the port, and a note-free verdict with its warning."""
    source = ReplayTransport([replies_of(case) for case in CASES])
    result = inspect_local(
        8080, deadline=Deadline.after(5), source=source, proc=empty_proc(tmp_path)
    )
    assert result.verdict.cause == "ok"
    assert [w.cause for w in result.verdict.warnings] == ["service.ipv4_only_listener"]
    assert dict(result.states) == {"CLOSE-WAIT": 3, "ESTAB": 2, "FIN-WAIT-2": 3, "TIME-WAIT": 1}
    assert [s.local for s in result.listeners] == ["0.0.0.0:8080"]
    assert result.notes == ()
