"""The join: two real `netdx.collect/1` documents (read in lab namespaces before and after a
client's SYNs, fixtures/remote/make_join_fixtures.py) become one RemoteEvidence, and the
verdict joins it with the client's evidence."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import evidence_cases as c
import pytest

from netdx.diagnose import diagnose
from netdx.model import CheckEvidence
from netdx.model.remote import RemoteEvidence, SshOutcome
from netdx.remote.join import remote_evidence

FIXTURES = Path(__file__).parent / "fixtures" / "remote"
SERVER, CLIENT = "10.0.0.2", "10.0.0.10"
LINK = SshOutcome(destination="admin@srv", status="ok", elapsed_ms=380.0)


def doc(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def join(before: Any, after: Any, *, client: str | None = CLIENT) -> RemoteEvidence:
    return remote_evidence(LINK, before, after, client=client, address=SERVER, port=5432)


def with_capture(document: dict[str, Any], *packets: dict[str, Any]) -> dict[str, Any]:
    """The after-document as the session drains the capture into it (spec section 2)."""
    out = copy.deepcopy(document)
    out["collectors"]["capture"] = {
        "error": None,
        "needs_root": False,
        "data": {"port": 5432, "packets": list(packets), "truncated": False,
                 "kernel_dropped": 0, "window_ms": 950.0},
    }  # fmt: skip
    return out


def syn(ifname: str) -> dict[str, Any]:
    return {"direction": "in", "src": CLIENT, "sport": 40100, "dst": SERVER, "dport": 5432,
            "flags": "S", "ifname": ifname, "at_ms": 12.5}  # fmt: skip


def client_timeout() -> CheckEvidence:
    """The client's side: 10.0.0.2:5432 timed out; egress clear."""
    ev = c.PORT_FILTERED
    head = ev.addresses[0]
    return replace(
        ev,
        dns=c.dns_ok(c.DB, SERVER),
        addresses=(
            replace(
                head,
                address=SERVER,
                route=c.route_ok(SERVER, gateway=None),
                echo=c.echo_reply(SERVER, ttl=64),
                tcp=c.tcp(SERVER, 5432, "timeout"),
                egress=c.EgressCheck(address=SERVER, port=5432, status="clear"),
            ),
        ),
    )


def test_drop_rule_is_named_with_its_counter_from_the_two_readings() -> None:
    """The nft rule that dropped the three SYNs is found for the flow from the client, with
    its counter 0 → 3 read from the two documents."""
    ev = join(doc("drop-before"), doc("drop-after"))
    assert ev.firewall is not None
    assert ev.firewall.match.decision == "drop"
    assert ev.firewall.match.where == "inet filter input handle 2"
    assert (ev.firewall.counter_before, ev.firewall.counter_after) == (0, 3)
    assert ev.root is True and ev.ssh.euid == 0 and ev.ssh.python
    assert SERVER in ev.addresses and ev.owns(SERVER) is True
    assert ev.server is not None and [s.local for s in ev.server.listeners] == ["0.0.0.0:5432"]


def test_joined_documents_confirm_port_filtered() -> None:
    """Real documents through the join and the rules: port.filtered, the rule confirmed by
    its counter."""
    remote = join(doc("drop-before"), doc("drop-after"))
    _, verdict = diagnose(replace(client_timeout(), remote=remote))
    assert verdict.cause == "port.filtered"
    assert "(confirmed)" in verdict.summary
    assert "inet filter input handle 2: ip saddr 10.0.0.10 tcp dport 5432" in verdict.summary
    assert "counter +3 during this check" in verdict.summary


def test_one_reading_gives_no_counter_delta() -> None:
    """With the after-document missing, the rule is found but its counter is not compared:
    a candidate, never confirmed."""
    remote = join(doc("drop-before"), None)
    assert remote.firewall is not None and remote.firewall.counter_delta is None
    assert remote.counters == ()
    _, verdict = diagnose(replace(client_timeout(), remote=remote))
    assert verdict.cause == "port.filtered" and "(a candidate)" in verdict.summary


