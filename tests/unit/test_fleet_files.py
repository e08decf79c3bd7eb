"""The fleet lab's files, without root: its flows file and INI inventory are valid for
`netdx verify`, and verify's own expansion of them gives exactly the cases, in the order,
that the lab's expectations list (so the lab test compares like with like)."""

from __future__ import annotations

from pathlib import Path

from netdx.lab import fleet
from netdx.verify.flows import parse_flows
from netdx.verify.inventory import parse_inventory
from netdx.verify.matrix import expand


def test_verify_expands_the_fleet_files_into_the_expected_cases() -> None:
    """24 cases, each (flow, source host, destination) as `expected_cases` lists them, every
    source an inventory host reached at its fleet address with the fleet's key."""
    key, known = Path("/k/id_ed25519"), Path("/k/known_hosts")
    inventory = parse_inventory(fleet.inventory_ini(key, known), source="hosts.ini")
    cases = expand(parse_flows(fleet.flows_yaml(), source="flows.yaml"), inventory)
    got = [(c.flow.name, c.source_name, c.destination) for c in cases]
    want = [(e.flow, e.source, e.destination) for e in fleet.expected_cases()]
    assert got == want and len(want) == 24
    web06 = inventory.host("web06")
    assert web06 is not None and web06.address == "10.99.1.6" and web06.key == str(key)
    assert ("UserKnownHostsFile", str(known)) in web06.ssh_options().options
    assert {h.name for h in inventory.members("fleet") or ()} == {h.name for h in fleet.HOSTS}


def test_every_fault_sets_a_distinct_expectation() -> None:
    """The six faults each appear in the expectations: the four deny causes and the two
    ssh statuses of the sources netdx cannot log into."""
    causes = {e.cause for e in fleet.expected_cases() if e.cause != "ok"}
    assert causes == {
        "port.filtered", "firewall.reject_admin", "service.loopback_only", "port.refused",
        "reach.host_unreachable", "ssh.auth", "ssh.unreachable",
    }  # fmt: skip
    assert all(len(h.namespace) <= 15 for h in fleet.HOSTS)  # also each one's link name
