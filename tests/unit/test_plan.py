"""The check plan without I/O: given this evidence, these probes (and signals) come next."""

from __future__ import annotations

import dataclasses

import evidence_cases as c
import pytest

from netdx.model import (
    DnsServerAnswer,
    EgressCheck,
    FirewallMatch,
    HttpExchange,
    PathTrace,
    RouteLookup,
    Target,
    TcpConnect,
)
from netdx.model.evidence import AuthoritativeCheck
from netdx.model.vantage import in_netns
from netdx.plan import (
    AskAuthoritative,
    Budget,
    Cancel,
    CheckEgress,
    CheckPlan,
    CheckSettings,
    Connect,
    Echo,
    EvaluateFirewall,
    FetchHttp,
    Hint,
    LookupRoute,
    NeighbourRead,
    NotRun,
    Probe,
    ReadNeighbour,
    ReadServer,
    Resolve,
    Result,
    Settle,
    Stop,
    TraceTcp,
    addresses_from_servers,
    limits,
)
from netdx.plan.address import ECHO_NOT_WAITED

IP = c.DB_IP
DB_PORT = Target(raw=f"{IP}:5432", host=IP, port=5432, ip_literal=True)
DB_HOST = Target(raw=IP, host=IP, port=None, ip_literal=True)
WEB = Target(raw=f"http://{IP}/", host=IP, port=80, scheme="http", ip_literal=True)
LOCAL_ROUTE = RouteLookup(address=IP, status="local", route_type="local", interface="lo")


def kinds(probes: tuple[Probe, ...]) -> list[str]:
    return [type(p).__name__ for p in probes]


def one(probes: tuple[Probe, ...], kind: type[Probe]) -> Probe:
    found = [p for p in probes if isinstance(p, kind)]
    assert len(found) == 1, kinds(probes)
    return found[0]


def timeout(basis: str = "budget") -> TcpConnect:
    return dataclasses.replace(c.tcp(IP, 5432, "timeout"), timeout_basis=basis)  # type: ignore[arg-type]


def routed(target: Target, route: RouteLookup | None = None) -> tuple[CheckPlan, tuple[Probe, ...]]:
    """A plan for `target` past its route lookup: the plan and the probes that come next."""
    plan = CheckPlan(target, CheckSettings())
    lookup = one(plan.next_probes(), LookupRoute)
    plan.feed(lookup.id, route or c.route_ok(IP))
    return plan, plan.next_probes()


def finish(plan: CheckPlan, answers: dict[type[Probe], Result]) -> None:
    """Answer every probe the plan asks for by kind until it asks for nothing more."""
    while probes := plan.next_probes():
        for probe in probes:
            plan.feed(probe.id, answers.get(type(probe), NotRun(reason="not in this test")))


def test_ip_target_starts_with_its_route() -> None:
    """An IP literal needs no DNS: the first probe is the route lookup, within 0.5 s."""
    plan = CheckPlan(DB_PORT, CheckSettings())
    assert plan.next_probes() == (
        LookupRoute(id=1, budget=Budget(cap_s=limits.ROUTE_MAX_S), address=IP),
    )
    assert plan.evidence().dns is not None and plan.evidence().dns.source == "literal"


def test_port_target_connects_echoes_and_watches_the_next_hop() -> None:
    """With a route, the SYN leaves first, beside the echo and a watch of the next hop that
    reads its neighbour state after NEIGHBOUR_PATIENCE_S."""
    _, probes = routed(DB_PORT)
    assert kinds(probes) == ["Connect", "Echo", "ReadNeighbour"]
    connect = one(probes, Connect)
    assert isinstance(connect, Connect) and connect.steered
    assert connect.budget == Budget(reserve_s=limits.FOLLOW_UP_RESERVE_S)
    echo = one(probes, Echo)
    assert isinstance(echo, Echo) and echo.steered  # TCP's answer may settle it early
    assert echo.budget == Budget(cap_s=limits.ECHO_MAX_S)
    watch = one(probes, ReadNeighbour)
    assert watch.budget.start_after_s == limits.NEIGHBOUR_PATIENCE_S


def test_no_watch_without_an_on_link_next_hop() -> None:
    """A route without an interface index has no neighbour entry to watch."""
    _, probes = routed(DB_PORT, dataclasses.replace(c.route_ok(IP), ifindex=None))
    assert kinds(probes) == ["Connect", "Echo"]


def test_echo_rtt_is_hinted_to_the_running_connect() -> None:
    """The echo's round trip goes to the connect still waiting, to size its timeout."""
    plan, probes = routed(DB_PORT)
    plan.feed(one(probes, Echo).id, c.echo_reply(IP, rtt=3.5))
    assert plan.signals() == (Hint(to=one(probes, Connect).id, rtt_ms=3.5),)
    assert plan.next_probes() == ()


