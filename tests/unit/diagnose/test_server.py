"""The server-side rules of diagnose.server, fed `ServerEvidence` built from the sockets of
captured sock_diag dumps (fixtures/sockdiag: listeners on 127.0.0.1:5433, 0.0.0.0:8080,
[::]:8443 v6-only, dual-stack *:9000, [::1]:6379, a full accept queue on 127.0.0.1:7000,
three CLOSE-WAIT and one TIME-WAIT on 8080). No kernel, no /proc."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from netdx.diagnose import server as rules
from netdx.diagnose.engine import diagnose_server
from netdx.model.server import TCP_LISTEN, Process, ServerEvidence, Socket, SocketHolder
from netdx.netlink.diag import parse_datagram

SOCKDIAG = Path(__file__).parents[1] / "fixtures" / "sockdiag"


def captured(*cases: str) -> tuple[Socket, ...]:
    """The TCP sockets of captured dumps, as evidence values."""
    out: list[Socket] = []
    for case in cases:
        for line in (SOCKDIAG / f"{case}.hex").read_text().splitlines():
            if line.startswith("< "):
                chunk = parse_datagram(bytes.fromhex(line[2:]), "tcp")
                out += [Socket(**s._asdict()) for s in chunk.sockets]
    return tuple(out)


SOCKETS = captured("tcp4_all", "tcp6_all")


def read(port: int, **changes: object) -> ServerEvidence:
    """What probes.server records for `port` over every captured socket."""
    server = ServerEvidence(
        port=port,
        listeners=tuple(s for s in SOCKETS if s.state == TCP_LISTEN and s.sport == port),
        connections=tuple(
            s for s in SOCKETS if s.state != TCP_LISTEN and port in (s.sport, s.dport)
        ),
        other_listeners=tuple(s for s in SOCKETS if s.state == TCP_LISTEN and s.sport != port),
    )
    return replace(server, **changes)  # type: ignore[arg-type]


def causes(port: int, **changes: object) -> list[str]:
    """The causes every rule finds for a port, in RULES order."""
    return [f.cause for f in rules.evaluate(read(port, **changes))]


def verdict_cause(port: int, **changes: object) -> str:
    """The cause the one verdict picker chooses for the port."""
    return diagnose_server(read(port, **changes))[1].cause


def test_rules_are_listed_in_verdict_order() -> None:
    """The explicit tuple decides the verdict: refused, loopback, queue, leak, family, churn."""
    assert [r.__name__ for r in rules.RULES] == [
        "port_refused",
        "loopback_only",
        "accept_queue_full",
        "close_wait_leak",
        "single_family",
        "time_wait_churn",
    ]


def test_nothing_listening_is_refused_and_names_the_nearby_listener() -> None:
    """Port 5432 has no listener; the finding names the loopback listener on 5433 instead."""
    found = rules.port_refused(read(5432))
    assert found is not None and found.cause == "port.refused"
    assert "nothing listens on :5432" in found.summary
    assert "listens on 127.0.0.1:5433" in found.summary


def test_loopback_listener_is_loopback_only() -> None:
    """A listener on 127.0.0.1:5433 only refuses every remote client: service.loopback_only."""
    found = rules.loopback_only(read(5433))
    assert found is not None and found.severity == "fail"
    assert found.evidence == ("a process of uid 0 (owner unknown) listens on 127.0.0.1:5433",)
    assert rules.port_refused(read(5433)) is None  # loopback_only says it better


def test_loopback_listener_is_fine_for_a_loopback_client() -> None:
    """For a client connecting to 127.0.0.1 the same listener is healthy."""
    assert causes(5433, address="127.0.0.1") == []
    assert verdict_cause(5433, address="127.0.0.1") == "ok"


def test_loopback_v4_listener_refuses_the_v6_loopback() -> None:
    """`localhost` → ::1 first: a 127.0.0.1-only listener refuses it."""
    found = rules.port_refused(read(5433, address="::1"))
    assert found is not None and "[::1]:5433" in found.summary


def test_listener_owner_is_named() -> None:
    """With its owner read from /proc, the listener is named by command, pid and user."""
    [pg] = read(5433).listeners
    owned = read(
        5433,
        processes=(Process(pid=901, command="postgres", user="postgres", uid=26),),
        holders=(SocketHolder(inode=pg.inode, pid=901, fd=5),),
    )
    found = rules.loopback_only(owned)
    assert found is not None
    assert found.summary.startswith("postgres (pid 901, user postgres) listens on 127.0.0.1:5433")


def test_v4_only_listener_is_a_warning() -> None:
    """0.0.0.0:8080 serves IPv4 only: a warning, not a failure."""
    found = rules.single_family(read(8080))
    assert found is not None and found.cause == "service.ipv4_only_listener"
    assert found.severity == "warn"


def test_v6_only_listener_is_a_warning_and_refuses_v4_clients() -> None:
    """[::]:8443 with IPV6_V6ONLY: IPv6-only warning; a client on 127.0.0.1 is refused."""
    assert causes(8443) == ["service.ipv6_only_listener"]
    assert verdict_cause(8443, address="127.0.0.1") == "port.refused"
    assert verdict_cause(8443, address="::1") == "ok"


def test_dual_stack_listener_has_no_finding() -> None:
    """A [::] socket with v6only off serves both families: nothing to say."""
    findings, verdict = diagnose_server(read(9000))
    assert findings == () and verdict.cause == "ok"
    assert "*:9000" in verdict.summary


def test_full_accept_queue() -> None:
    """Recv-Q 2 over backlog 1 on 127.0.0.1:7000: app.accept_queue_full with the numbers."""
    found = rules.accept_queue_full(read(7000, address="127.0.0.1", listen_overflows=3))
    assert found is not None and "(2 of 1)" in found.summary
    assert "TcpExtListenOverflows 3 (nstat -az)" in found.evidence
    assert rules.accept_queue_full(read(8080)) is None


def test_close_wait_below_threshold_is_quiet_and_growth_is_a_leak() -> None:
    """Three CLOSE-WAIT are not a leak alone, but are when a moment ago there were two."""
    assert rules.close_wait_leak(read(8080)) is None
    assert rules.close_wait_leak(read(8080, earlier_close_wait=3)) is None
    grown = rules.close_wait_leak(read(8080, earlier_close_wait=2))
    assert grown is not None and "2 a moment before: growing" in grown.evidence


def test_close_wait_leak_names_the_process_and_the_peer() -> None:
    """A pile over the threshold is a leak; the finding names the owner and the peer."""
    [cw] = [s for s in SOCKETS if s.state_name == "CLOSE-WAIT"][:1]
    many = tuple(cw._replace(dport=50_000 + i, inode=5000 + i) for i in range(12))
    server = read(
        8080,
        connections=many,
        processes=(Process(pid=901, command="leaky", user="app", uid=1000),),
        holders=tuple(SocketHolder(inode=s.inode, pid=901, fd=7 + i) for i, s in enumerate(many)),
    )
    found = rules.close_wait_leak(server)
    assert found is not None and found.severity == "fail"
    assert found.summary.startswith("leaky (pid 901, user app) holds 12 CLOSE-WAIT sockets")
    assert "peers: 127.0.0.1" in found.summary


def test_time_wait_churn_is_normal_and_names_the_side() -> None:
    """Many TIME-WAIT sockets: a warning that says normal, and which side closed first."""
    [tw] = [s for s in SOCKETS if s.state_name == "TIME-WAIT"]
    many = tuple(tw._replace(sport=40000 + i) for i in range(60))
    found = rules.time_wait_churn(read(8080, connections=many))
    assert found is not None and found.severity == "warn"
    assert found.cause == "app.time_wait_churn"
    assert "normal churn" in found.summary
    assert found.evidence == ("60 where this host, as the client from 127.0.0.1, closed first",)
    assert rules.time_wait_churn(read(8080)) is None


def test_an_unread_server_is_not_judged() -> None:
    """When the server side could not be read, no rule speaks and the verdict is unknown."""
    unread = ServerEvidence(port=5432, error="server side not read: EPERM")
    assert rules.evaluate(unread) == ()
    assert diagnose_server(unread)[1].cause == "unknown"


def test_other_failures_ride_along_as_warnings() -> None:
    """The verdict is the first failing rule; a later failure becomes a warning."""
    findings, verdict = diagnose_server(read(7000))
    assert [f.cause for f in findings] == ["service.loopback_only", "app.accept_queue_full"]
    assert verdict.cause == "service.loopback_only"
    assert [w.cause for w in verdict.warnings] == ["app.accept_queue_full"]


def test_every_cause_is_in_the_public_vocabulary() -> None:
    """Each cause the server rules make (over every captured port) is a documented code."""
    from netdx.diagnose import CAUSES, OTHER_CAUSES

    made = {
        f.cause
        for port in {s.sport for s in SOCKETS} | {5432}
        for address in (None, "127.0.0.1", "::1", "10.1.2.3")
        for f in rules.evaluate(read(port, address=address, earlier_close_wait=0))
    }
    assert {"port.refused", "service.loopback_only", "app.accept_queue_full"} <= made
    assert made <= set(CAUSES) | set(OTHER_CAUSES)


def test_address_helpers() -> None:
    """Loopback includes v4-mapped 127/8; a dual-stack [::] accepts IPv4, a v6-only one not."""
    assert rules.is_loopback("127.3.0.1") and rules.is_loopback("::ffff:127.0.0.1")
    assert rules.is_loopback("::1") and not rules.is_loopback("10.0.0.1")
    by_port = {s.sport: s for s in SOCKETS if s.state_name == "LISTEN"}
    assert rules.accepts(by_port[9000], "10.1.2.3") and not rules.accepts(by_port[8443], "10.1.2.3")
    assert rules.accepts(by_port[8080], "192.0.2.1")
    assert not rules.accepts(by_port[8080], "2001:db8::1")
