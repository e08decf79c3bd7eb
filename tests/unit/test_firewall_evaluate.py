"""The evaluator on captured rulesets: verdicts, jumps, sets, maps, rejects, and "unknown"
when a construct the model does not understand decides."""

from __future__ import annotations

import json
from pathlib import Path

from netdx.firewall.evaluate import Evaluation, evaluate
from netdx.firewall.model import Packet, Ruleset
from netdx.firewall.sources import Capture, build_ruleset

FIXTURES = Path(__file__).parent / "fixtures" / "firewall"


def ruleset(name: str) -> Ruleset:
    data = json.loads((FIXTURES / f"{name}.capture.json").read_text())
    return build_ruleset(Capture.from_json(data))


def run(
    name: str,
    src: str,
    port: int,
    proto: str = "tcp",
    iif: str | None = "ndxh-eth0",
    dst: str = "10.0.0.20",
) -> Evaluation:
    packet = Packet.build(saddr=src, daddr=dst, proto=proto, dport=port, iif=iif)
    return evaluate(ruleset(name), packet, "input")


def test_named_set_and_anonymous_ranges_accept() -> None:
    """A source in a named interval set and a port in an anonymous range set is accepted by
    that rule, named with its handle and comment."""
    e = run("constructs", "10.0.0.7", 8080)
    assert e.decision == "accept"
    assert e.rule is not None and e.rule.comment == "web ok" and e.rule.handle is not None


def test_negated_prefix_reject_type() -> None:
    """`ip saddr != 10.0.0.0/8 udp dport 53 reject with icmp host-prohibited` rejects outsiders."""
    e = run("constructs", "11.0.0.7", 53, proto="udp")
    assert (e.decision, e.reject_with) == ("reject", "icmp host-prohibited")


def test_vmap_jump_return_then_unknown() -> None:
    """A verdict-map jump into a chain whose rule returns continues after the jump; the walk
    then stops at `limit` (not modelled) and names it instead of guessing."""
    e = run("constructs", "10.1.1.1", 5432)
    assert [s.action for s in e.path][:3] == ["hook", "jump", "return"]
    assert e.decision == "unknown" and e.unknown == ("limit",)


def test_goto_then_drop() -> None:
    """goto pg and pg's final drop drops the packet, with the path through the map."""
    e = run("constructs", "10.1.1.2", 6000)
    assert e.decision == "drop"
    assert [(s.action, s.chain) for s in e.path] == [
        ("hook", "input"),
        ("goto", "pg"),
        ("rule", "pg"),
    ]


def test_tcp_reset_only_for_tcp() -> None:
    """`reject with tcp reset` answers TCP with a reset and skips other protocols, as the
    kernel's hidden `meta l4proto tcp` dependency does."""
    assert run("constructs", "10.1.1.2", 9000).reject_with == "tcp reset"
    assert run("constructs", "10.1.1.2", 9000, proto="udp").reject_with != "tcp reset"


def test_missing_interface_lo_decided_rest_unknown() -> None:
    """With no input interface given, `iifname "lo"` is still decided for a remote source and
    a verdictless `iifname "eth*" counter` does not matter; a jump that depends on the
    output interface makes the answer unknown, naming why."""
    given, missing = (
        run("constructs", "10.1.1.2", 2000),
        run("constructs", "10.1.1.2", 2000, iif=None),
    )
    assert given.decision == missing.decision == "unknown"
    assert given.unknown == missing.unknown == ("limit",)
    packet = Packet.build(saddr="10.0.0.11", daddr="172.17.0.2", dport=80, iif="ndxh-eth0")
    e = evaluate(ruleset("docker"), packet, "forward")
    assert e.decision == "unknown"
    assert e.unknown == ("meta oifname (the output interface is not given)",)
    assert e.rule is not None and e.rule.text == "-A FORWARD -o ndxh-docker0 -j DOCKER"


def test_unknown_source_port_skipped_when_other_match_fails() -> None:
    """ufw's `--sport 67 --dport 68` rule does not need the unknown source port when the
    destination port already rules it out: the udp flow reaches ufw's deny."""
    e = run("ufw", "10.0.0.10", 5432, proto="udp")
    assert e.decision == "drop"
    assert e.rule is not None and e.rule.position == 3 and e.rule.chain == "ufw-user-input"


def test_raw_chain_sees_no_conntrack() -> None:
    """Before conntrack (raw, priority -300) every packet's ct state is invalid: the kernel
    drops a new flow there, and so does the evaluator."""
    e = run("raw", "10.0.0.10", 8443)
    assert e.decision == "drop" and e.rule is not None and e.rule.table == "raw"
    assert run("raw", "10.0.0.10", 22).decision == "accept"


def test_policy_names_chain() -> None:
    """When no rule decides, the base chain's policy does, and is named."""
    e = run("nftset", "10.0.0.30", 5432)
    assert e.decision == "drop" and e.rule is None
    assert e.policy == "inet filter input policy drop"


def test_empty_hook_accepts() -> None:
    """A hook without any base chain accepts."""
    packet = Packet.build(saddr="10.0.0.20", daddr="10.0.0.99", dport=1)
    e = evaluate(ruleset("reject"), packet, "forward")
    assert e.decision == "accept" and e.rule is None
