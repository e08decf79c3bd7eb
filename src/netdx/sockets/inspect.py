"""`netdx inspect --port N`: the server-side verdict for one TCP port on this host.

The flow is check's: `probes.server` reads the evidence (`ServerEvidence`), the rules of
`diagnose.server` judge it and `diagnose.engine`'s one picker chooses the verdict;
`Inspection` is the finished value the renderers read.
"""

from __future__ import annotations

import ipaddress
import socket
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from netdx.budget import Deadline
from netdx.model import Finding, Verdict
from netdx.model.server import ServerEvidence, Socket
from netdx.sockets.dump import DumpSource

INSPECT_SCHEMA = "netdx.inspect/1"


@dataclass(frozen=True, slots=True, kw_only=True)
class Inspection:
    """The server-side answer for one port: the evidence read, every finding, the verdict,
    and the count of connections per state (ss names)."""

    server: ServerEvidence
    verdict: Verdict
    findings: tuple[Finding, ...]
    states: Mapping[str, int] = field(default_factory=dict)
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


def inspect_evidence(server: ServerEvidence) -> Inspection:
    """Judge read evidence (pure): the findings of diagnose.server and the one verdict."""
    from netdx.diagnose.engine import diagnose_server

    findings, verdict = diagnose_server(server)
    states = Counter(s.state_name for s in server.connections)
    return Inspection(
        server=server, verdict=verdict, findings=findings, states=dict(sorted(states.items()))
    )


def inspect_local(
    port: int,
    *,
    deadline: Deadline,
    address: str | None = None,
    sample_gap: float = 0.3,
    source: DumpSource | None = None,
    proc: str = "/proc",
) -> Inspection:
    """Read `port` on this host (this network namespace) and judge it. `address` is the
    address a client connects to, if known. A second CLOSE-WAIT sample is taken
    `sample_gap` seconds later when there are a few."""
    from netdx.diagnose.server import CLOSE_WAIT_THRESHOLD
    from netdx.probes.server import read_server_now

    server = read_server_now(
        address, port, deadline=deadline, sample_gap=sample_gap, enough=CLOSE_WAIT_THRESHOLD,
        source=source, proc=proc,
    )  # fmt: skip
    return inspect_evidence(server)


def is_local_address(address: str) -> bool:
    """Whether `address` belongs to this host (this network namespace), without a route
    lookup (`netdx check` reads the route probe's `local` type instead). Binding a UDP
    socket to an address succeeds only for a local one (unless net.ipv4.ip_nonlocal_bind is
    set); nothing is sent."""
    try:
        addr = ipaddress.ip_address(address)
    except ValueError:
        return False
    if addr.is_loopback or addr.is_unspecified:
        return True
    family = socket.AF_INET6 if addr.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((str(addr), 0))
        except OSError:
            return False
    return True


__all__ = [
    "INSPECT_SCHEMA",
    "Inspection",
    "inspect_evidence",
    "inspect_local",
    "is_local_address",
]
