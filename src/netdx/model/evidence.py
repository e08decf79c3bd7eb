"""Evidence: what each probe saw, as plain frozen values.

Probes turn every network outcome (timeout, reset, ICMP error, SERVFAIL) into one of these
values; the pure rules in `netdx.diagnose` read them. Nothing here does I/O.
Times are in milliseconds (float), addresses are strings in their canonical form.
"""

from __future__ import annotations

from netdx.model.dns import AddressSource as AddressSource
from netdx.model.dns import AuthoritativeCheck as AuthoritativeCheck
from netdx.model.dns import DelegatedServer as DelegatedServer
from netdx.model.dns import DnsComparison as DnsComparison
from netdx.model.dns import DnsEvidence as DnsEvidence
from netdx.model.dns import DnsExchange as DnsExchange
from netdx.model.dns import DnsMessage as DnsMessage
from netdx.model.dns import DnsQuestion as DnsQuestion
from netdx.model.dns import DnsRecord as DnsRecord
from netdx.model.dns import DnsServerAnswer as DnsServerAnswer
from netdx.model.dns import DnsStatus as DnsStatus
from netdx.model.dns import DnsTransport as DnsTransport
from netdx.model.dns import Family as Family
from netdx.model.dns import NssResult as NssResult
from netdx.model.dns import NssStatus as NssStatus
from netdx.model.firewall import FirewallMatch

# Re-exported: the DNS evidence was defined here first; `netdx dns` imports netdx.model.dns.
from netdx.model.literal import Literal  # typing's to mypy; no typing import at run time
from netdx.model.record import record

# Re-exported: they were defined here first.
from netdx.model.route import RouteLookup as RouteLookup
from netdx.model.route import RouteStatus as RouteStatus
from netdx.model.server import ServerEvidence
from netdx.model.service import ServiceHandshake, TlsDetails, TlsExchange
from netdx.model.vantage import THIS_HOST, Vantage
from netdx.netlink._lazy import lazy_exports

TYPE_CHECKING = False
if TYPE_CHECKING:
    from netdx.model.remote import RemoteEvidence

# --ssh's evidence type, named by CheckEvidence's annotation only: imported on first use (the
# codec reads it through this), not by every check (netdx.model.remote's 8 records, ~1.5 ms).
__getattr__ = lazy_exports(__name__, {"RemoteEvidence": "netdx.model.remote"})

# --- ICMP ----------------------------------------------------------------------------------


@record
class IcmpError:
    """An ICMP error that came back for one of our packets, as IP_RECVERR reports it.

    `kind` is a stable name: net-unreachable, host-unreachable, protocol-unreachable,
    port-unreachable, admin-prohibited, host-prohibited, net-prohibited, frag-needed,
    time-exceeded, no-route (ICMPv6 code 0), addr-unreachable, other.
    """

    family: Family
    icmp_type: int
    icmp_code: int
    kind: str
    sender: str | None  # the host or router that sent the ICMP error
    errno: str | None = None


EchoStatus = Literal["reply", "timeout", "icmp_error", "unknown"]


@record
class IcmpEcho:
    """ICMP echo to one address. `unknown` when no socket could be opened (`reason` says why)."""

    address: str
    status: EchoStatus
    sent: int = 0
    received: int = 0
    rtt_ms: float | None = None  # the best round trip
    reply_ttl: int | None = None  # TTL/hop limit of the reply (gives the hop distance)
    method: Literal["dgram", "raw"] | None = None
    error: IcmpError | None = None
    reason: str | None = None


# --- TCP -----------------------------------------------------------------------------------

TcpOutcome = Literal["connected", "refused", "timeout", "icmp_error", "error"]


@record
class TcpConnect:
    """One TCP connect attempt with IP_RECVERR set.

    refused = a TCP reset; timeout = no answer within `timeout_ms`; icmp_error = an ICMP error
    (in `icmp`, naming its sender); error = a local failure (`errno`, e.g. ENETUNREACH).
    `timeout_basis` says how the connect timeout was chosen: "rtt" (from a measured round
    trip, `rtt_ms`), "budget" (a share of --timeout), or "neighbour" (stopped early because
    the on-link next hop left ARP/ND unanswered for a second: no answer could come).
    """

    address: str
    port: int
    outcome: TcpOutcome
    elapsed_ms: float
    timeout_ms: float
    timeout_basis: Literal["rtt", "budget", "neighbour"] = "budget"
    rtt_ms: float | None = None
    errno: str | None = None
    icmp: IcmpError | None = None
    local: str | None = None  # local addr:port when connected


EgressStatus = Literal["blocked", "clear", "unknown"]


@record
class EgressCheck:
    """Does this host's own output filter drop the SYN? A raw SYN for the same flow (root
    only) fails with EPERM at once when an output rule drops it. `unknown` without root."""

    address: str
    port: int
    status: EgressStatus
    errno: str | None = None
    reason: str | None = None


HopKind = Literal["time_exceeded", "reached", "unreachable", "silent"]


