"""What the plan asks for and what it is told: probe requests, signals and results.

All small frozen values. A probe request names one piece of I/O (the runner in
`netdx.check` maps each kind to one probe function); `id` ties its result back to the plan.
A signal steers a probe that is already running. A result is the probe's evidence value, or
`NotRun` when the probe was cancelled or its budget was spent before it could start.
"""

from __future__ import annotations

from netdx.budget import Deadline
from netdx.model import (
    DnsEvidence,
    EgressCheck,
    FirewallMatch,
    HttpExchange,
    IcmpEcho,
    PathTrace,
    RouteLookup,
    TcpConnect,
)
from netdx.model.evidence import AuthoritativeCheck, Family, UdpExchange
from netdx.model.literal import Literal  # typing's to mypy; no typing import at run time
from netdx.model.record import record
from netdx.model.server import ServerEvidence
from netdx.model.service import HttpOptions, ServiceHandshake, ServiceProtocol, TlsExchange

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from netdx.model.remote import RemoteEvidence

__all__ = [
    "WHOLE",
    "AddressRequest",
    "AskAuthoritative",
    "Budget",
    "Cancel",
    "CheckEgress",
    "CollectServer",
    "Connect",
    "Datagram",
    "Echo",
    "EvaluateFirewall",
    "FetchHttp",
    "FlowProbe",
    "FlowRequest",
    "Handshake",
    "HandshakeTls",
    "Hint",
    "LookupRoute",
    "NeighbourRead",
    "NotRun",
    "OpenServer",
    "Probe",
    "ReadNeighbour",
    "ReadServer",
    "Request",
    "Resolve",
    "ServerArmed",
    "Settle",
    "Signal",
    "Stop",
    "TraceTcp",
]


@record
class Budget:
    """A probe's share of the command's one deadline: start after `start_after_s`, then run
    for `share` of what remains, at most `cap_s` seconds, and end `reserve_s` (at most a
    quarter of what remains) before the command's deadline, so that the probes that follow
    it still fit in the budget. A probe that would start with less than `floor_s` left, or
    once the deadline has passed, is not run (its result is `NotRun`)."""

    cap_s: float | None = None
    share: float = 1.0
    floor_s: float = 0.0
    start_after_s: float = 0.0
    reserve_s: float = 0.0

    def deadline(self, whole: Deadline) -> Deadline | None:
        """The probe's own deadline, taken from `whole` now; None when below the floor."""
        remaining = whole.remaining()
        if remaining <= 0 or remaining < self.floor_s:
            return None  # started past the deadline it would only overrun it
        if self.cap_s is None and self.share >= 1.0 and self.reserve_s <= 0:
            return whole
        seconds = min(remaining * self.share, remaining - min(self.reserve_s, remaining / 4))
        return whole.within(seconds if self.cap_s is None else min(seconds, self.cap_s))


WHOLE = Budget()  # until the command's deadline


# --- probe requests -----------------------------------------------------------------------
# The kinds share their leading fields through three bases: every request has an `id` and a
# `budget`, most name an `address`, and the flow probes a `port` too. `Probe` below, not the
# bases, is what the runner dispatches on.


@record
class Request:
    """What every probe request carries: its `id` and its share of the deadline."""

    id: int
    budget: Budget


@record
class AddressRequest(Request):
    """A probe of one address."""

    address: str


@record
class FlowRequest(AddressRequest):
    """A probe of the flow to address:port."""

    port: int


@record
class Resolve(Request):
    """Resolve `name` the way the application would (NSS), and ask the DNS servers too."""

    name: str
    family: Family | None = None
    servers: tuple[str, ...] = ()  # --dns-server; () for the configured ones


@record
class LookupRoute(AddressRequest):
    """`ip route get address` and the next hop's neighbour state."""


@record
class Echo(AddressRequest):
    """ICMP echo to `address`. A `steered` echo (beside a connect) can be told to end at its
    first answer (`Settle`); a host-only target's echo is not steered: its loss count is the
    evidence."""

    steered: bool = False


@record
class Connect(FlowRequest):
    """One TCP connect. A `steered` connect takes the echo's round trip (`Hint`) to size its
    timeout and can be ended early (`Stop`); the liveness connects are not steered."""

    steered: bool = False


@record
class Datagram(FlowRequest):
    """A UDP exchange with address:port (udp://): an empty datagram; with `query_name` a
    DNS question of `query_type` instead (dns://)."""

    query_name: str | None = None
    query_type: str = "A"


@record
class ReadNeighbour(Request):
    """The neighbour state (ARP/ND) of `route`'s next hop, read from the kernel's table."""

    route: RouteLookup


@record
class CheckEgress(FlowRequest):
    """Does this host's own output filter drop a SYN to address:port? (A raw SYN.)"""


@record
class TraceTcp(FlowRequest):
    """A TCP-SYN traceroute to address:port."""


@record
class EvaluateFirewall(FlowRequest):
    """This host's ruleset evaluated for the flow to address:port at `hook`."""

    route: RouteLookup | None
    hook: Literal["input", "output"]


