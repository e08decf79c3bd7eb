"""`netdx inspect --port N`: the server-side verdict for one TCP port on this host.

The flow is check's: `probes.server` reads the evidence (`ServerEvidence`), the rules of
`diagnose.server` judge it and `diagnose.engine`'s one picker chooses the verdict;
`Inspection` is the finished value the renderers read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import field
from typing import TYPE_CHECKING

from netdx.budget import Deadline
from netdx.model import Finding, Verdict
from netdx.model.record import record
from netdx.model.server import ServerEvidence, Socket, UdpPort
from netdx.sockets.dump import DumpSource

if TYPE_CHECKING:
    from netdx.collect.system import Host

INSPECT_SCHEMA = "netdx.inspect/1"


@record
class Inspection:
    """The server-side answer for one port: the evidence read, every finding, the verdict,
    and the count of connections per state (ss names)."""

    server: ServerEvidence
    verdict: Verdict
    findings: tuple[Finding, ...]
    states: Mapping[str, int] = field(default_factory=dict)
    udp: UdpPort | None = None  # the port's UDP sockets (a local read only)
    schema: str = INSPECT_SCHEMA

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def address(self) -> str | None:
        return self.server.address

    @property
    def listeners(self) -> tuple[Socket, ...]:
        return self.server.listeners

    @property
    def notes(self) -> tuple[str, ...]:
        return (self.server.error,) if self.server.error else self.server.notes


def inspect_evidence(server: ServerEvidence, udp: UdpPort | None = None) -> Inspection:
    """Judge read evidence (pure): the findings of diagnose.server and the one verdict of
    the engine's picker, which weighs the port's UDP sockets too when they were read
    (`diagnose.server_udp`)."""
    from netdx.diagnose.engine import diagnose_server

    findings, verdict = diagnose_server(server, udp)
    states = Counter(s.state_name for s in server.connections)
    return Inspection(
        server=server, verdict=verdict, findings=findings, states=dict(sorted(states.items())),
        udp=udp,
    )  # fmt: skip


def inspect_local(
    port: int,
    *,
    deadline: Deadline,
    address: str | None = None,
    sample_gap: float = 0.3,
    source: DumpSource | None = None,
    proc: str = "/proc",
    host: Host | None = None,
) -> Inspection:
    """Read `port` on this host (this network namespace) and judge it. `address` is the
    address a client connects to, if known. A second CLOSE-WAIT sample is taken
    `sample_gap` seconds later when there are a few. The kernel's counters are read
    through `host` (this one by default)."""
    from netdx.diagnose.server import CLOSE_WAIT_THRESHOLD
    from netdx.probes.server import read_server_now

    server = read_server_now(
        address, port, deadline=deadline, sample_gap=sample_gap, enough=CLOSE_WAIT_THRESHOLD,
        source=source, proc=proc, host=host,
    )  # fmt: skip
    if source is not None:  # a replayed TCP dump: there is no live UDP side to read
        return inspect_evidence(server)
    from netdx.netlink import NetlinkError
    from netdx.sockets.udp import read_udp_port

    try:
        udp = read_udp_port(port, deadline=deadline, proc=proc, host=host)
    except (NetlinkError, OSError):
        udp = None  # the TCP verdict stands on its own
    return inspect_evidence(server, udp)


__all__ = [
    "INSPECT_SCHEMA",
    "Inspection",
    "inspect_evidence",
    "inspect_local",
]