@record
class Hop:
    ttl: int
    kind: HopKind
    address: str | None = None  # the router (time_exceeded/unreachable) or the target
    rtt_ms: float | None = None
    icmp: IcmpError | None = None


@record
class PathTrace:
    """A TCP-SYN traceroute to address:port with rising TTL (all TTLs sent at once)."""

    address: str
    port: int
    hops: tuple[Hop, ...]
    reached: bool
    elapsed_ms: float = 0.0

    @property
    def last_answering(self) -> Hop | None:
        answered = [h for h in self.hops if h.kind != "silent"]
        return answered[-1] if answered else None


# --- HTTP ----------------------------------------------------------------------------------

HttpOutcome = Literal["ok", "timeout", "tls_error", "connect_error", "protocol_error", "error"]


@record
class HttpExchange:
    """An HTTP(S) GET to one address (Host header and SNI from the URL's name)."""

    url: str
    address: str
    outcome: HttpOutcome
    status: int | None = None
    reason: str | None = None
    error: str | None = None
    connect_ms: float | None = None
    tls_ms: float | None = None
    first_byte_ms: float | None = None
    total_ms: float | None = None
    tls_version: str | None = None
    server: str | None = None  # the Server header
    location: str | None = None  # the Location header of a 3xx (redirects are not followed)
    # How long the exchange could wait: what was left of the budget when it started. A
    # timeout within a short budget says nothing about the server.
    budget_ms: float | None = None
    # https: the negotiated TLS and the server's certificate (also when verification failed).
    tls: TlsDetails | None = None
    method: str = "GET"  # --method
    expect_status: tuple[int, ...] = ()  # --expect-status; empty: any status below 400 is ok


# --- UDP ---------------------------------------------------------------------------------

UdpOutcome = Literal["reply", "closed", "icmp_error", "open_filtered", "error"]


@record
class UdpExchange:
    """One UDP exchange with address:port (`udp://`, and `dns://` with a real query).

    UDP has no handshake, so the outcome is only what came back: `reply` (a datagram from
    the port), `closed` (ICMP port-unreachable from the target itself), `icmp_error` (any
    other ICMP error, `icmp` names it and its sender), `error` (a local error: no route,
    a failed neighbour), or `open_filtered` (silence for `budget_ms`: an open port that
    ignores the datagram and a firewall that drops it look the same). `dns` is the answer
    to a dns:// question (rcode, records, TC and the TCP retry in its exchange)."""

    address: str
    port: int
    outcome: UdpOutcome
    elapsed_ms: float
    budget_ms: float
    sent: int | None = None  # datagrams sent (silence is asked again: one may be lost)
    reply_bytes: int | None = None
    icmp: IcmpError | None = None
    errno: str | None = None
    dns: DnsServerAnswer | None = None
    # A dns:// SERVFAIL: the servers of the zone where the delegation walk ended, asked
    # directly (`netdx.dns.verify`), as for a resolver's SERVFAIL in `DnsEvidence`.
    delegation: tuple[DelegatedServer, ...] | None = None


# --- One address, and the whole check -------------------------------------------------------


@record
class AddressEvidence:
    """Everything probed for one resolved address."""

    address: str
    family: Family
    route: RouteLookup | None = None
    echo: IcmpEcho | None = None
    tcp: TcpConnect | None = None
    egress: EgressCheck | None = None
    path: PathTrace | None = None
    http: HttpExchange | None = None
    # Host-only targets: TCP connects to a few common ports; any answer (even a reset)
    # proves the host is up when ICMP echo is filtered or not permitted.
    liveness: tuple[TcpConnect, ...] = ()
    # When the address belongs to this host: the server side of the port (listeners,
    # connections, owners, queues from sock_diag and /proc), judged by diagnose.server.
    server: ServerEvidence | None = None
    # When the SYN got no answer: this host's ruleset evaluated for the flow (output hook for
    # a remote target, input for one of this host's addresses), as `netdx firewall explain`.
    firewall: FirewallMatch | None = None
    observed_on: Vantage = THIS_HOST
    # udp:// and dns:// targets: the datagram exchange instead of a TCP connect.
    udp: UdpExchange | None = None
    # postgres://, redis://, mysql:// once TCP connected: the protocol's first exchange.
    handshake: ServiceHandshake | None = None
    # check --tls on a target that is not https://: the TLS handshake after TCP connected.
    tls: TlsExchange | None = None


@record
class CheckEvidence:
    """The input of the rules: the target, DNS, and per-address evidence in the order the
    client would try the addresses (the first is what the application uses first)."""

    target_host: str
    port: int | None
    scheme: str | None
    dns: DnsEvidence | None
    addresses: tuple[AddressEvidence, ...] = ()
    family_filter: Family | None = None  # -4 / -6
    observed_on: Vantage = THIS_HOST  # where the probes ran (this host, a netns, ...)
    # With --ssh: the server's side of the check, read over SSH while the probes ran.
    remote: RemoteEvidence | None = None