def test_dead_next_hop_stops_the_connect() -> None:
    """A next hop still INCOMPLETE after the patience ends the connect: no SYN-ACK can come."""
    plan, probes = routed(DB_PORT)
    plan.feed(one(probes, ReadNeighbour).id, NeighbourRead(state="INCOMPLETE"))
    assert plan.signals() == (Stop(to=one(probes, Connect).id),)
    plan2, probes2 = routed(DB_PORT)
    plan2.feed(one(probes2, ReadNeighbour).id, NeighbourRead(state="REACHABLE"))
    assert plan2.signals() == ()


def test_answer_gives_the_echo_a_grace_then_http() -> None:
    """Once TCP answered, the watch is cancelled, the echo is told to end at its first answer
    and gets at most ECHO_GRACE_S, and HTTP follows when the echo has settled; a cut echo is
    recorded as not waited for."""
    plan, probes = routed(WEB)
    connect, echo, watch = (one(probes, k) for k in (Connect, Echo, ReadNeighbour))
    plan.feed(connect.id, c.tcp(IP, 80, "connected"))
    assert plan.signals() == (
        Cancel(to=watch.id),
        Settle(to=echo.id),
        Cancel(to=echo.id, after_s=limits.ECHO_GRACE_S),
    )
    assert plan.next_probes() == ()
    plan.feed(echo.id, NotRun(reason="cancelled"))
    fetch = one(plan.next_probes(), FetchHttp)
    assert isinstance(fetch, FetchHttp) and fetch.url == "http://10.0.2.5:80/" and fetch.port == 80
    head = plan.evidence().addresses[0]
    assert head.echo is not None and head.echo.reason == ECHO_NOT_WAITED


def test_silent_syn_asks_egress_trace_neighbour_and_output_rules() -> None:
    """A SYN timed out on its budget: the egress test, a TCP trace sized from the echo's RTT,
    the neighbour state and this host's output rules run side by side, and land in evidence."""
    plan, probes = routed(DB_PORT)
    plan.feed(one(probes, Echo).id, c.echo_reply(IP, rtt=20.0))
    plan.feed(one(probes, Connect).id, timeout())
    plan.feed(one(probes, ReadNeighbour).id, NotRun(reason="cancelled"))  # the watch
    follow = plan.next_probes()
    assert kinds(follow) == ["CheckEgress", "TraceTcp", "ReadNeighbour", "EvaluateFirewall"]
    assert one(follow, CheckEgress).budget == Budget(cap_s=limits.EGRESS_MAX_S)
    assert one(follow, TraceTcp).budget == Budget(cap_s=limits.TRACE_MIN_S)  # 10 × 20 ms < 0.3 s
    wall = one(follow, EvaluateFirewall)
    assert isinstance(wall, EvaluateFirewall) and wall.hook == "output"
    egress = EgressCheck(address=IP, port=5432, status="clear")
    path = PathTrace(address=IP, port=5432, hops=(), reached=False)
    rules = FirewallMatch(hook="output", decision="accept")
    for probe, result in zip(
        follow, (egress, path, NeighbourRead(state="STALE"), rules), strict=True
    ):
        plan.feed(probe.id, result)
    head = plan.evidence().addresses[0]
    assert (head.egress, head.path, head.firewall) == (egress, path, rules)
    assert head.route is not None and head.route.neighbour_state == "STALE"
    assert plan.done


@pytest.mark.parametrize(("rtt", "wait"), [(None, 1.0), (50.0, 0.5), (500.0, 1.0)])
def test_trace_wait_follows_the_echo(rtt: float | None, wait: float) -> None:
    """The TCP trace waits 10 RTTs, between 0.3 s and 1 s (1 s without an RTT)."""
    assert limits.trace_wait(rtt) == wait


def test_follow_ups_wait_for_the_echo_after_a_silent_syn() -> None:
    """After a timeout nothing follows until the echo has answered (its RTT sizes the trace)."""
    plan, probes = routed(DB_PORT)
    plan.feed(one(probes, Connect).id, timeout())
    assert plan.signals() == (Cancel(to=one(probes, ReadNeighbour).id),)  # no echo cut
    assert plan.next_probes() == ()
    plan.feed(one(probes, Echo).id, c.echo_timeout(IP))
    assert one(plan.next_probes(), TraceTcp).budget == Budget(cap_s=limits.TRACE_MAX_S)


