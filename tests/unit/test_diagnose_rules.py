"""Each diagnosis rule on evidence literals: when it fires, what it quotes, when it stays quiet."""

from __future__ import annotations

from dataclasses import replace

import evidence_cases as c
import pytest

from netdx.diagnose import dns, port, reach, route, service
from netdx.diagnose.facts import hop_distance
from netdx.model import CheckEvidence, DnsServerAnswer, EgressCheck, Finding, NssResult


def _text(f: Finding) -> str:
    return "\n".join((f.summary, *f.evidence, *f.fix))


# --- facts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ttl", "distance"),
    [(64, 1), (63, 2), (60, 5), (128, 1), (117, 12), (255, 1), (250, 6), (0, None), (300, None)],
)
def test_hop_distance_from_reply_ttl(ttl: int, distance: int | None) -> None:
    """The distance is the smallest initial TTL (64/128/255) ≥ the reply TTL, minus it, plus 1."""
    assert hop_distance(ttl) == distance


# --- dns -----------------------------------------------------------------------------------


def test_nxdomain_names_the_qnames_tried() -> None:
    """NXDOMAIN from getaddrinfo fails the DNS step and quotes every name actually asked."""
    f = dns.nxdomain(c.NXDOMAIN)
    assert f is not None and f.severity == "fail" and f.step == "dns"
    assert "dbx.lab.example., dbx." in _text(f)
    assert "EAI_NONAME" in _text(f)


def test_nxdomain_from_servers_alone() -> None:
    """Without a getaddrinfo result, every server saying NXDOMAIN is enough."""
    assert c.NXDOMAIN.dns is not None
    ev = replace(c.NXDOMAIN, dns=replace(c.NXDOMAIN.dns, nss=None))
    assert dns.nxdomain(ev) is not None


@pytest.mark.parametrize("ev", [c.OK_PORT, c.PORT_FILTERED, c.NO_ADDRESS, c.HOST_LIVENESS])
def test_nxdomain_quiet_when_the_name_exists(ev: CheckEvidence) -> None:
    """A name that resolves, has no address, or is an IP literal is not NXDOMAIN."""
    assert dns.nxdomain(ev) is None


def test_no_address_when_name_exists_without_records() -> None:
    """NOERROR/nodata for A and AAAA with EAI_NODATA is dns.no_address, quoting both answers."""
    f = dns.no_address(c.NO_ADDRESS)
    assert f is not None and f.severity == "fail"
    assert "no A record" in _text(f) and "no AAAA record" in _text(f)


def test_no_address_of_the_requested_family() -> None:
    """With -6 and only IPv4 records, the finding names the family and suggests dropping -6."""
    ev = replace(c.OK_PORT, addresses=(), family_filter=6)
    f = dns.no_address(ev)
    assert f is not None and "no IPv6 address" in f.summary
    assert any("drop -6" in x for x in f.fix)


@pytest.mark.parametrize("ev", [c.OK_PORT, c.NXDOMAIN, c.RESOLVER_DOWN])
def test_no_address_quiet_otherwise(ev: CheckEvidence) -> None:
    """A resolved name, a missing name, or a dead resolver is not dns.no_address."""
    assert dns.no_address(ev) is None


def test_resolver_unreachable_when_every_server_fails() -> None:
    """EAI_AGAIN plus every server timing out fails the DNS step with the server and time."""
    f = dns.resolver_unreachable(c.RESOLVER_DOWN)
    assert f is not None and f.severity == "fail"
    assert "10.0.0.53" in _text(f) and "timed out after 800 ms" in _text(f)


def test_resolver_unreachable_warns_when_the_name_resolved() -> None:
    """One dead server out of two, with the name resolved, is a warning naming that server."""
    f = dns.resolver_unreachable(c.RESOLVER_PARTIAL)
    assert f is not None and f.severity == "warn" and "10.0.0.54" in f.summary


def test_resolver_unreachable_without_any_nameserver() -> None:
    """EAI_AGAIN with no configured nameserver says so in the evidence."""
    assert c.RESOLVER_DOWN.dns is not None
    ev = replace(
        c.RESOLVER_DOWN, dns=replace(c.RESOLVER_DOWN.dns, servers=(), configured_servers=())
    )
    f = dns.resolver_unreachable(ev)
    assert f is not None and any("no nameserver" in e for e in f.evidence)


