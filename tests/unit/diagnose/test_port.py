"""The port rules (diagnose/port.py) on evidence literals: resets, drops, rejects, egress, path."""

from __future__ import annotations

from dataclasses import replace

import evidence_cases as c
import pytest

from netdx.diagnose import diagnose, port
from netdx.diagnose.port import filtered, firewall_text, path_text, rule_fix
from netdx.model import (
    CheckEvidence,
    EgressCheck,
    Finding,
    FirewallMatch,
    Hop,
    PathTrace,
)
from netdx.model.firewall import Origin, RuleRef


def _text(f: Finding) -> str:
    return "\n".join((f.summary, *f.evidence, *f.fix))


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
    f = port.local_egress(replace(c.OK_PORT, addresses=(head,)))
    assert f is not None and (f.cause, f.severity) == ("firewall.local_egress", "fail")
    assert any("EPERM" in e for e in f.evidence)


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


def test_dead_neighbour_is_not_blamed_on_a_firewall() -> None:
    """A silent SYN to an on-link host that never answered ARP is reach, not port.filtered."""
    assert filtered(c.NEIGHBOUR_FAILED) is None
    steps, verdict = diagnose(c.NEIGHBOUR_FAILED)
    assert verdict.cause == "reach.host_unreachable"
    port = next(s for s in steps if s.layer == "port")
    assert "firewall" not in port.summary


def test_silent_hops_are_collapsed_into_ranges() -> None:
    """Runs of silent TTLs print as one range, answering hops stay one by one."""
    hops = (
        Hop(ttl=1, kind="time_exceeded", address="10.0.1.1", rtt_ms=0.2),
        *(Hop(ttl=t, kind="silent") for t in range(2, 17)),
    )
    text = path_text(PathTrace(address="10.0.2.20", port=5432, hops=hops, reached=False))
    assert text == (
        "path of TCP SYNs to 10.0.2.20:5432: 1 10.0.1.1 (time_exceeded), 2-16 *; "
        "did not reach the target"
    )
    lone = path_text(
        PathTrace(address="10.0.2.20", port=1, hops=(Hop(ttl=1, kind="silent"),), reached=False)
    )
    assert "1 *;" in lone


def test_server_side_finding_decides_a_local_target() -> None:
    """For a target on this host the listener's own story (loopback bind, full queue)
    replaces the bare reset or timeout the client saw."""
    _, verdict = diagnose(c.LOCAL_LOOPBACK_ONLY)
    assert verdict.cause == "service.loopback_only"
    assert verdict.layer == "service"
    _, verdict = diagnose(c.LOCAL_QUEUE_FULL)
    assert verdict.cause == "app.accept_queue_full"


def test_server_side_leak_is_a_warning_when_the_connection_works() -> None:
    """A CLOSE-WAIT leak does not fail a check whose connection succeeded: it rides along."""
    _, verdict = diagnose(c.LOCAL_CLOSE_WAIT)
    assert verdict.cause == "ok"
    assert [w.cause for w in verdict.warnings] == ["app.close_wait_leak"]


def test_server_side_verdict_quotes_the_client_view_too() -> None:
    """The local verdict starts its evidence with the connect netdx itself made."""
    _, verdict = diagnose(c.LOCAL_LOOPBACK_ONLY)
    assert verdict.evidence[0].startswith("TCP connect to 10.0.0.20:5432: refused")


def _with_firewall(ev: CheckEvidence, wall: FirewallMatch) -> CheckEvidence:
    """The case with this host's ruleset evaluation added to its first address."""
    head = ev.addresses[0]
    return replace(ev, addresses=(replace(head, firewall=wall),))


def test_local_egress_names_the_rule_and_its_removal() -> None:
    """With the output rule evaluated, local_egress quotes it and prints its removal."""
    wall = FirewallMatch(
        hook="output",
        decision="drop",
        rule=RuleRef(family="inet", table="filter", chain="output", position=1,
                     text="tcp dport 5432 drop", handle=7, source="nft"),
    )  # fmt: skip
    _, verdict = diagnose(_with_firewall(c.LOCAL_EGRESS, wall))
    assert verdict.cause == "firewall.local_egress"
    assert "inet filter output handle 7: tcp dport 5432 drop" in " ".join(verdict.evidence)
    assert verdict.fix[0].endswith("nft delete rule inet filter output handle 7")


