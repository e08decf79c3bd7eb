"""`explain` on the lab scenarios (captured in a namespace): each names the right rule, in
the words of ufw, firewalld or Docker where they made it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from netdx.firewall import __all__ as public_names
from netdx.firewall.evaluate import Direction
from netdx.firewall.explain import EXPLAIN_SCHEMA, explain, to_json
from netdx.firewall.model import Packet
from netdx.firewall.render import render_explanation
from netdx.firewall.sources import Capture, build_ruleset
from netdx.model.firewall import FirewallMatch

FIXTURES = Path(__file__).parent / "fixtures" / "firewall"


def explain_in(
    name: str,
    src: str,
    dst: str,
    port: int,
    hook: Direction = "input",
    proto: str = "tcp",
    oif: str | None = None,
) -> FirewallMatch:
    data = json.loads((FIXTURES / f"{name}.capture.json").read_text())
    packet = Packet.build(saddr=src, daddr=dst, proto=proto, dport=port, iif="ndxh-eth0")
    return explain(build_ruleset(Capture.from_json(data)), replace(packet, oif=oif), hook)


def test_ufw_deny_one_source() -> None:
    """`ufw deny from 10.0.0.10 to any port 5432` is found and said in ufw's words."""
    e = explain_in("ufw", "10.0.0.10", "10.0.0.20", 5432)
    assert e.decision == "drop" and e.rule is not None
    assert (e.rule.chain, e.rule.position, e.rule.source) == ("ufw-user-input", 2, "iptables-nft")
    assert e.origin is not None
    assert e.origin.description == "ufw rule: deny from 10.0.0.10 to any port 5432"


def test_ufw_allow_and_default_policy() -> None:
    """Another source is allowed by ufw's subnet rule; a port without a rule hits ufw's
    default incoming policy."""
    allowed = explain_in("ufw", "10.0.0.11", "10.0.0.20", 5432)
    assert allowed.origin is not None
    assert (
        allowed.origin.description == "ufw rule: allow from 10.0.0.0/24 to any port 5432 proto tcp"
    )
    default = explain_in("ufw", "10.0.0.11", "10.0.0.20", 80)
    assert default.decision == "drop" and default.origin is not None
    assert default.origin.description == "ufw default input policy: deny"


def test_firewalld_zone_without_service() -> None:
    """A port no service of zone public opens is rejected by firewalld's final reject, and the
    zone is named."""
    e = explain_in("firewalld", "10.0.0.10", "10.0.0.20", 5432)
    assert (e.decision, e.reject_with) == ("reject", "icmpx admin-prohibited")
    assert e.rule is not None and e.rule.chain == "filter_INPUT"
    assert e.origin is not None and e.origin.tool == "firewalld"
    assert "zone public" in e.origin.description
    ssh = explain_in("firewalld", "10.0.0.10", "10.0.0.20", 22)
    assert ssh.decision == "accept" and ssh.rule is not None
    assert ssh.rule.chain == "filter_IN_public_allow"


def test_iptables_reject_port_unreachable() -> None:
    """A legacy iptables REJECT names its type (the ICMP a real closed port never sends)."""
    e = explain_in("reject", "10.0.0.10", "10.0.0.20", 5432)
    assert (e.decision, e.reject_with) == ("reject", "icmp port-unreachable")
    assert e.rule is not None and e.rule.source == "iptables-legacy"
    assert e.rule.comment == "postgres: app servers only"


def test_nft_set_misses_client() -> None:
    """A client missing from the allowed set falls to the policy; the set rule is shown as
    the near miss, with the set named."""
    e = explain_in("nftset", "10.0.0.30", "10.0.0.20", 5432)
    assert e.decision == "drop" and e.policy == "inet filter input policy drop"
    (miss,) = e.near_misses
    assert miss.rule.comment == "postgres clients"
    assert miss.failed == "ip saddr: 10.0.0.30 is not in @pg_clients"


def test_docker_user_chain() -> None:
    """A DOCKER-USER drop is named as Docker's user chain; another client reaches the
    published port through Docker's own chain."""
    e = explain_in("docker", "10.0.0.10", "172.17.0.2", 80, hook="forward", oif="ndxh-docker0")
    assert e.decision == "drop" and e.rule is not None and e.rule.chain == "DOCKER-USER"
    assert e.origin is not None and e.origin.tool == "docker"
    ok = explain_in("docker", "10.0.0.11", "172.17.0.2", 80, hook="forward", oif="ndxh-docker0")
    assert ok.decision == "accept" and ok.rule is not None and ok.rule.chain == "DOCKER"
    assert any("nat chain not evaluated" in n for n in ok.notes)


def test_json_document() -> None:
    """The JSON form carries the schema, the decision, the rule with its origin, the path and
    the unknown list."""
    doc = to_json(explain_in("ufw", "10.0.0.10", "10.0.0.20", 5432))
    assert doc["schema"] == EXPLAIN_SCHEMA == "netdx.firewall.explain/1"
    assert doc["decision"] == "drop" and doc["reject_with"] is None and doc["unknown"] == []
    assert doc["rule"]["tool"] == "ufw" and doc["rule"]["position"] == 2
    assert doc["path"][-1] == {
        "action": "rule",
        "family": "ip",
        "table": "filter",
        "chain": "ufw-user-input",
        "source": "iptables-nft",
        "handle": None,
        "position": 2,
        "verdict": "drop",
    }
    json.dumps(doc)


def test_terminal_text() -> None:
    """The terminal form, exactly."""
    text = render_explanation(explain_in("reject", "10.0.0.10", "10.0.0.20", 5432))
    assert text == "\n".join(
        [
            "firewall: REJECT (icmp port-unreachable)  10.0.0.10 → 10.0.0.20:5432/tcp  "
            "[hook input: given]",
            "rule: ip filter INPUT rule 4 (iptables-legacy)",
            "    -A INPUT -p tcp -m multiport --dports 5432,6432 -m comment --comment "
            '"postgres: app servers only" -j REJECT --reject-with icmp-port-unreachable',
            "    comment: postgres: app servers only",
            "path:",
            "    ip filter INPUT (iptables-legacy) → reject",
        ]
    )


def test_public_names() -> None:
    """Everything in netdx.firewall.__all__ exists."""
    import netdx.firewall as package

    assert public_names
    assert [name for name in public_names if not hasattr(package, name)] == []