def test_resolver_unreachable_quiet_when_a_server_answers() -> None:
    """A generic getaddrinfo failure while a server answered is not a dead resolver."""
    assert c.OK_PORT.dns is not None and c.OK_PORT.dns.nss is not None
    nss = replace(c.OK_PORT.dns.nss, status="error", addresses=())
    ev = replace(c.OK_PORT, dns=replace(c.OK_PORT.dns, nss=nss), addresses=())
    assert dns.resolver_unreachable(ev) is None
    assert dns.resolver_unreachable(c.OK_PORT) is None


def test_hosts_override_fails_when_the_pin_is_dead() -> None:
    """A /etc/hosts pin DNS does not give, which times out, fails with both addresses quoted."""
    f = dns.hosts_override(c.HOSTS_OVERRIDE_DEAD)
    assert f is not None and f.severity == "fail"
    assert "10.0.2.99" in f.summary and "10.0.2.5" in f.summary
    assert any("no answer within 1000 ms" in e for e in f.evidence)


def test_hosts_override_warns_when_the_pin_answers() -> None:
    """The same pin, still answering, is only a warning."""
    f = dns.hosts_override(c.HOSTS_OVERRIDE_ALIVE)
    assert f is not None and f.severity == "warn"


def test_hosts_override_warns_when_untested() -> None:
    """A pin whose address was never connected to cannot be called dead: warning."""
    head = replace(c.HOSTS_OVERRIDE_DEAD.addresses[0], tcp=None)
    f = dns.hosts_override(replace(c.HOSTS_OVERRIDE_DEAD, addresses=(head,)))
    assert f is not None and f.severity == "warn" and "not tested" in f.summary


def test_hosts_override_quiet_when_dns_agrees() -> None:
    """A pin that DNS also gives, or addresses that came from DNS, is no override."""
    assert c.HOSTS_OVERRIDE_DEAD.dns is not None
    agree = replace(c.HOSTS_OVERRIDE_DEAD.dns, servers=(c.a_answer("db.lab.example.", c.STALE_IP),))
    assert dns.hosts_override(replace(c.HOSTS_OVERRIDE_DEAD, dns=agree)) is None
    assert dns.hosts_override(c.PORT_FILTERED) is None
    assert dns.hosts_override(c.IPV6_MISMATCH) is None  # hosts, but no server answers


# --- route ---------------------------------------------------------------------------------


def test_no_route_fails_with_the_route_lookup() -> None:
    """No route and an immediate ENETUNREACH fail the route step, quoting both."""
    f = route.no_route(c.NO_ROUTE)
    assert f is not None and f.severity == "fail" and f.step == "route"
    assert "ip route get 192.0.2.10: no route: ENETUNREACH" in f.evidence


def test_no_route_from_enetunreach_alone() -> None:
    """Without a route lookup, a connect failing with ENETUNREACH and no ICMP is enough."""
    head = replace(c.NO_ROUTE.addresses[0], route=None)
    assert route.no_route(replace(c.NO_ROUTE, addresses=(head,))) is not None


def test_no_route_warns_when_another_address_connected() -> None:
    """No IPv6 route while IPv4 connects is a warning naming the fallback."""
    f = route.no_route(c.NO_ROUTE_V6_FALLBACK)
    assert f is not None and f.severity == "warn" and "10.0.2.5" in f.summary
    assert any("ip -6 route" in x for x in f.fix)


@pytest.mark.parametrize("ev", [c.OK_PORT, c.HOST_UNREACHABLE, c.NXDOMAIN])
def test_no_route_quiet_otherwise(ev: CheckEvidence) -> None:
    """A working route, an ICMP from a router, or no address at all is not route.no_route."""
    assert route.no_route(ev) is None


# --- reach ---------------------------------------------------------------------------------


def test_host_unreachable_names_the_router() -> None:
    """An ICMP host-unreachable from a router names that router and its type/code."""
    f = reach.host_unreachable(c.HOST_UNREACHABLE)
    assert f is not None and f.severity == "fail" and f.step == "reach"
    assert "router 10.0.1.1" in f.summary
    assert any(
        "ICMP type 3 code 1 (host-unreachable, EHOSTUNREACH) from 10.0.1.1" in e for e in f.evidence
    )


def test_host_unreachable_from_local_ehostunreach() -> None:
    """EHOSTUNREACH with no ICMP (ARP failed) is host_unreachable with the neighbour state."""
    f = reach.host_unreachable(c.LOCAL_EHOSTUNREACH)
    assert f is not None and "FAILED" in _text(f) and "10.0.0.77" in f.summary