def test_connect_stopped_by_a_dead_hop_only_rereads_the_neighbour() -> None:
    """A connect the watch stopped gets no trace or egress test: the neighbour state says it."""
    plan, probes = routed(DB_PORT)
    plan.feed(one(probes, Echo).id, c.echo_timeout(IP))
    plan.feed(one(probes, Connect).id, timeout("neighbour"))
    plan.feed(one(probes, ReadNeighbour).id, NeighbourRead(state="INCOMPLETE"))  # the watch
    reread = one(plan.next_probes(), ReadNeighbour)
    plan.feed(reread.id, NeighbourRead(state="FAILED"))
    head = plan.evidence().addresses[0]
    assert head.route is not None and head.route.neighbour_state == "FAILED"
    assert plan.done


def test_local_target_reads_the_server_and_the_input_rules() -> None:
    """For this host's own address the server side is read beside the connect, and a silent
    SYN asks the input rules, never a path trace."""
    plan, probes = routed(DB_PORT, LOCAL_ROUTE)
    assert kinds(probes) == ["Connect", "Echo", "ReadServer"]
    server = one(probes, ReadServer)
    assert server.budget == Budget(share=limits.SERVER_READ_SHARE)
    plan.feed(one(probes, Echo).id, c.echo_reply(IP))
    plan.feed(one(probes, Connect).id, timeout())
    wall = one(plan.next_probes(), EvaluateFirewall)
    assert isinstance(wall, EvaluateFirewall) and wall.hook == "input"
    read = c.LOCAL_LOOPBACK_ONLY.addresses[0].server
    assert read is not None
    plan.feed(server.id, read)
    plan.feed(wall.id, FirewallMatch(hook="input", decision="drop"))
    head = plan.evidence().addresses[0]
    assert head.server == read
    assert plan.done


def test_host_only_echo_reply_ends_the_address() -> None:
    """A host-only target that answers the echo needs nothing else; its echo is not steered
    (all of its echoes are the evidence: no TCP answer stands beside them)."""
    plan, probes = routed(DB_HOST)
    assert kinds(probes) == ["Echo"]
    assert isinstance(probes[0], Echo) and not probes[0].steered
    plan.feed(probes[0].id, c.echo_reply(IP))
    assert plan.next_probes() == () and plan.done


def test_host_only_dead_hop_skips_the_liveness_ports() -> None:
    """No echo reply and a next hop that never answered ARP: no TCP port can answer."""
    plan, probes = routed(DB_HOST)
    plan.feed(probes[0].id, c.echo_timeout(IP))
    reread = one(plan.next_probes(), ReadNeighbour)
    plan.feed(reread.id, NeighbourRead(state="FAILED"))
    assert plan.done
    head = plan.evidence().addresses[0]
    assert head.liveness == () and head.route is not None
    assert head.route.neighbour_state == "FAILED"


def test_host_only_silent_echo_tries_the_liveness_ports_in_order() -> None:
    """No echo reply from a live next hop: the liveness ports, each within ECHO_MAX_S, kept
    in port order whatever order they end in, then the neighbour state once more."""
    plan, probes = routed(DB_HOST)
    plan.feed(probes[0].id, c.echo_timeout(IP))
    plan.feed(one(plan.next_probes(), ReadNeighbour).id, NeighbourRead(state="REACHABLE"))
    live = plan.next_probes()
    assert [p.port for p in live if isinstance(p, Connect)] == list(limits.LIVENESS_PORTS)
    assert all(isinstance(p, Connect) and not p.steered for p in live)
    assert {p.budget for p in live} == {Budget(cap_s=limits.ECHO_MAX_S)}
    for probe in reversed(live):
        assert isinstance(probe, Connect)
        plan.feed(probe.id, c.tcp(IP, probe.port, "refused"))
    plan.feed(one(plan.next_probes(), ReadNeighbour).id, NeighbourRead(state="STALE"))
    head = plan.evidence().addresses[0]
    assert [t.port for t in head.liveness] == list(limits.LIVENESS_PORTS)
    assert head.route is not None and head.route.neighbour_state == "STALE"
    assert plan.done


def _resolved(settings: CheckSettings, dns: object) -> tuple[CheckPlan, tuple[Probe, ...]]:
    plan = CheckPlan(c.TARGETS["db"], settings)
    resolve = one(plan.next_probes(), Resolve)
    plan.feed(resolve.id, dns)  # type: ignore[arg-type]
    return plan, plan.next_probes()


def test_name_target_resolves_within_the_dns_share() -> None:
    """A name is resolved first, with at most DNS_SHARE of the budget, capped."""
    plan = CheckPlan(c.TARGETS["db"], CheckSettings(timeout=10.0, family=4))
    resolve = one(plan.next_probes(), Resolve)
    assert isinstance(resolve, Resolve) and resolve.family == 4
    assert resolve.budget == Budget(share=limits.DNS_SHARE, cap_s=3.0)  # 0.3 × 10 s > 1.8 s


