"""Rules and texts refined during integration with the real probes."""

from __future__ import annotations

import dataclasses

import evidence_cases as cases

from netdx.diagnose import diagnose
from netdx.diagnose.port import filtered, path_text
from netdx.model import CheckEvidence, FirewallMatch, Hop, PathTrace
from netdx.model.firewall import Origin, RuleRef


def test_dead_neighbour_is_not_blamed_on_a_firewall() -> None:
    """A silent SYN to an on-link host that never answered ARP is reach, not port.filtered."""
    assert filtered(cases.NEIGHBOUR_FAILED) is None
    steps, verdict = diagnose(cases.NEIGHBOUR_FAILED)
    assert verdict.cause == "reach.host_unreachable"
    port = next(s for s in steps if s.layer == "port")
    assert "firewall" not in port.summary


def test_neighbour_stop_is_explained() -> None:
    """A connect stopped because ARP/ND went unanswered says so in the evidence."""
    head = cases.NEIGHBOUR_FAILED.addresses[0]
    assert head.tcp is not None
    stopped = dataclasses.replace(head.tcp, timeout_basis="neighbour")
    ev = dataclasses.replace(
        cases.NEIGHBOUR_FAILED, addresses=(dataclasses.replace(head, tcp=stopped),)
    )
    _, verdict = diagnose(ev)
    assert any("ARP/ND unanswered" in line for line in verdict.evidence)


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
    _, verdict = diagnose(cases.LOCAL_LOOPBACK_ONLY)
    assert verdict.cause == "service.loopback_only"
    assert verdict.layer == "service"
    _, verdict = diagnose(cases.LOCAL_QUEUE_FULL)
    assert verdict.cause == "app.accept_queue_full"


def test_server_side_leak_is_a_warning_when_the_connection_works() -> None:
    """A CLOSE-WAIT leak does not fail a check whose connection succeeded: it rides along."""
    _, verdict = diagnose(cases.LOCAL_CLOSE_WAIT)
    assert verdict.cause == "ok"
    assert [w.cause for w in verdict.warnings] == ["app.close_wait_leak"]


def test_server_side_verdict_quotes_the_client_view_too() -> None:
    """The local verdict starts its evidence with the connect netdx itself made."""
    _, verdict = diagnose(cases.LOCAL_LOOPBACK_ONLY)
    assert verdict.evidence[0].startswith("TCP connect to 10.0.0.20:5432: refused")


def _with_firewall(ev: CheckEvidence, wall: FirewallMatch) -> CheckEvidence:
    """The case with this host's ruleset evaluation added to its first address."""
    head = ev.addresses[0]
    return dataclasses.replace(ev, addresses=(dataclasses.replace(head, firewall=wall),))


def test_local_egress_names_the_rule_and_its_removal() -> None:
    """With the output rule evaluated, local_egress quotes it and prints its removal."""
    wall = FirewallMatch(
        hook="output",
        decision="drop",
        rule=RuleRef(family="inet", table="filter", chain="output", position=1,
                     text="tcp dport 5432 drop", handle=7, source="nft"),
    )  # fmt: skip
    _, verdict = diagnose(_with_firewall(cases.LOCAL_EGRESS, wall))
    assert verdict.cause == "firewall.local_egress"
    assert "inet filter output handle 7: tcp dport 5432 drop" in " ".join(verdict.evidence)
    assert verdict.fix[0].endswith("nft delete rule inet filter output handle 7")


def test_output_rule_alone_does_not_override_a_clear_raw_syn() -> None:
    """When the raw SYN left the host, a model that says 'drop' is not trusted over the
    kernel: the verdict stays port.filtered, with the model's view as evidence."""
    from netdx.model import EgressCheck

    head = cases.PORT_FILTERED.addresses[0]
    assert head.tcp is not None
    clear = EgressCheck(address=head.address, port=head.tcp.port, status="clear")
    wall = FirewallMatch(
        hook="output",
        decision="drop",
        rule=RuleRef(family="inet", table="filter", chain="output", position=1,
                     text="tcp dport 5432 drop", handle=3, source="nft"),
    )  # fmt: skip
    ev = dataclasses.replace(
        cases.PORT_FILTERED,
        addresses=(dataclasses.replace(head, egress=clear, firewall=wall),),
    )
    _, verdict = diagnose(ev)
    assert verdict.cause == "port.filtered"


def test_unknown_ruleset_is_said_to_be_unknown() -> None:
    """An unreadable ruleset is reported as unknown with the reason, never as 'accept'."""
    from netdx.diagnose.port import firewall_text

    wall = FirewallMatch(hook="output", decision="unknown", error="nft: Operation not permitted")
    assert firewall_text(wall) == (
        "this host's output rules: unknown (nft: Operation not permitted)"
    )


def test_iptables_rule_fix_uses_the_position() -> None:
    """A rule read from iptables-save is removed by chain position with the right tool."""
    from netdx.diagnose.port import rule_fix

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
