"""Server-side rules and the inspect verdict, fed with the sockets of the captured dumps
(fixtures/sockdiag: listeners on 127.0.0.1:5433, 0.0.0.0:8080, [::]:8443 v6-only, dual-stack
*:9000, [::1]:6379, a full accept queue on 127.0.0.1:7000, three CLOSE-WAIT on 8080)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from netdx.budget import Deadline
from netdx.netlink.diag import DiagSocket, parse_datagram
from netdx.sockets.dump import ReplayDumpSource
from netdx.sockets.findings import (
    PortView,
    accepts,
    close_wait_leak,
    evaluate,
    is_loopback,
    time_wait_churn,
)
from netdx.sockets.inspect import (
    INSPECT_SCHEMA,
    build_view,
    inspect_local,
    judge,
    listen_overflows,
)
from netdx.sockets.model import Owner, OwnerScan
from netdx.sockets.render import inspect_document, inspect_text

FIXTURES = Path(__file__).parent / "fixtures" / "sockdiag"


def captured(*cases: str) -> list[DiagSocket]:
    """The sockets of captured dumps."""
    out: list[DiagSocket] = []
    for case in cases:
        proto = "udp" if case.startswith("udp") else "tcp"
        for line in (FIXTURES / f"{case}.hex").read_text().splitlines():
            if line.startswith("< "):
                out += parse_datagram(bytes.fromhex(line[2:]), proto).sockets
    return out


SOCKETS = captured("tcp4_all", "tcp6_all")


def view(port: int, **changes: object) -> PortView:
    """The view of one port over every captured TCP socket."""
    return replace(build_view(port, SOCKETS), **changes)  # type: ignore[arg-type]


def causes(port: int, **changes: object) -> list[str]:
    """The causes every rule finds for a port."""
    return [f.cause for f in evaluate(view(port, **changes))]


def test_nothing_listening_is_refused_and_names_the_nearby_listener() -> None:
    """Port 5432 has no listener; the verdict names the loopback listener on 5433 instead."""
    result = judge(view(5432))
    assert result.verdict.cause == "port.refused"
    assert "nothing listens on :5432" in result.verdict.summary
    assert "listens on 127.0.0.1:5433" in result.verdict.summary


def test_loopback_listener_is_loopback_only() -> None:
    """A listener on 127.0.0.1:5433 only refuses every remote client: service.loopback_only."""
    result = judge(view(5433))
    assert result.verdict.cause == "service.loopback_only"
    assert result.verdict.evidence == (
        "a process of uid 0 (owner unknown) listens on 127.0.0.1:5433",
    )


def test_loopback_listener_is_fine_for_a_loopback_client() -> None:
    """For a client connecting to 127.0.0.1 the same listener is healthy."""
    assert judge(view(5433, address="127.0.0.1")).verdict.cause == "ok"


def test_loopback_v4_listener_refuses_the_v6_loopback() -> None:
    """`localhost` → ::1 first: a 127.0.0.1-only listener refuses it."""
    result = judge(view(5433, address="::1"))
    assert result.verdict.cause == "port.refused"
    assert "[::1]:5433" in result.verdict.summary


def test_v4_only_listener_is_a_warning() -> None:
    """0.0.0.0:8080 serves IPv4 only: a warning, and the verdict stays on the real problem."""
    assert "service.ipv4_only_listener" in causes(8080)


def test_v6_only_listener_is_a_warning_and_refuses_v4_clients() -> None:
    """[::]:8443 with IPV6_V6ONLY: IPv6-only warning; a client on 127.0.0.1 is refused."""
    assert causes(8443) == ["service.ipv6_only_listener"]
    assert judge(view(8443, address="127.0.0.1")).verdict.cause == "port.refused"
    assert judge(view(8443, address="::1")).verdict.cause == "ok"


def test_dual_stack_listener_has_no_family_warning() -> None:
    """A [::] socket with v6only off serves both families: nothing to say."""
    result = judge(view(9000))
    assert result.verdict.cause == "ok" and result.findings == ()
    assert "*:9000" in result.verdict.summary


def test_full_accept_queue() -> None:
    """Recv-Q 2 over backlog 1 on 127.0.0.1:7000: app.accept_queue_full with the numbers."""
    found = {f.cause: f for f in evaluate(view(7000, address="127.0.0.1", listen_overflows=3))}
    finding = found["app.accept_queue_full"]
    assert "(2 of 1)" in finding.summary
    assert "TcpExtListenOverflows 3 (nstat -az)" in finding.evidence


def test_close_wait_below_threshold_is_quiet_and_growth_is_a_leak() -> None:
    """Three CLOSE-WAIT are not a leak alone, but are when a moment ago there were two."""
    assert close_wait_leak(view(8080)) is None
    assert close_wait_leak(view(8080, close_wait_threshold=3)) is not None
    grown = close_wait_leak(view(8080, earlier_close_wait=2))
    assert grown is not None and "2 a moment before: growing" in grown.evidence


def test_close_wait_leak_names_the_process_and_the_peer() -> None:
    """The leak finding names the owning process and the peer address."""
    waiting = [s for s in SOCKETS if s.state_name == "CLOSE-WAIT"]
    owner = Owner(pid=901, command="leaky", user="app", uid=1000, fd=7)
    scan = OwnerScan.of({s.inode: (owner._replace(fd=7 + i),) for i, s in enumerate(waiting)})
    finding = close_wait_leak(view(8080, owners=scan, close_wait_threshold=3))
    assert finding is not None
    assert finding.summary.startswith("leaky (pid 901, user app) holds 3 CLOSE-WAIT sockets")
    assert "peers: 127.0.0.1" in finding.summary


def test_time_wait_churn_is_normal_and_names_the_side() -> None:
    """Many TIME-WAIT sockets: a warning that says normal, and which side closed first."""
    [tw] = [s for s in SOCKETS if s.state_name == "TIME-WAIT"]
    many = tuple(tw._replace(sport=40000 + i) for i in range(60))
    finding = time_wait_churn(view(8080, connections=many))
    assert finding is not None and finding.severity == "warn"
    assert finding.cause == "app.time_wait_churn"
    assert "normal churn" in finding.summary
    assert finding.evidence == ("60 where this host, as the client from 127.0.0.1, closed first",)


def test_address_helpers() -> None:
    """Loopback includes v4-mapped 127/8; a dual-stack [::] accepts IPv4, a v6-only one not."""
    assert is_loopback("127.3.0.1") and is_loopback("::ffff:127.0.0.1") and is_loopback("::1")
    assert not is_loopback("10.0.0.1")
    by_port = {s.sport: s for s in SOCKETS if s.state_name == "LISTEN"}
    assert accepts(by_port[9000], "10.1.2.3") and not accepts(by_port[8443], "10.1.2.3")
    assert accepts(by_port[8080], "192.0.2.1") and not accepts(by_port[8080], "2001:db8::1")


def test_inspect_document_has_check_verdict_shape() -> None:
    """The JSON has schema netdx.inspect/1 and the verdict keys of netdx.check/1."""
    doc = inspect_document(judge(view(5433)))
    assert doc["schema"] == INSPECT_SCHEMA
    assert set(doc["verdict"]) == {"layer", "cause", "summary", "evidence", "fix", "warnings"}
    assert doc["verdict"]["layer"] == "service"
    assert doc["listeners"][0]["local"] == "127.0.0.1:5433"
    json.dumps(doc)


def test_inspect_text_starts_with_the_verdict() -> None:
    """The text output leads with the port and the cause, then the summary."""
    lines = inspect_text(judge(view(7000))).splitlines()
    assert lines[0] == "port 7000: service.loopback_only"
    assert any(line.startswith("  warning [app.accept_queue_full]") for line in lines)


@pytest.mark.parametrize(("text", "value"), [("TcpExt: A ListenOverflows\nTcpExt: 1 17\n", 17),
                                             ("IpExt: A\nIpExt: 1\n", None)])  # fmt: skip
def test_listen_overflows_reads_netstat(tmp_path: Path, text: str, value: int | None) -> None:
    """TcpExtListenOverflows comes from the TcpExt lines of /proc/net/netstat."""
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "netstat").write_text(text)
    assert listen_overflows(str(tmp_path)) == value


def test_inspect_local_over_a_replayed_kernel(tmp_path: Path) -> None:
    """The I/O wrapper over captured dumps and an empty /proc: the listeners of both
    families, the connections of the port, and a note-free verdict with its warning."""
    cases = ("tcp4_listen", "tcp6_listen", "tcp4_port_8080", "tcp6_ports_8443_9000")
    replies = [replies_of(case) for case in cases]
    (tmp_path / "self" / "ns").mkdir(parents=True)
    (tmp_path / "self" / "ns" / "net").write_text("")
    result = inspect_local(
        8080, deadline=Deadline.after(5), source=ReplayDumpSource(replies), proc=str(tmp_path)
    )
    assert result.verdict.cause == "ok"
    assert [w.cause for w in result.verdict.warnings] == ["service.ipv4_only_listener"]
    assert dict(result.states) == {"CLOSE-WAIT": 3, "ESTAB": 2, "FIN-WAIT-2": 3, "TIME-WAIT": 1}
    assert [s.local for s in result.listeners] == ["0.0.0.0:8080"]
    assert result.notes == ()


def replies_of(case: str) -> list[bytes]:
    """The reply datagrams of one captured case."""
    lines = (FIXTURES / f"{case}.hex").read_text().splitlines()
    return [bytes.fromhex(x[2:]) for x in lines if x.startswith("< ")]