@record
class FetchHttp(FlowRequest):
    """An HTTP(S) GET of `url` from `address` (Host header and SNI from `host`)."""

    url: str
    host: str
    verify_tls: bool = True
    options: HttpOptions | None = None  # method, headers, trust; None: a plain GET


@record
class Handshake(FlowRequest):
    """The first exchange of `protocol` (postgres, redis, mysql) with address:port."""

    protocol: ServiceProtocol


@record
class HandshakeTls(FlowRequest):
    """check --tls: the TLS handshake with address:port (SNI `host`), after postgres'
    SSLRequest when `preface` says so; the trust from `options` (--cacert, -k)."""

    host: str
    preface: ServiceProtocol | None = None
    options: HttpOptions | None = None
    inside: ServiceProtocol | None = None  # rediss://: PING inside the session


@record
class ReadServer(FlowRequest):
    """The server side of a port on this host: listeners, owners, queues."""


@record
class AskAuthoritative(Request):
    """What the zone's authoritative servers say for `name` now (found from the root or
    through `resolvers`, `ADDR` or `ADDR#PORT`: see `netdx.dns.verify`)."""

    name: str
    rtype: Literal["A", "AAAA"]
    root_hints: str | None = None
    resolvers: tuple[str, ...] = ()


@record
class OpenServer(Request):
    """Open the SSH session to the server (--ssh) and wait until it is armed: its first read
    of `port` done and, as root, its packet socket open on the port. `client` is this host's
    source address when the route is already known (the server routes back to it); the
    capture itself keeps every source of the port, since NAT may change the client's. The
    session stays open after this probe ends (its budget is only the wait for the arm)."""

    port: int
    client: str | None = None


@record
class CollectServer(Request):
    """The client's probes are done: tell the server ("go"), take its second read and join
    both into `RemoteEvidence`. `address` is the address the client connected to (None when
    it had none), `client` the source address the server should see its SYNs from, and
    `armed` whether the server was armed before the client's first SYN left."""

    port: int
    address: str | None
    client: str | None
    armed: bool


# The probes of the flow to address:port (`FlowRequest`s).
FlowProbe = (
    Connect
    | Datagram
    | CheckEgress
    | TraceTcp
    | EvaluateFirewall
    | FetchHttp
    | Handshake
    | HandshakeTls
    | ReadServer
)
Probe = (
    Resolve
    | LookupRoute
    | Echo
    | ReadNeighbour
    | AskAuthoritative
    | OpenServer
    | CollectServer
    | FlowProbe
)


# --- signals to running probes --------------------------------------------------------------


@record
class Hint:
    """The echo measured `rtt_ms`: the steered connect `to` may size its timeout from it."""

    to: int
    rtt_ms: float


@record
class Stop:
    """End the steered connect `to` now: no answer can come (the next hop is dead)."""

    to: int


@record
class Cancel:
    """Cancel probe `to` after `after_s` seconds unless it has ended (never past the
    deadline); its result is then `NotRun`."""

    to: int
    after_s: float = 0.0


@record
class Settle:
    """TCP has answered: the steered echo `to` ends at its first answer (now, if it has one).
    Its reply (the host is up, its TTL) is still quoted; more echoes could not change the
    verdict, only delay it by their interval."""

    to: int


Signal = Hint | Stop | Cancel | Settle


# --- results that are not evidence values themselves ---------------------------------------


@record
class NeighbourRead:
    """A next hop's NUD state name (REACHABLE, STALE, INCOMPLETE, FAILED...), None when the
    kernel has no entry."""

    state: str | None


@record
class ServerArmed:
    """The server's session answered `OpenServer`: `armed` when its first read (and its
    capture) were ready; False when the link failed (the failure is in the final evidence)."""

    armed: bool


@record
class NotRun:
    """The probe did not finish: cancelled by a signal, or no budget left to start it."""

    reason: str


# Every result a probe hands back. Its union names --ssh's RemoteEvidence, so at run time it is
# made on first use (module `__getattr__`): a check without --ssh never loads
# netdx.model.remote (8 records, ~1.5 ms of CPU) for a name only annotations read.
if TYPE_CHECKING:
    Result = (
        DnsEvidence
        | RouteLookup
        | IcmpEcho
        | TcpConnect
        | NeighbourRead
        | EgressCheck
        | PathTrace
        | FirewallMatch
        | HttpExchange
        | UdpExchange
        | ServiceHandshake
        | TlsExchange
        | ServerEvidence
        | AuthoritativeCheck
        | ServerArmed
        | RemoteEvidence
        | NotRun
    )
else:

    def __getattr__(name: str) -> Any:
        if name != "Result":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        from netdx.model.remote import RemoteEvidence

        result = (DnsEvidence | RouteLookup | IcmpEcho | TcpConnect | NeighbourRead | EgressCheck
                  | PathTrace | FirewallMatch | HttpExchange | UdpExchange | ServiceHandshake
                  | TlsExchange | ServerEvidence | AuthoritativeCheck | ServerArmed
                  | RemoteEvidence | NotRun)
        globals()["Result"] = result
        return result