def test_host_unreachable_from_a_dead_neighbour() -> None:
    """A timeout while the next hop's neighbour entry is INCOMPLETE is host_unreachable."""
    f = reach.host_unreachable(c.NEIGHBOUR_FAILED)
    assert f is not None and "INCOMPLETE" in _text(f)


def test_host_unreachable_ignores_prohibited_kinds_and_live_neighbours() -> None:
    """An admin-prohibited ICMP is a firewall, and a timeout with a REACHABLE neighbour is not."""
    assert reach.host_unreachable(c.REJECT_ADMIN) is None
    assert reach.host_unreachable(c.PORT_FILTERED) is None
    head = replace(c.NEIGHBOUR_FAILED.addresses[0], tcp=c.tcp("10.0.0.77", 22, "connected"))
    assert reach.host_unreachable(replace(c.NEIGHBOUR_FAILED, addresses=(head,))) is None


def test_no_reply_fails_a_silent_host() -> None:
    """No echo reply and every liveness connect timing out fails, saying ICMP may be filtered."""
    f = reach.no_reply(c.HOST_NO_REPLY)
    assert f is not None and f.severity == "fail" and "ICMP may be filtered" in f.summary
    assert any("22 timeout, 443 timeout" in e for e in f.evidence)


def test_no_reply_quiet_when_liveness_answers() -> None:
    """A reset on port 22 proves the host is up even with the echo unknown."""
    assert reach.no_reply(c.HOST_LIVENESS) is None


def test_no_reply_quiet_without_evidence() -> None:
    """An echo that could not be sent and no liveness probes prove nothing: no finding."""
    assert reach.no_reply(c.HOST_ECHO_UNKNOWN) is None


def test_no_reply_only_for_host_targets() -> None:
    """A port target's silence is the port layer's business."""
    assert reach.no_reply(c.PORT_FILTERED) is None


# --- port ----------------------------------------------------------------------------------


def test_refused_fails_with_the_reset() -> None:
    """A reset on the only address fails the port step and points at ss -tlnp."""
    f = port.refused(c.REFUSED)
    assert f is not None and f.severity == "fail" and f.step == "port"
    assert "refused (TCP reset) after 0.38 ms" in _text(f)
    assert any("ss -tlnp 'sport = :5432'" in x for x in f.fix)


def test_refused_warns_when_a_same_family_address_connected() -> None:
    """A reset on the first of two IPv4 addresses, the second connecting, is a warning."""
    f = port.refused(c.REFUSED_FALLBACK)
    assert f is not None and f.severity == "warn" and "10.0.2.6" in f.summary


def test_port_rules_step_aside_for_a_family_mismatch() -> None:
    """When IPv4 connected after IPv6 failed, no port finding speaks about the IPv6 failure."""
    assert port.refused(c.IPV6_MISMATCH) is None
    assert port.filtered(c.IPV6_MISMATCH_TIMEOUT) is None


def test_reject_port_unreachable_names_the_target_as_sender() -> None:
    """ICMP port-unreachable to a SYN is a REJECT rule; the sender here is the target itself."""
    f = port.reject_port_unreachable(c.REJECT_PORT_UNREACHABLE)
    assert f is not None and f.cause == "firewall.reject_port_unreachable"
    assert "the target 10.0.2.5 itself" in f.summary
    assert any("type 3 code 3" in e for e in f.evidence)
    assert port.reject_port_unreachable(c.REFUSED) is None


def test_reject_admin_names_a_router_sender() -> None:
    """admin-prohibited from a router names it as a router on the way, and the fix runs there."""
    f = port.reject_admin(c.REJECT_ADMIN)
    assert f is not None and "router 10.0.1.1 on the way to 10.0.2.5" in f.summary
    assert f.fix[0].startswith("on 10.0.1.1")
    assert port.reject_admin(c.REJECT_PORT_UNREACHABLE) is None


def test_reject_admin_from_the_target_host_prohibited() -> None:
    """host-prohibited from the target itself is reject_admin saying the target rejects it."""
    tcp = c.tcp(c.DB_IP, 5432, "icmp_error", icmp=c.icmp4("host-prohibited", 10, c.DB_IP))
    ev = replace(c.REJECT_ADMIN, addresses=(replace(c.REJECT_ADMIN.addresses[0], tcp=tcp),))
    f = port.reject_admin(ev)
    assert f is not None and "the target 10.0.2.5 itself" in f.summary


