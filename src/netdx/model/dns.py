"""The DNS evidence: what a resolver, a server or the system's lookup answered, as plain
frozen values (re-exported by `netdx.model.evidence`, where they were defined first).

A module of their own so that `netdx dns` defines only them: `evidence` also imports the
firewall, remote, server and service models, about 14 ms of CPU a trace never uses.
"""

from __future__ import annotations

from netdx.model.literal import Literal  # typing's to mypy; no typing import at run time
from netdx.model.record import record
from netdx.model.vantage import THIS_HOST, Vantage

Family = Literal[4, 6]

# --- DNS -----------------------------------------------------------------------------------

NssStatus = Literal["ok", "nxdomain", "no_address", "again", "timeout", "error"]


@record
class NssResult:
    """What the application gets: getaddrinfo() through NSS (/etc/hosts, then DNS).

    `addresses` keeps getaddrinfo's order (RFC 6724: the order a client tries them).
    `hosts_addresses` are the /etc/hosts lines for the name, read by netdx itself.
    `gai_error` is the EAI_* name when getaddrinfo failed.
    """

    name: str
    status: NssStatus
    addresses: tuple[str, ...] = ()
    hosts_addresses: tuple[str, ...] = ()
    gai_error: str | None = None
    elapsed_ms: float = 0.0


DnsStatus = Literal[
    "ok", "nxdomain", "nodata", "servfail", "refused", "timeout", "error", "malformed", "bad_id"
]
DnsTransport = Literal["udp", "tcp"]


@record
class DnsRecord:
    name: str
    rtype: str  # "A", "AAAA", "CNAME", ...
    ttl: int
    value: str  # dig's presentation format


@record
class DnsQuestion:
    """The question of a query: a name (absolute, with the trailing dot) and a type."""

    name: str
    rtype: str
    rclass: str = "IN"


@record
class DnsMessage:
    """One DNS response as it came off the wire, every section kept."""

    id: int
    rcode: str  # NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ... (EDNS extended rcodes included)
    flags: tuple[str, ...]  # lower case, dig's order: qr aa tc rd ra ad cd
    question: tuple[DnsQuestion, ...] = ()
    answer: tuple[DnsRecord, ...] = ()
    authority: tuple[DnsRecord, ...] = ()
    additional: tuple[DnsRecord, ...] = ()  # without the OPT pseudo-record
    edns_payload: int | None = None  # the UDP size the server advertised (OPT), None without EDNS
    size: int = 0  # bytes on the wire

    @property
    def aa(self) -> bool:
        return "aa" in self.flags

    @property
    def tc(self) -> bool:
        return "tc" in self.flags


@record
class DnsExchange:
    """How one answer travelled: port, UDP or TCP, RD, the whole response, and what else
    happened on the way (a truncated UDP answer retried over TCP, datagrams ignored because
    their ID was wrong). `netdx dns` shows it; `netdx check` keeps only the answer."""

    port: int
    transport: DnsTransport
    recursion_desired: bool = True
    message: DnsMessage | None = None
    notes: tuple[str, ...] = ()


@record
class DnsServerAnswer:
    """One server's answer for one name and type: the one shape of a DNS answer.

    `status` is what the answer means: ok (a record of the asked type), nodata (NOERROR
    without one), nxdomain, servfail, refused; or what became of the query: timeout,
    error (the network said no, or an rcode without a status of its own), malformed
    (bytes that do not parse), bad_id (only answers to some other query came back).
    `records` is the answer section, CNAMEs included. `exchange` holds the wire detail
    when the caller wants it (`netdx dns`); `netdx check` leaves it out.
    """

    server: str
    qname: str  # the name actually asked (after search-domain expansion)
    rtype: str
    status: DnsStatus
    records: tuple[DnsRecord, ...] = ()
    error: str | None = None
    elapsed_ms: float = 0.0
    exchange: DnsExchange | None = None

    @property
    def addresses(self) -> tuple[str, ...]:
        return tuple(r.value for r in self.records if r.rtype in ("A", "AAAA"))

    @property
    def message(self) -> DnsMessage | None:
        """The server's whole response, when it sent one and the exchange was kept."""
        return self.exchange.message if self.exchange is not None else None


@record
class DelegatedServer:
    """One name server of a zone, asked directly without recursion (the authoritative
    check), and what it did: `outcome` is a `netdx.dns.classify` kind (answer, referral,
    refused, timeout, not_authoritative...), `pending` when the budget ended first."""

    zone: str
    ns_name: str
    address: str | None
    outcome: str
    lame: bool
    detail: str = ""
    rtt_ms: float | None = None


@record
class AuthoritativeCheck:
    """What the zone's authoritative servers say now and how they were found: `via` the
    public root (`root`) or the configured resolver's SOA/NS answers (`resolver`, for
    internal zones); `servers` is every server asked at the zone where the walk ended."""

    via: Literal["root", "resolver"]
    answer: DnsServerAnswer | None = None
    servers: tuple[DelegatedServer, ...] = ()
    zone: str | None = None
    broken: bool = False  # no server of `zone` gave a useful answer
    detail: str = ""


AddressSource = Literal["literal", "hosts", "dns", "nss"]


@record
class DnsEvidence:
    """Everything the DNS layer learned about the target name.

    `source` says where the addresses netdx went on to probe came from: `hosts` when
    /etc/hosts pinned them, `dns` when the configured servers gave them, `nss` when
    getaddrinfo gave them and neither file nor servers did (another NSS module), `literal`
    for an IP target (then nothing else is filled).
    """

    name: str
    source: AddressSource
    nss: NssResult | None = None
    servers: tuple[DnsServerAnswer, ...] = ()
    configured_servers: tuple[str, ...] = ()
    search: tuple[str, ...] = ()
    # When the addresses came from a resolver and the connection failed (or the resolver
    # answered SERVFAIL), netdx asks the authoritative servers to tell a stale cache (or a
    # lame delegation) apart: found from the root, or through the resolver's NS answers.
    authoritative: DnsServerAnswer | None = None
    checked_at: float | None = None  # UNIX time the answers were taken (cache expiry times)
    observed_on: Vantage = THIS_HOST
    # The servers of the zone asked directly (a lame delegation is named from these).
    delegation: tuple[DelegatedServer, ...] | None = None


@record
class DnsComparison:
    """`netdx dns --compare`: what each source says for one name and type, side by side.

    `system` is getaddrinfo with the /etc/hosts lines for the name; `servers` holds every
    resolv.conf server's answer for every name of the search list (not only the one the
    stub resolver would settle on); `authoritative` is the answer the trace ended with.
    A resolver's TTL is what is *left* in its cache; the authoritative TTL is the full one.
    """

    name: str
    rtype: str
    system: NssResult
    servers: tuple[DnsServerAnswer, ...] = ()
    authoritative: DnsServerAnswer | None = None
    checked_at: float  # UNIX time the answers were taken (cache expiry times)
