"""Every server-side and firewall evidence type round-trips through the codec:
`from_data(T, to_data(x)) == x`, nested values included (a server read elsewhere, or a
captured fixture, comes back as the same value)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from netdx.budget import Deadline
from netdx.firewall.explain import explain
from netdx.firewall.model import Packet
from netdx.firewall.sources import Capture, build_ruleset
from netdx.model import AddressEvidence
from netdx.model.codec import from_data, to_data
from netdx.model.firewall import (
    ChainStep,
    FirewallMatch,
    FlowPacket,
    NearMiss,
    Origin,
    RuleRef,
)
from netdx.model.server import (
    TCP_LISTEN,
    Process,
    ProcessIssue,
    ServerEvidence,
    Socket,
    SocketHolder,
)
from netdx.netlink.fake import ReplayTransport
from netdx.probes.server import read_server_now

UNIT = Path(__file__).parent

LISTENER = Socket(proto="tcp", family=10, state=TCP_LISTEN, src="::", sport=8443, dst="::",
                  dport=0, rqueue=1, wqueue=128, uid=26, inode=4242, v6only=True)  # fmt: skip
PROCESS = Process(pid=901, command="postgres", user="postgres", uid=26)
RULE = RuleRef(family="ip", table="filter", chain="ufw-user-input", position=2,
               text="-A ufw-user-input -s 10.0.0.10/32 -p tcp --dport 5432 -j DROP",
               comment="from ufw", source="iptables-nft")  # fmt: skip
MATCH = FirewallMatch(
    hook="input",
    decision="drop",
    packet=FlowPacket(family=4, saddr="10.0.0.10", daddr="10.0.0.20", dport=5432, iif="eth0"),
    rule=RULE,
    origin=Origin(tool="ufw", description="ufw rule: deny from 10.0.0.10"),
    path=(
        ChainStep(action="hook", family="ip", table="filter", chain="INPUT"),
        ChainStep(
            action="rule",
            family="ip",
            table="filter",
            chain="ufw-user-input",
            rule=RULE,
            verdict="drop",
        ),
    ),
    near_misses=(NearMiss(rule=RULE, failed="ip saddr: 10.0.0.10 is not 10.0.0.0/24"),),
    notes=("a note",),
    hook_reason="10.0.0.20 is a local address",
)
SERVER = ServerEvidence(
    port=8443,
    address="::1",
    listeners=(LISTENER,),
    processes=(PROCESS,),
    holders=(SocketHolder(inode=4242, pid=901, fd=5), SocketHolder(inode=4242, pid=902, fd=5)),
    unreadable=(ProcessIssue(pid=1, command=None, reason="not readable"),),
    earlier_close_wait=2,
    listen_overflows=0,
    notes=("some owners are not readable",),
)

VALUES: list[Any] = [
    LISTENER,
    PROCESS,
    SocketHolder(inode=1, pid=2, fd=3),
    ProcessIssue(pid=7, command="sshd", reason="needs root"),
    SERVER,
    ServerEvidence(port=80, error="server side not read: EPERM"),
    RULE,
    MATCH,
    FirewallMatch(hook="output", decision="unknown", error="nft: Operation not permitted"),
    AddressEvidence(address="::1", family=6, server=SERVER, firewall=MATCH),
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_server_side_values_round_trip(value: Any) -> None:
    """The codec rebuilds exactly the value it wrote, of the same type."""
    assert from_data(type(value), to_data(value)) == value


def test_a_real_server_read_round_trips(tmp_path: Path) -> None:
    """Evidence read from replayed sock_diag dumps survives the codec unchanged."""
    folder = UNIT / "fixtures" / "sockdiag"
    cases = ("tcp4_listen", "tcp6_listen", "tcp4_port_8080", "tcp6_ports_8443_9000")
    replies = [
        [bytes.fromhex(x[2:]) for x in (folder / f"{c}.hex").read_text().splitlines()
         if x.startswith("< ")]
        for c in cases
    ]  # fmt: skip
    (tmp_path / "self" / "ns").mkdir(parents=True)
    (tmp_path / "self" / "ns" / "net").write_text("")
    server = read_server_now(None, 8080, deadline=Deadline.after(5),
                             source=ReplayTransport(replies), proc=str(tmp_path))  # fmt: skip
    assert server.listeners and server.connections
    assert from_data(ServerEvidence, to_data(server)) == server


def test_a_real_explanation_round_trips() -> None:
    """`netdx firewall explain`'s answer on a captured ruleset is the evidence type, and
    survives the codec unchanged."""
    import json

    data = json.loads((UNIT / "fixtures" / "firewall" / "ufw.capture.json").read_text())
    packet = Packet.build(saddr="10.0.0.10", daddr="10.0.0.20", dport=5432, iif="ndxh-eth0")
    found = explain(build_ruleset(Capture.from_json(data)), packet, "input")
    assert isinstance(found, FirewallMatch) and found.rule is not None and found.path
    assert from_data(FirewallMatch, to_data(found)) == found