def test_output_rule_alone_does_not_override_a_clear_raw_syn() -> None:
    """When the raw SYN left the host, a model that says 'drop' is not trusted over the
    kernel: the verdict stays port.filtered, with the model's view as evidence."""
    head = c.PORT_FILTERED.addresses[0]
    assert head.tcp is not None
    clear = EgressCheck(address=head.address, port=head.tcp.port, status="clear")
    wall = FirewallMatch(
        hook="output",
        decision="drop",
        rule=RuleRef(family="inet", table="filter", chain="output", position=1,
                     text="tcp dport 5432 drop", handle=3, source="nft"),
    )  # fmt: skip
    ev = replace(
        c.PORT_FILTERED,
        addresses=(replace(head, egress=clear, firewall=wall),),
    )
    _, verdict = diagnose(ev)
    assert verdict.cause == "port.filtered"


def test_unknown_ruleset_is_said_to_be_unknown() -> None:
    """An unreadable ruleset is reported as unknown with the reason, never as 'accept'."""
    wall = FirewallMatch(hook="output", decision="unknown", error="nft: Operation not permitted")
    assert firewall_text(wall) == (
        "this host's output rules: unknown (nft: Operation not permitted)"
    )


def test_iptables_rule_fix_uses_the_position() -> None:
    """A rule read from iptables-save is removed by chain position with the right tool."""
    wall = FirewallMatch(
        hook="input",
        decision="drop",
        rule=RuleRef(family="ip6", table="filter", chain="INPUT", position=4,
                     text="-A INPUT -p tcp --dport 22 -j DROP", source="iptables-legacy"),
        origin=Origin(tool="ufw", description="ufw rule: deny 22"),
    )  # fmt: skip
    assert rule_fix(wall) == (
        "remove or narrow the rule after review: ip6tables-legacy -t filter -D INPUT 4 "
        "(it comes from ufw rule: deny 22: change it there)",
    )


def test_local_input_drop_is_the_cause_not_the_missing_listener() -> None:
    """On the server itself a silent SYN to a port nothing listens on is the input rule's
    drop (no listener would have answered with a reset); the missing listener is a warning."""
    _, verdict = diagnose(c.LOCAL_INPUT_DROP)
    assert verdict.cause == "port.filtered"
    assert verdict.summary == "this host's own input firewall drops the SYN to 127.0.0.1:5432"
    assert "inet f input handle 2: tcp dport 5432 drop" in " ".join(verdict.evidence)
    assert [(w.cause, w.severity) for w in verdict.warnings] == [("port.refused", "warn")]


def test_missing_listener_explains_a_reset_only() -> None:
    """The same server read with a reset as the connect's outcome is port.refused itself."""
    head = c.LOCAL_INPUT_DROP.addresses[0]
    assert head.tcp is not None
    reset = replace(head, tcp=replace(head.tcp, outcome="refused"), firewall=None)
    _, verdict = diagnose(replace(c.LOCAL_INPUT_DROP, addresses=(reset,)))
    assert verdict.cause == "port.refused"
    assert verdict.warnings == ()


def test_silent_syn_without_root_does_not_clear_this_hosts_output_rules() -> None:
    """Not root: neither the raw SYN nor the ruleset read cleared this host's output rules,
    so the verdict says so and puts that check first; as root, with egress clear, it blames
    the path and the server only."""
    _, verdict = diagnose(c.PORT_FILTERED)
    assert verdict.summary.endswith(
        "(this host's own output rules could not be ruled out without root)"
    )
    assert verdict.fix[0] == (
        "first rule out this host's own output rules: run the check again as root"
    )
    head = c.PORT_FILTERED.addresses[0]
    clear = EgressCheck(address=head.address, port=5432, status="clear")
    _, rooted = diagnose(replace(c.PORT_FILTERED, addresses=(replace(head, egress=clear),)))
    assert rooted.summary == "no answer from 10.0.2.5:5432: a firewall silently drops the SYN"
    assert rooted.fix[0].startswith("on the server, find the DROP rule")