def test_local_egress_from_the_raw_syn() -> None:
    """A timeout plus a raw SYN failing with EPERM blames this host's output filter."""
    f = port.local_egress(c.LOCAL_EGRESS)
    assert f is not None and f.cause == "firewall.local_egress"
    assert any("EPERM" in e for e in f.evidence)
    assert port.filtered(c.LOCAL_EGRESS) is None


def test_local_egress_from_eperm_on_connect() -> None:
    """connect() failing with EPERM is a local output rule too."""
    head = replace(c.OK_PORT.addresses[0], tcp=c.tcp(c.DB_IP, 5432, "error", errno="EPERM"))
    assert port.local_egress(replace(c.OK_PORT, addresses=(head,))) is not None


def test_local_egress_quiet_when_egress_is_unknown() -> None:
    """Without root the egress check is unknown and cannot blame this host."""
    assert port.local_egress(c.PORT_FILTERED) is None


def test_filtered_midway_names_the_last_router() -> None:
    """Routers answer to hop 2, the target is 5 hops away: the SYN dies after 10.0.3.1."""
    f = port.filtered_midway(c.PATH_MIDWAY)
    assert f is not None and f.cause == "path.filtered_midway"
    assert "after hop 2 (10.0.3.1)" in f.summary and "5 hops away" in f.summary
    assert port.filtered(c.PATH_MIDWAY) is None


def test_filtered_midway_quiet_next_to_the_target() -> None:
    """With the last answering router adjacent to the target, it is port.filtered, with the path."""
    head = c.PATH_MIDWAY.addresses[0]
    near = replace(head, echo=c.echo_reply(c.FAR_IP, ttl=62))  # distance 3, k = 2 = d - 1
    ev = replace(c.PATH_MIDWAY, addresses=(near,))
    assert port.filtered_midway(ev) is None
    f = port.filtered(ev)
    assert f is not None and any(e.startswith("path of TCP SYNs") for e in f.evidence)


def test_filtered_midway_needs_the_echo_distance() -> None:
    """Without an echo reply there is no distance, so no midway claim."""
    head = replace(c.PATH_MIDWAY.addresses[0], echo=c.echo_unknown(c.FAR_IP))
    assert port.filtered_midway(replace(c.PATH_MIDWAY, addresses=(head,))) is None


def test_filtered_quotes_timeout_echo_and_egress() -> None:
    """port.filtered quotes the timeout and its basis, the echo, and the unknown egress."""
    f = port.filtered(c.PORT_FILTERED)
    assert f is not None and f.severity == "fail"
    text = _text(f)
    assert "no answer within 1000 ms (timeout is a share of --timeout)" in text
    assert "reply in 0.41 ms" in text
    assert "local egress filtering could not be ruled out without root" in text
    assert "nft -a list ruleset" in text and "ss -tlnp 'sport = :5432'" in text


def test_filtered_quotes_an_rtt_sized_timeout() -> None:
    """An rtt-based timeout says which round trip sized it."""
    base = c.PORT_FILTERED.addresses[0].tcp
    assert base is not None
    tcp = replace(base, timeout_basis="rtt", rtt_ms=0.412)
    ev = replace(c.PORT_FILTERED, addresses=(replace(c.PORT_FILTERED.addresses[0], tcp=tcp),))
    f = port.filtered(ev)
    assert f is not None and "sized from a measured round trip of 0.41 ms" in _text(f)


def test_filtered_with_egress_clear() -> None:
    """A clear egress check is quoted as such."""
    egress = EgressCheck(address=c.DB_IP, port=5432, status="clear")
    ev = replace(c.PORT_FILTERED, addresses=(replace(c.PORT_FILTERED.addresses[0], egress=egress),))
    f = port.filtered(ev)
    assert f is not None and any("egress clear" in e for e in f.evidence)


@pytest.mark.parametrize("ev", [c.OK_PORT, c.REFUSED, c.HOST_NO_REPLY, c.NXDOMAIN])
def test_filtered_quiet_without_a_timeout(ev: CheckEvidence) -> None:
    """No timeout (or no port) means no port.filtered."""
    assert port.filtered(ev) is None


# --- service -------------------------------------------------------------------------------


