"""The firewall probe's shortcut for a namespace without any table (`firewall.unhooked.bare`)
is the very match `explain` makes of that namespace, and the probe takes it only then."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from netdx.budget import Deadline
from netdx.collect.system import RunResult
from netdx.firewall import explain as explain_module
from netdx.firewall import live, present
from netdx.firewall.explain import explain_local
from netdx.firewall.model import Packet
from netdx.firewall.present import Present
from netdx.firewall.unhooked import bare, holds_no_table
from netdx.model import RouteLookup
from netdx.model.firewall import FlowPacket
from netdx.probes.firewall import local_firewall_sync

NO_TABLE = Present(nft=frozenset(), legacy=frozenset())
FLOWS = [
    ("input", FlowPacket(family=4, saddr="127.0.0.1", daddr="127.0.0.1", dport=5432, iif="lo")),
    ("input", FlowPacket(family=6, saddr="::1", daddr="::1", dport=80, iif="lo")),
    ("output", FlowPacket(family=4, saddr="10.0.0.10", daddr="10.0.0.20", dport=5432,
                          oif="eth0")),
]


def _no_command(deadline: Deadline, netns: str | None = None) -> live.Runner:
    def run(argv: Sequence[str]) -> RunResult:
        raise AssertionError(f"ran {argv}: a namespace without tables needs no command")

    return run


@pytest.mark.parametrize(("hook", "flow"), FLOWS)
def test_bare_is_what_explain_makes_of_a_namespace_without_tables(
    hook: str, flow: FlowPacket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Capture (no command runs), build the empty ruleset, walk it, explain: the match
    equals `bare` field for field (accept by no base chain, no origin, no near miss)."""
    monkeypatch.setattr(live, "subprocess_runner", _no_command)
    packet = Packet(family=flow.family, saddr=flow.saddr, daddr=flow.daddr, dport=flow.dport,
                    iif=flow.iif, oif=flow.oif)
    full = explain_local(packet, hook, deadline=Deadline.after(5.0),  # type: ignore[arg-type]
                         present=NO_TABLE)
    assert full.decision == "accept" and full.packet == flow
    assert bare(flow, hook) == full  # type: ignore[arg-type]


def _route(source: str, interface: str | None) -> RouteLookup:
    return RouteLookup(address="10.0.0.20", status="ok", source=source, interface=interface)


@pytest.mark.parametrize(("hook", "flow"), FLOWS)
def test_the_probe_answers_bare_when_no_table_is_present(
    hook: str, flow: FlowPacket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no table present the probe gives `bare` without reading a ruleset."""
    monkeypatch.setattr(present, "present", lambda timeout: NO_TABLE)

    def no_explain(*args: object, **kwargs: object) -> None:
        raise AssertionError("explain_local ran for a namespace without tables")

    monkeypatch.setattr(explain_module, "explain_local", no_explain)
    route = _route(flow.saddr, flow.oif or "lo")
    found = local_firewall_sync(flow.daddr, flow.dport or 0, route=route, hook=hook,  # type: ignore[arg-type]
                                deadline=Deadline.after(5.0))
    assert found == bare(flow, hook)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("tables", "interface"),
    [(Present(nft=frozenset({"inet"}), legacy=frozenset()), "eth0"),
     (Present(nft=frozenset(), legacy=frozenset({4})), "eth0"),
     (None, "eth0"),  # not known (not root): every command runs
     (NO_TABLE, None)],  # no output interface known: `explain` asks the routes for it
)
def test_the_probe_reads_the_ruleset_otherwise(
    tables: Present | None, interface: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A table present, tables not known, or an output interface to find: the full path
    runs, handed the tables already read (not read twice)."""
    monkeypatch.setattr(present, "present", lambda timeout: tables)
    handed: list[Present | None] = []

    def full(packet: Packet, hook: str, **kwargs: object) -> str:
        handed.append(kwargs["present"])  # type: ignore[arg-type]
        return "full"

    monkeypatch.setattr(explain_module, "explain_local", full)
    found = local_firewall_sync("10.0.0.20", 5432, route=_route("10.0.0.10", interface),
                                hook="output", deadline=Deadline.after(5.0))
    assert found == "full" and handed == [tables]  # type: ignore[comparison-overlap]


def test_only_a_known_empty_namespace_holds_no_table() -> None:
    """Unknown (None), an nft table or a legacy one: not empty."""
    assert holds_no_table(NO_TABLE)
    assert not holds_no_table(None)
    assert not holds_no_table(Present(nft=frozenset({"ip"}), legacy=frozenset()))
    assert not holds_no_table(Present(nft=frozenset(), legacy=frozenset({6})))