def test_reverse_path_counter_and_route_back() -> None:
    """rp_filter on the server: the counter rose by the three SYNs, the route back to the
    client leaves by eth1."""
    ev = join(doc("rpf-before"), doc("rpf-after"))
    rp = ev.counter("TcpExtIPReversePathFilter")
    assert rp is not None and rp.delta == 3
    assert ev.return_path is not None and ev.return_path.route is not None
    assert ev.return_path.route.interface == "eth1"
    assert ev.firewall is not None and ev.firewall.match.decision == "accept"


def test_capture_gives_the_syn_interface_and_its_rp_filter() -> None:
    """A capture that saw the SYN on eth0 names it; rp_filter is max(all, eth0) = 1, and the
    verdict is route.rp_filter with the asymmetry quoted."""
    ev = join(doc("rpf-before"), with_capture(doc("rpf-after"), syn("eth0"), syn("eth0")))
    assert ev.return_path is not None
    assert (ev.return_path.syn_interface, ev.return_path.rp_filter) == ("eth0", 1)
    assert ev.capture is not None and len(ev.capture.syns_in(CLIENT)) == 2
    _, verdict = diagnose(replace(client_timeout(), remote=ev))
    assert verdict.cause == "route.rp_filter"
    assert any("arrives on eth0, the route back leaves by eth1" in e for e in verdict.evidence)


def test_unknown_client_address_evaluates_nothing() -> None:
    """Without the client's address as the server sees it, no flow is evaluated and no
    route back is looked at."""
    ev = join(doc("drop-before"), doc("drop-after"), client=None)
    assert ev.firewall is None and ev.return_path is None
    assert ev.server is not None


def test_failed_link_carries_only_the_outcome() -> None:
    """A link that failed: the outcome, nothing read."""
    failed = SshOutcome(destination="admin@srv", status="auth", message="Permission denied")
    ev = remote_evidence(failed, None, None, client=CLIENT, address=SERVER, port=5432)
    assert ev.ssh == failed and ev.server is None and ev.firewall is None and ev.notes == ()


def test_not_root_says_what_stays_unknown() -> None:
    """A reading by a non-root collector whose ruleset read was refused: root False, and a
    note says the ruleset is unknown."""
    before, after = doc("drop-before"), doc("drop-after")
    for d in (before, after):
        d["euid"] = 1000
        d["collectors"]["firewall"] = {"error": "nft: Operation not permitted",
                                       "needs_root": True, "data": {}}  # fmt: skip
    ev = join(before, after)
    assert ev.root is False
    assert any(n.startswith("not root on the server: the ruleset") for n in ev.notes)
    assert ev.firewall is not None and ev.firewall.match.decision == "unknown"


def _mutate(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    out = doc("drop-after")
    node: Any = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


@pytest.mark.parametrize(
    "after",
    [
        [],
        "netdx",
        {"schema": "netdx.collect/2"},
        _mutate(("euid",), "root"),
        _mutate(("collectors", "sockets", "data", "rows"), [[1, 2, 3]]),
        _mutate(("collectors", "firewall", "data", "commands"), "nft"),
        _mutate(("collectors", "counters", "data", "files"), {"/proc/net/netstat": 7}),
        with_capture(doc("drop-after"), {"direction": "sideways"}),
    ],
)
def test_malformed_document_becomes_a_note(after: Any) -> None:
    """A malformed or hostile after-document never raises: the join notes what it could not
    read and keeps the rest."""
    ev = join(doc("drop-before"), after)
    assert ev.notes, "the malformed part should be noted"
    assert ev.ssh.ok


def test_unreadable_route_and_addresses_stay_unknown() -> None:
    """A route entry or an address list that cannot be read is unknown, not a crash: no
    route back, and no claim that the server lacks the address."""
    bad_route = _mutate(("collectors", "routes", "data", "lookups"),
                        [{"address": CLIENT, "route": 5}])  # fmt: skip
    ev = join(bad_route, bad_route)
    assert ev.notes or ev.return_path is None or ev.return_path.route is None
    bad_addresses = _mutate(("collectors", "addresses", "data", "stdout"), "[{]")
    ev = join(bad_addresses, bad_addresses)
    assert ev.owns(SERVER) is not False


def test_nothing_readable_is_unknown() -> None:
    """Two unreadable documents: the link worked, the server's side is unknown."""
    ev = join({"schema": 1}, None)
    assert ev.server is None and ev.firewall is None
    assert ev.notes[-1] == "the server sent no readable document: its side is unknown"