def test_ipv6_only_mismatch() -> None:
    """::1 refused, 127.0.0.1 connected: the service listens on IPv4 only."""
    f = service.ipv6_only_mismatch(c.IPV6_MISMATCH)
    assert f is not None and f.severity == "fail" and f.step == "service"
    assert "listens on IPv4 only" in f.summary
    assert service.ipv4_only_mismatch(c.IPV6_MISMATCH) is None


def test_ipv4_only_mismatch() -> None:
    """127.0.0.1 (tried first) refused, ::1 connected: the mirror cause."""
    f = service.ipv4_only_mismatch(c.IPV4_MISMATCH)
    assert f is not None and f.cause == "service.ipv4_only_mismatch"
    assert service.ipv6_only_mismatch(c.IPV4_MISMATCH) is None


def test_mismatch_by_timeout_blames_a_firewall() -> None:
    """An IPv6 timeout with IPv4 connecting points at the IPv6 firewall, not the bind."""
    f = service.ipv6_only_mismatch(c.IPV6_MISMATCH_TIMEOUT)
    assert f is not None and "firewall" in f.summary and "ip6tables -S" in _text(f)


def test_mismatch_quiet_for_same_family_or_all_failed() -> None:
    """Two IPv4 addresses, or both families failing, is no family mismatch."""
    assert service.ipv6_only_mismatch(c.REFUSED_FALLBACK) is None
    assert service.ipv4_only_mismatch(c.REFUSED_FALLBACK) is None
    both = c._localhost("refused", "refused", c.LOCALHOST_ORDER)
    assert service.ipv6_only_mismatch(both) is None


def test_http_5xx_is_a_failing_service() -> None:
    """HTTP 503 fails the service step with the status, Server header and a curl to repeat it."""
    f = service.http_error(c.HTTP_500)
    assert f is not None and f.severity == "fail" and "failing: HTTP 503" in f.summary
    assert "Server: nginx/1.22.1" in _text(f)
    assert "curl -sv --resolve web.lab.example:80:10.0.2.8" in _text(f)


def test_http_4xx_is_an_unexpected_status() -> None:
    """HTTP 404 fails as an unexpected status for the URL."""
    f = service.http_error(c.HTTP_404)
    assert f is not None and "unexpected status" in f.summary


def test_http_3xx_warns_where_it_redirects() -> None:
    """HTTP 301 warns and says where the redirect points."""
    f = service.http_error(c.HTTP_301)
    assert f is not None and f.severity == "warn"
    assert "https://web.lab.example/health" in f.summary


def test_http_rules_quiet_on_success_and_plain_tcp() -> None:
    """A 200, or a non-HTTP target, gives no service finding."""
    rules = (service.http_error, service.tls_error, service.http_timeout, service.http_failed)
    for rule in rules:
        assert rule(c.OK_HTTP) is None
        assert rule(c.OK_PORT) is None


def test_tls_error() -> None:
    """A failed handshake is service.tls_error with the error and an openssl command."""
    f = service.tls_error(c.TLS_ERROR)
    assert f is not None and "CERTIFICATE_VERIFY_FAILED" in f.summary
    assert any("openssl s_client" in x for x in f.fix)


def test_http_timeout() -> None:
    """A connection that never gets a response byte is service.http_timeout."""
    f = service.http_timeout(c.HTTP_TIMEOUT)
    assert f is not None and "not a single byte" in _text(f) and "2000 ms" in f.summary


def test_http_failed() -> None:
    """A non-HTTP answer after TCP connected is service.http_failed with the error."""
    f = service.http_failed(c.HTTP_FAILED)
    assert f is not None and "SSH-2.0" in _text(f)


def test_servfail_counts_as_a_failing_server() -> None:
    """SERVFAIL from the only server with EAI_AGAIN is a resolver failure."""
    assert c.RESOLVER_DOWN.dns is not None
    servfail = DnsServerAnswer(
        server=c.DNS_SERVER, qname="db.lab.example.", rtype="A", status="servfail"
    )
    nss = NssResult(name="db.lab.example", status="again", gai_error="EAI_AGAIN")
    ev = replace(c.RESOLVER_DOWN, dns=replace(c.RESOLVER_DOWN.dns, servers=(servfail,), nss=nss))
    f = dns.resolver_unreachable(ev)
    assert f is not None and any("SERVFAIL" in e for e in f.evidence)
