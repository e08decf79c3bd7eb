"""The matrix of netdx verify (groups expand on both sides, inventory names map to
ansible_host) and the judgement of each case (deny_by decides an expected deny)."""

from __future__ import annotations

import pytest

from netdx.errors import UsageError
from netdx.model import Report, Target, Verdict
from netdx.verify.flows import parse_flows
from netdx.verify.inventory import parse_inventory
from netdx.verify.matrix import Case, expand, judge

INVENTORY = parse_inventory(
    "[web]\nweb[1:2] ansible_host=10.0.0.1\n[db]\ndb1 ansible_host=10.0.1.1\n"
    "db2 ansible_host=fd00::2\n",
    source="hosts.ini",
)


def flows(body: str) -> str:
    return "flows:\n" + body


def test_groups_expand_to_every_source_times_every_destination() -> None:
    """web (2 hosts) × db (2 hosts) is four cases; destinations are probed at ansible_host."""
    cases = expand(parse_flows(flows("  - {from: web, to: 'db:5432', expect: allow}\n")), INVENTORY)
    assert [(c.source_group, c.source_name, c.destination) for c in cases] == [
        ("web", "web1", "db1:5432"),
        ("web", "web1", "db2:5432"),
        ("web", "web2", "db1:5432"),
        ("web", "web2", "db2:5432"),
    ]
    assert [c.target.host for c in cases[:2]] == ["10.0.1.1", "fd00::2"]
    assert all(c.target.port == 5432 for c in cases)


def test_local_hosts_urls_and_unknown_names() -> None:
    """`from: local` runs here; a host source keeps its first group; a URL and a name the
    inventory does not know are probed as typed."""
    text = flows(
        "  - {from: local, to: 'https://example.test/health', expect: allow}\n"
        "  - {from: web1, to: 'other.test:25', expect: deny}\n"
        "  - {from: local, to: 'db1', expect: allow}\n"
    )
    url, host, bare = expand(parse_flows(text), INVENTORY)
    assert url.source is None and url.source_group == "local" and url.target.scheme == "https"
    assert host.source_group == "web" and host.source_name == "web1"
    assert host.target.host == "other.test" and host.destination_host is None
    assert bare.target.host == "10.0.1.1" and bare.target.port is None


@pytest.mark.parametrize(
    ("body", "inventory", "expected"),
    [
        (
            "  - {from: nope, to: 'x:1', expect: allow}\n",
            INVENTORY,
            "f.yaml:2: from: unknown group or host 'nope'",
        ),
        (
            "  - {from: web, to: 'x:1', expect: allow}\n",
            None,
            "f.yaml:2: from: 'web' names inventory hosts: give -i",
        ),
        (
            "  - {from: local, to: 'db:99999', expect: allow}\n",
            INVENTORY,
            "f.yaml:2: to: 'db:99999': port must be",
        ),
        ("  - {from: local, to: 'bad host:1', expect: allow}\n", None, "f.yaml:2: to: bad target"),
    ],
)
def test_bad_names_and_ports_point_at_the_flow(body: str, inventory: object, expected: str) -> None:
    """Unknown groups, a missing inventory and bad ports name the flow's line."""
    with pytest.raises(UsageError) as info:
        expand(parse_flows(flows(body), source="f.yaml"), inventory)  # type: ignore[arg-type]
    assert str(info.value).startswith(expected), str(info.value)


def case(expect: str, deny_by: str = "") -> Case:
    extra = f", deny_by: [{deny_by}]" if deny_by else ""
    text = flows(f"  - {{from: local, to: 'db:5432', expect: {expect}{extra}}}\n")
    (only,) = expand(parse_flows(text), None)
    return only


def report(cause: str) -> Report:
    target = Target(raw="db:5432", host="db", port=5432)
    return Report(
        target=target, steps=(), verdict=Verdict(cause=cause, summary=cause), elapsed_ms=1.0
    )


@pytest.mark.parametrize(
    ("expect", "deny_by", "cause", "outcome"),
    [
        ("allow", "", "ok", "pass"),
        ("allow", "", "port.filtered", "fail"),
        ("deny", "", "ok", "fail"),
        ("deny", "", "port.refused", "pass"),
        ("deny", "", "unknown", "fail"),
        ("deny", "port.filtered, firewall.reject_admin", "firewall.reject_admin", "pass"),
        ("deny", "port.filtered", "port.refused", "fail"),  # the service is down, not blocked
    ],
)
def test_judgement(expect: str, deny_by: str, cause: str, outcome: str) -> None:
    """An expected deny passes only on a cause of deny, and on one of deny_by when given."""
    assert judge(case(expect, deny_by), report(cause)).outcome == outcome


def test_no_report_is_an_error() -> None:
    """A case netdx could not run is an error with the reason, whatever was expected."""
    judgement = judge(case("deny"), None, "remote source probes are not available yet")
    assert (judgement.outcome, judgement.cause) == ("error", "")
    assert judgement.reason == "remote source probes are not available yet"


def test_an_unreachable_source_is_an_error_with_its_ssh_cause() -> None:
    """A source ssh could not log into: an error whose cause is ssh's status, even for a
    flow expected denied (it was never checked), with ssh's words as the reason."""
    why = "ssh.auth: root@10.0.0.1: Permission denied (publickey)"
    judgement = judge(case("deny"), None, why, error_cause="ssh.auth")
    assert (judgement.outcome, judgement.cause, judgement.reason) == ("error", "ssh.auth", why)