def test_resolved_addresses_are_probed_at_most_four() -> None:
    """Each address the application would try gets its route lookup, the first four only."""
    many = tuple(f"10.0.2.{i}" for i in range(1, 7))
    _, probes = _resolved(CheckSettings(), c.dns_ok(c.DB, *many))
    assert [p.address for p in probes if isinstance(p, LookupRoute)] == list(many[:4])


def test_failed_resolution_ends_the_plan() -> None:
    """NXDOMAIN leaves nothing to probe: the plan is done with the DNS evidence alone."""
    assert c.NXDOMAIN.dns is not None
    plan, probes = _resolved(CheckSettings(), c.NXDOMAIN.dns)
    assert probes == () and plan.done
    assert plan.evidence().addresses == () and plan.evidence().dns is not None


def test_dns_server_addresses_keep_the_resolver_family_order() -> None:
    """With --dns-server the servers' addresses are probed, IPv6 first when NSS put it first."""
    dns = dataclasses.replace(
        c.dns_ok(c.DB, "fd00::5", "10.0.2.5"),
        servers=(c.a_answer("db.", "10.0.2.5"), c.a_answer("db.", "fd00::5")),
    )
    changed, found = addresses_from_servers(dns)
    assert found == ("fd00::5", "10.0.2.5") and changed.source == "dns"


def _through_addresses(tcp: str) -> CheckPlan:
    """A name resolved by a DNS server whose one address connects with outcome `tcp`."""
    plan, probes = _resolved(CheckSettings(root_hints="/hints"), c.dns_ok(c.DB, IP))
    finish_route = one(probes, LookupRoute)
    plan.feed(finish_route.id, c.route_ok(IP))
    probes = plan.next_probes()
    plan.feed(one(probes, Echo).id, c.echo_reply(IP))
    plan.feed(one(probes, Connect).id, c.tcp(IP, 5432, tcp))  # type: ignore[arg-type]
    plan.feed(one(probes, ReadNeighbour).id, NotRun(reason="cancelled"))
    return plan


def test_failed_resolver_address_asks_the_authoritative_servers() -> None:
    """A refused connect to an address a resolver gave: the zone's servers are asked last,
    within AUTHORITATIVE_MAX_S and only with AUTHORITATIVE_MIN_S left; their answer is kept."""
    plan = _through_addresses("refused")
    ask = one(plan.next_probes(), AskAuthoritative)
    assert ask == AskAuthoritative(
        id=ask.id,
        budget=Budget(cap_s=limits.AUTHORITATIVE_MAX_S, floor_s=limits.AUTHORITATIVE_MIN_S),
        name=c.DB + ".",
        rtype="A",
        root_hints="/hints",
        resolvers=(c.DNS_SERVER,),
    )
    answer = DnsServerAnswer(server="authoritative", qname="db.", rtype="A", status="ok")
    plan.feed(ask.id, AuthoritativeCheck(via="resolver", answer=answer))
    ev = plan.evidence()
    assert ev.dns is not None and ev.dns.authoritative == answer and plan.done


def test_working_connection_needs_no_authoritative_check() -> None:
    """A connected first address proves the resolver's answer: no trace from the root."""
    plan = _through_addresses("connected")
    assert plan.next_probes() == () and plan.done


def test_vantage_is_stamped_on_every_container() -> None:
    """The vantage given to the plan marks the check, each address and the DNS evidence."""
    where = in_netns("ndx-client")
    plan = CheckPlan(c.TARGETS["db"], CheckSettings(), vantage=where)
    plan.feed(one(plan.next_probes(), Resolve).id, c.dns_ok(c.DB, IP))
    ev = plan.evidence()
    assert ev.observed_on == where
    assert ev.dns is not None and ev.dns.observed_on == where
    assert [a.observed_on for a in ev.addresses] == [where]


def test_unexpected_results_do_not_break_the_plan() -> None:
    """Results that are NotRun everywhere still end the plan with whatever was seen."""
    plan = CheckPlan(WEB, CheckSettings())
    finish(plan, {LookupRoute: c.route_ok(IP), HttpExchange: NotRun(reason="x")})
    assert plan.done
    head = plan.evidence().addresses[0]
    assert head.route == c.route_ok(IP) and head.tcp is None


def test_plan_imports_no_io() -> None:
    """The plan is pure: importing it loads no probe, socket, subprocess or event loop."""
    import subprocess
    import sys

    code = (
        "import sys, netdx.plan; "
        "print([m for m in sys.modules if m.startswith('netdx.probes') "
        "or m in ('asyncio', 'socket', 'subprocess')])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    assert out.stdout.strip() == "[]"


def test_plan_public_api_is_exported() -> None:
    """Every name in netdx.plan.__all__ is importable from it."""
    import netdx.plan

    assert all(hasattr(netdx.plan, name) for name in netdx.plan.__all__)
    assert {"CheckPlan", "CheckSettings", "Probe", "Result"} <= set(netdx.plan.__all__)
