"""Evidence literals shared by the diagnosis and renderer tests.

Each case is the CheckEvidence a run would hand to the rules for one failure mode, written
with the values the probes report in the lab (10.0.0.0/24 client side, a router at
10.0.1.1, servers in 10.0.2.0/24, DNS at 10.0.0.53). Small builders keep them short; every
number in them is a concrete fact a rule is expected to quote.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from netdx.model import (
    AddressEvidence,
    CheckEvidence,
    DnsEvidence,
    DnsRecord,
    DnsServerAnswer,
    EgressCheck,
    FirewallMatch,
    Hop,
    HttpExchange,
    IcmpEcho,
    IcmpError,
    NssResult,
    PathTrace,
    RouteLookup,
    Target,
    TcpConnect,
)
from netdx.model.evidence import DelegatedServer, TcpOutcome
from netdx.model.firewall import RuleRef
from netdx.model.server import (
    TCP_CLOSE_WAIT,
    TCP_LISTEN,
    Process,
    ServerEvidence,
    Socket,
    SocketHolder,
)

DNS_SERVER = "10.0.0.53"
ROUTER = "10.0.1.1"


# --- builders ------------------------------------------------------------------------------


def a_answer(qname: str, *addrs: str, server: str = DNS_SERVER, ttl: int = 300) -> DnsServerAnswer:
    """One server's A (or AAAA, for IPv6 values) answer with records."""
    rtype = "AAAA" if addrs and ":" in addrs[0] else "A"
    return DnsServerAnswer(
        server=server,
        qname=qname,
        rtype=rtype,
        status="ok",
        records=tuple(DnsRecord(name=qname, rtype=rtype, ttl=ttl, value=a) for a in addrs),
        elapsed_ms=1.84,
    )


def dns_ok(name: str, *addrs: str) -> DnsEvidence:
    """A name that getaddrinfo and the configured server both resolve to `addrs`."""
    return DnsEvidence(
        name=name,
        source="dns",
        nss=NssResult(name=name, status="ok", addresses=addrs, elapsed_ms=2.31),
        servers=(a_answer(f"{name}.", *addrs),),
        configured_servers=(DNS_SERVER,),
    )


def literal(host: str) -> DnsEvidence:
    """An IP-literal target: no lookup."""
    return DnsEvidence(name=host, source="literal")


def route_ok(
    address: str, *, gateway: str | None = ROUTER, neigh: str = "REACHABLE"
) -> RouteLookup:
    """A unicast route through the lab gateway (or on-link when gateway is None)."""
    v6 = ":" in address
    return RouteLookup(
        address=address,
        status="ok",
        route_type="unicast",
        interface="ndx0",
        ifindex=2,
        source="fd00::10" if v6 else "10.0.0.10",
        gateway=gateway,
        neighbour_state=neigh,
    )


def echo_reply(address: str, *, ttl: int = 63, rtt: float = 0.412) -> IcmpEcho:
    """A successful ICMP echo (TTL 63: one router away from a Linux host)."""
    return IcmpEcho(
        address=address,
        status="reply",
        sent=3,
        received=3,
        rtt_ms=rtt,
        reply_ttl=ttl,
        method="dgram",
    )


def echo_unknown(address: str) -> IcmpEcho:
    """An echo that could not be sent without privileges."""
    return IcmpEcho(
        address=address,
        status="unknown",
        reason="no ICMP socket: EACCES (ping_group_range excludes this user, not root)",
    )


def echo_timeout(address: str) -> IcmpEcho:
    """Three echo requests, no reply."""
    return IcmpEcho(address=address, status="timeout", sent=3, received=0, method="dgram")


def tcp(
    address: str,
    port: int,
    outcome: TcpOutcome,
    *,
    elapsed: float = 0.377,
    icmp: IcmpError | None = None,
    errno: str | None = None,
) -> TcpConnect:
    """One TCP connect; a timeout waits its full (budget-based) 1000 ms."""
    if outcome == "timeout":
        elapsed = 1000.0
    return TcpConnect(
        address=address,
        port=port,
        outcome=outcome,
        elapsed_ms=elapsed,
        timeout_ms=1000.0,
        timeout_basis="budget",
        errno=errno,
        icmp=icmp,
        local=_local(address, port) if outcome == "connected" else None,
    )


def _local(address: str, port: int) -> str:
    """The local end a connect reports: loopback for loopback, else the lab client."""
    ephemeral = 40000 + port % 1000
    if address == "::1":
        return f"[::1]:{ephemeral}"
    return f"127.0.0.1:{ephemeral}" if address.startswith("127.") else f"10.0.0.10:{ephemeral}"


def icmp4(
    kind: str, code: int, sender: str, *, itype: int = 3, errno: str | None = None
) -> IcmpError:
    """An ICMPv4 error as IP_RECVERR reports it."""
    return IcmpError(
        family=4, icmp_type=itype, icmp_code=code, kind=kind, sender=sender, errno=errno
    )


def addr(address: str, **kw: object) -> AddressEvidence:
    """Per-address evidence with the family taken from the address."""
    family = 6 if ":" in address else 4
    return AddressEvidence(address=address, family=family, **kw)  # type: ignore[arg-type]


def http(url: str, address: str, status: int | None, **kw: object) -> HttpExchange:
    """An HTTP exchange; outcome ok when a status is given, else pass outcome=..."""
    outcome = kw.pop("outcome", "ok")
    return HttpExchange(url=url, address=address, outcome=outcome, status=status, **kw)  # type: ignore[arg-type]


# --- cases ---------------------------------------------------------------------------------

DB = "db.lab.example"
DB_IP = "10.0.2.5"
WEB = "web.lab.example"
WEB_IP = "10.0.2.8"

OK_PORT = CheckEvidence(
    target_host=DB,
    port=5432,
    scheme=None,
    dns=dns_ok(DB, DB_IP),
    addresses=(
        addr(
            DB_IP, route=route_ok(DB_IP), echo=echo_reply(DB_IP), tcp=tcp(DB_IP, 5432, "connected")
        ),
    ),
)

OK_HOST = CheckEvidence(
    target_host=DB,
    port=None,
    scheme=None,
    dns=dns_ok(DB, DB_IP),
    addresses=(addr(DB_IP, route=route_ok(DB_IP), echo=echo_reply(DB_IP)),),
)

HOST_LIVENESS = CheckEvidence(
    target_host=DB_IP,
    port=None,
    scheme=None,
    dns=literal(DB_IP),
    addresses=(
        addr(
            DB_IP,
            route=route_ok(DB_IP),
            echo=echo_unknown(DB_IP),
            liveness=(tcp(DB_IP, 22, "refused", elapsed=0.52), tcp(DB_IP, 443, "timeout")),
        ),
    ),
)

HOST_NO_REPLY = CheckEvidence(
    target_host=DB_IP,
    port=None,
    scheme=None,
    dns=literal(DB_IP),
    addresses=(
        addr(
            DB_IP,
            route=route_ok(DB_IP),
            echo=echo_timeout(DB_IP),
            liveness=(tcp(DB_IP, 22, "timeout"), tcp(DB_IP, 443, "timeout")),
        ),
    ),
)

HOST_ECHO_UNKNOWN = CheckEvidence(
    target_host=DB_IP,
    port=None,
    scheme=None,
    dns=literal(DB_IP),
    addresses=(addr(DB_IP, route=route_ok(DB_IP), echo=echo_unknown(DB_IP)),),
)

PORT_FILTERED = CheckEvidence(
    target_host=DB,
    port=5432,
    scheme=None,
    dns=dns_ok(DB, DB_IP),
    addresses=(
        addr(
            DB_IP,
            route=route_ok(DB_IP),
            echo=echo_reply(DB_IP),
            tcp=tcp(DB_IP, 5432, "timeout"),
            egress=EgressCheck(
                address=DB_IP, port=5432, status="unknown", reason="raw socket needs CAP_NET_RAW"
            ),
        ),
    ),
)

PORT_FILTERED_NO_ECHO = CheckEvidence(
    target_host=DB_IP,
    port=5432,
    scheme=None,
    dns=literal(DB_IP),
    addresses=(
        addr(
            DB_IP, route=route_ok(DB_IP), echo=echo_unknown(DB_IP), tcp=tcp(DB_IP, 5432, "timeout")
        ),
    ),
)

REFUSED = CheckEvidence(
    target_host=DB,
    port=5432,
    scheme=None,
    dns=dns_ok(DB, DB_IP),
    addresses=(
        addr(DB_IP, route=route_ok(DB_IP), echo=echo_reply(DB_IP), tcp=tcp(DB_IP, 5432, "refused")),
    ),
)

DB_IP2 = "10.0.2.6"
REFUSED_FALLBACK = CheckEvidence(
    target_host=DB,
    port=5432,
    scheme=None,
    dns=dns_ok(DB, DB_IP, DB_IP2),
    addresses=(
        addr(DB_IP, route=route_ok(DB_IP), tcp=tcp(DB_IP, 5432, "refused")),
        addr(DB_IP2, route=route_ok(DB_IP2), tcp=tcp(DB_IP2, 5432, "connected")),
    ),
)

REJECT_ADMIN = CheckEvidence(
    target_host=DB,
    port=5432,
    scheme=None,
    dns=dns_ok(DB, DB_IP),
    addresses=(
        addr(
            DB_IP,
            route=route_ok(DB_IP),
            echo=echo_reply(DB_IP),
            tcp=tcp(
                DB_IP,
                5432,
                "icmp_error",
                elapsed=0.61,
                icmp=icmp4("admin-prohibited", 13, ROUTER, errno="EHOSTUNREACH"),
            ),
        ),
    ),
)

REJECT_PORT_UNREACHABLE = CheckEvidence(
    target_host=DB,
    port=5432,
    scheme=None,
    dns=dns_ok(DB, DB_IP),
    addresses=(
        addr(
            DB_IP,
            route=route_ok(DB_IP),
            echo=echo_reply(DB_IP),
            tcp=tcp(
                DB_IP,
                5432,
                "icmp_error",
                elapsed=0.48,
                icmp=icmp4("port-unreachable", 3, DB_IP, errno="ECONNREFUSED"),
            ),
        ),
    ),
)

HOST_UNREACHABLE = CheckEvidence(
    target_host=DB,
    port=5432,
    scheme=None,
    dns=dns_ok(DB, DB_IP),
    addresses=(
        addr(
            DB_IP,
            route=route_ok(DB_IP),
            echo=IcmpEcho(
                address=DB_IP,
                status="icmp_error",
                sent=3,
                error=icmp4("host-unreachable", 1, ROUTER),
            ),
            tcp=tcp(
                DB_IP,
                5432,
                "icmp_error",
                elapsed=3051.2,
                icmp=icmp4("host-unreachable", 1, ROUTER, errno="EHOSTUNREACH"),
            ),
        ),
    ),
)

LOCAL_EHOSTUNREACH = CheckEvidence(
    target_host="10.0.0.77",
    port=22,
    scheme=None,
    dns=literal("10.0.0.77"),
    addresses=(
        addr(
            "10.0.0.77",
            route=route_ok("10.0.0.77", gateway=None, neigh="FAILED"),
            tcp=tcp("10.0.0.77", 22, "error", elapsed=3072.0, errno="EHOSTUNREACH"),
        ),
    ),
)

NEIGHBOUR_FAILED = CheckEvidence(
    target_host="10.0.0.77",
    port=22,
    scheme=None,
    dns=literal("10.0.0.77"),
    addresses=(
        addr(
            "10.0.0.77",
            route=route_ok("10.0.0.77", gateway=None, neigh="INCOMPLETE"),
            tcp=tcp("10.0.0.77", 22, "timeout"),
        ),
    ),
)

NO_ROUTE = CheckEvidence(
    target_host="192.0.2.10",
    port=443,
    scheme=None,
    dns=literal("192.0.2.10"),
    addresses=(
        addr(
            "192.0.2.10",
            route=RouteLookup(address="192.0.2.10", status="no_route", error="ENETUNREACH"),
            tcp=tcp("192.0.2.10", 443, "error", elapsed=0.05, errno="ENETUNREACH"),
        ),
    ),
)

V6 = "fd00:2::5"
NO_ROUTE_V6_FALLBACK = CheckEvidence(
    target_host=DB,
    port=5432,
    scheme=None,
    dns=DnsEvidence(
        name=DB,
        source="dns",
        nss=NssResult(name=DB, status="ok", addresses=(V6, DB_IP), elapsed_ms=2.0),
        servers=(a_answer(f"{DB}.", DB_IP), a_answer(f"{DB}.", V6)),
        configured_servers=(DNS_SERVER,),
    ),
    addresses=(
        addr(
            V6,
            route=RouteLookup(address=V6, status="no_route", error="ENETUNREACH"),
            tcp=tcp(V6, 5432, "error", elapsed=0.04, errno="ENETUNREACH"),
        ),
        addr(DB_IP, route=route_ok(DB_IP), tcp=tcp(DB_IP, 5432, "connected")),
    ),
)

LOCAL_EGRESS = CheckEvidence(
    target_host=DB,
    port=5432,
    scheme=None,
    dns=dns_ok(DB, DB_IP),
    addresses=(
        addr(
            DB_IP,
            route=route_ok(DB_IP),
            echo=echo_reply(DB_IP),
            tcp=tcp(DB_IP, 5432, "timeout"),
            egress=EgressCheck(address=DB_IP, port=5432, status="blocked", errno="EPERM"),
        ),
    ),
)

FAR_IP = "10.9.0.5"
PATH_MIDWAY = CheckEvidence(
    target_host=FAR_IP,
    port=5432,
    scheme=None,
    dns=literal(FAR_IP),
    addresses=(
        addr(
            FAR_IP,
            route=route_ok(FAR_IP),
            echo=echo_reply(FAR_IP, ttl=60, rtt=1.9),  # 64 - 60 + 1 = 5 hops
            tcp=tcp(FAR_IP, 5432, "timeout"),
            egress=EgressCheck(address=FAR_IP, port=5432, status="clear"),
            path=PathTrace(
                address=FAR_IP,
                port=5432,
                hops=(
                    Hop(ttl=1, kind="time_exceeded", address=ROUTER, rtt_ms=0.31),
                    Hop(ttl=2, kind="time_exceeded", address="10.0.3.1", rtt_ms=0.62),
                    Hop(ttl=3, kind="silent"),
                    Hop(ttl=4, kind="silent"),
                    Hop(ttl=5, kind="silent"),
                ),
                reached=False,
                elapsed_ms=1002.5,
            ),
        ),
    ),
)

NXDOMAIN = CheckEvidence(
    target_host="dbx",
    port=5432,
    scheme=None,
    dns=DnsEvidence(
        name="dbx",
        source="dns",
        nss=NssResult(name="dbx", status="nxdomain", gai_error="EAI_NONAME", elapsed_ms=4.2),
        servers=(
            DnsServerAnswer(
                server=DNS_SERVER,
                qname="dbx.lab.example.",
                rtype="A",
                status="nxdomain",
                elapsed_ms=1.1,
            ),
            DnsServerAnswer(
                server=DNS_SERVER, qname="dbx.", rtype="A", status="nxdomain", elapsed_ms=1.3
            ),
        ),
        configured_servers=(DNS_SERVER,),
        search=("lab.example",),
    ),
)

NO_ADDRESS = CheckEvidence(
    target_host="mail.lab.example",
    port=25,
    scheme=None,
    dns=DnsEvidence(
        name="mail.lab.example",
        source="dns",
        nss=NssResult(
            name="mail.lab.example", status="no_address", gai_error="EAI_NODATA", elapsed_ms=3.0
        ),
        servers=(
            DnsServerAnswer(
                server=DNS_SERVER,
                qname="mail.lab.example.",
                rtype="A",
                status="nodata",
                elapsed_ms=1.0,
            ),
            DnsServerAnswer(
                server=DNS_SERVER,
                qname="mail.lab.example.",
                rtype="AAAA",
                status="nodata",
                elapsed_ms=1.0,
            ),
        ),
        configured_servers=(DNS_SERVER,),
    ),
)

RESOLVER_DOWN = CheckEvidence(
    target_host=DB,
    port=5432,
    scheme=None,
    dns=DnsEvidence(
        name=DB,
        source="dns",
        nss=NssResult(name=DB, status="again", gai_error="EAI_AGAIN", elapsed_ms=5004.0),
        servers=(
            DnsServerAnswer(
                server=DNS_SERVER, qname=f"{DB}.", rtype="A", status="timeout", elapsed_ms=800.0
            ),
        ),
        configured_servers=(DNS_SERVER,),
    ),
)

# The resolver answers SERVFAIL for db.corp.example (getaddrinfo: EAI_AGAIN); the zone's
# two servers, asked directly, refuse and stay silent: a lame delegation of an internal zone.
_SERVFAIL = DnsServerAnswer(
    server=DNS_SERVER, qname="db.corp.example", rtype="A", status="servfail", elapsed_ms=3.0
)
LAME_DELEGATION = CheckEvidence(
    target_host="db.corp.example",
    port=5432,
    scheme=None,
    dns=DnsEvidence(
        name="db.corp.example",
        source="dns",
        nss=NssResult(name="db.corp.example", status="again", gai_error="EAI_AGAIN",
                      elapsed_ms=4.0),
        servers=(_SERVFAIL,),
        configured_servers=(DNS_SERVER,),
        delegation=(
            DelegatedServer(zone="corp.example.", ns_name="ns1.corp.example.",
                            address="10.0.5.1", outcome="refused", lame=True,
                            detail="REFUSED", rtt_ms=0.4),
            DelegatedServer(zone="corp.example.", ns_name="ns2.corp.example.",
                            address="10.0.5.2", outcome="timeout", lame=True,
                            detail="no answer before the deadline", rtt_ms=800.0),
        ),
    ),
)

# The same SERVFAIL with no server of the zone found: the resolver answered, nothing more known.
RESOLVER_SERVFAIL = replace(
    LAME_DELEGATION, dns=replace(LAME_DELEGATION.dns, delegation=None)  # type: ignore[arg-type]
)

RESOLVER_PARTIAL = CheckEvidence(
    target_host=DB,
    port=5432,
    scheme=None,
    dns=DnsEvidence(
        name=DB,
        source="dns",
        nss=NssResult(name=DB, status="ok", addresses=(DB_IP,), elapsed_ms=5002.0),
        servers=(
            DnsServerAnswer(
                server="10.0.0.54", qname=f"{DB}.", rtype="A", status="timeout", elapsed_ms=800.0
            ),
            a_answer(f"{DB}.", DB_IP),
        ),
        configured_servers=("10.0.0.54", DNS_SERVER),
    ),
    addresses=OK_PORT.addresses,
)

STALE_IP = "10.0.2.99"


def _hosts_pinned(outcome: TcpOutcome) -> CheckEvidence:
    return CheckEvidence(
        target_host=DB,
        port=5432,
        scheme=None,
        dns=DnsEvidence(
            name=DB,
            source="hosts",
            nss=NssResult(
                name=DB,
                status="ok",
                addresses=(STALE_IP,),
                hosts_addresses=(STALE_IP,),
                elapsed_ms=0.2,
            ),
            servers=(a_answer(f"{DB}.", DB_IP),),
            configured_servers=(DNS_SERVER,),
        ),
        addresses=(addr(STALE_IP, route=route_ok(STALE_IP), tcp=tcp(STALE_IP, 5432, outcome)),),
    )


HOSTS_OVERRIDE_DEAD = _hosts_pinned("timeout")
HOSTS_OVERRIDE_ALIVE = _hosts_pinned("connected")

LOCALHOST_ORDER = ("::1", "127.0.0.1")


def _localhost(first: TcpOutcome, second: TcpOutcome, order: tuple[str, str]) -> CheckEvidence:
    return CheckEvidence(
        target_host="localhost",
        port=8080,
        scheme=None,
        dns=DnsEvidence(
            name="localhost",
            source="hosts",
            nss=NssResult(
                name="localhost",
                status="ok",
                addresses=order,
                hosts_addresses=order,
                elapsed_ms=0.1,
            ),
        ),
        addresses=(
            addr(
                order[0],
                route=RouteLookup(address=order[0], status="local", interface="lo"),
                tcp=tcp(order[0], 8080, first, elapsed=0.05),
            ),
            addr(
                order[1],
                route=RouteLookup(address=order[1], status="local", interface="lo"),
                tcp=tcp(order[1], 8080, second, elapsed=0.06),
            ),
        ),
    )


IPV6_MISMATCH = _localhost("refused", "connected", LOCALHOST_ORDER)
IPV6_MISMATCH_TIMEOUT = _localhost("timeout", "connected", LOCALHOST_ORDER)
IPV4_MISMATCH = _localhost("refused", "connected", ("127.0.0.1", "::1"))


def _web(h: HttpExchange | None, outcome: TcpOutcome = "connected") -> CheckEvidence:
    return CheckEvidence(
        target_host=WEB,
        port=80,
        scheme="http",
        dns=dns_ok(WEB, WEB_IP),
        addresses=(
            addr(
                WEB_IP,
                route=route_ok(WEB_IP),
                echo=echo_reply(WEB_IP),
                tcp=tcp(WEB_IP, 80, outcome),
                http=h,
            ),
        ),
    )


URL = f"http://{WEB}:80/health"
OK_HTTP = _web(
    http(URL, WEB_IP, 200, reason="OK", first_byte_ms=1.2, total_ms=1.5, server="nginx/1.22.1")
)
HTTP_500 = _web(
    http(
        URL,
        WEB_IP,
        503,
        reason="Service Unavailable",
        first_byte_ms=2.0,
        total_ms=2.4,
        server="nginx/1.22.1",
    )
)
HTTP_404 = _web(http(URL, WEB_IP, 404, reason="Not Found", total_ms=1.1))
HTTP_301 = _web(
    http(
        URL, WEB_IP, 301, reason="Moved Permanently", total_ms=1.0, location=f"https://{WEB}/health"
    )
)
TLS_ERROR = _web(
    http(
        URL,
        WEB_IP,
        None,
        outcome="tls_error",
        error="CERTIFICATE_VERIFY_FAILED: hostname mismatch",
        tls_ms=3.2,
    )
)
HTTP_TIMEOUT = _web(http(URL, WEB_IP, None, outcome="timeout", connect_ms=0.4, total_ms=2000.0))
HTTP_FAILED = _web(
    http(URL, WEB_IP, None, outcome="protocol_error", error="invalid HTTP status line: 'SSH-2.0'")
)

# The targets matching the cases, for reports.
TARGETS = {
    "db": Target(raw=f"{DB}:5432", host=DB, port=5432),
    "db_host": Target(raw=DB, host=DB, port=None),
    "dbx": Target(raw="dbx:5432", host="dbx", port=5432),
    "localhost": Target(raw="localhost:8080", host="localhost", port=8080),
    "web": Target(raw=URL, host=WEB, port=80, scheme="http", path="/health"),
}

# The zone moved db to .21; the resolver still serves the old .20 for another 3000 s, and
# the connection to .20 times out: a stale cache, not a firewall.
STALE_CACHE = CheckEvidence(
    target_host="db",
    port=5432,
    scheme=None,
    dns=DnsEvidence(
        name="db",
        source="dns",
        nss=NssResult(name="db", status="ok", addresses=("10.0.0.20",), elapsed_ms=2.31),
        servers=(a_answer("db.lab.example", "10.0.0.20", ttl=3000),),
        configured_servers=(DNS_SERVER,),
        authoritative=DnsServerAnswer(
            server="authoritative ns1.lab.example.",
            qname="db.lab.example.",
            rtype="A",
            status="ok",
            records=(DnsRecord(name="db.lab.example.", rtype="A", ttl=3600, value="10.0.0.21"),),
        ),
        checked_at=1_800_000_000.0,
    ),
    addresses=(
        addr(
            "10.0.0.20",
            route=route_ok("10.0.0.20", gateway=None, neigh="REACHABLE"),
            echo=echo_reply("10.0.0.20", ttl=64),
            tcp=tcp("10.0.0.20", 5432, "timeout"),
        ),
    ),
)


# --- targets on this host: the server side of the port rides along as evidence ------------


def local_route(address: str) -> RouteLookup:
    """The kernel's answer for an address of this host."""
    return RouteLookup(
        address=address, status="local", route_type="local", interface="lo", source=address
    )


def tcp_socket(
    src: str,
    sport: int,
    state: int,
    *,
    dst: str = "0.0.0.0",
    dport: int = 0,
    inode: int = 0,
    rqueue: int = 0,
    wqueue: int = 0,
) -> Socket:
    """One IPv4 TCP socket as sock_diag reports it (state: the kernel's number)."""
    return Socket(proto="tcp", family=2, state=state, src=src, sport=sport, dst=dst,
                  dport=dport, rqueue=rqueue, wqueue=wqueue, inode=inode)  # fmt: skip


def served(port: int, address: str, command: str, pid: int, **socks: Any) -> ServerEvidence:
    """The server side of `port`: the sockets given (listeners=..., connections=...), all
    held by `command` (pid), and whatever other field is given."""
    held = [*socks.get("listeners", ()), *socks.get("connections", ())]
    return ServerEvidence(
        port=port,
        address=address,
        processes=(Process(pid=pid, command=command, user="app", uid=1000),),
        holders=tuple(SocketHolder(inode=s.inode, pid=pid, fd=3 + i) for i, s in enumerate(held)),
        **socks,
    )


def local_case(
    address: str, port: int, outcome: TcpOutcome, server: ServerEvidence
) -> CheckEvidence:
    """A check of a port on this host, with the server side read there."""
    return CheckEvidence(
        target_host=address,
        port=port,
        scheme=None,
        dns=literal(address),
        addresses=(
            addr(
                address,
                route=local_route(address),
                echo=echo_reply(address, ttl=64),
                tcp=tcp(address, port, outcome),
                server=server,
            ),
        ),
    )


# postgres listens on 127.0.0.1 only; checked on the server through its LAN address.
LOCAL_LOOPBACK_ONLY = local_case(
    "10.0.0.20",
    5432,
    "refused",
    served(5432, "10.0.0.20", "postgres", 901,
           listeners=(tcp_socket("127.0.0.1", 5432, TCP_LISTEN, inode=9011, wqueue=128),)),
)  # fmt: skip

# The listener's accept queue is full: SYNs to it are dropped, the connect times out.
LOCAL_QUEUE_FULL = local_case(
    "127.0.0.1",
    8080,
    "timeout",
    served(8080, "127.0.0.1", "app", 77, listen_overflows=12,
           listeners=(tcp_socket("127.0.0.1", 8080, TCP_LISTEN, inode=771, rqueue=129,
                                 wqueue=128),)),
)  # fmt: skip

# On the server itself an input rule drops the SYN to a port nothing listens on: the connect
# times out, so the drop is the cause (no listener would have answered with a reset).
def _input_drop() -> CheckEvidence:
    bare = local_case("127.0.0.1", 5432, "timeout", ServerEvidence(port=5432, address="127.0.0.1"))
    rule = RuleRef(family="inet", table="f", chain="input", position=1,
                   text="tcp dport 5432 drop", handle=2, source="nft")  # fmt: skip
    wall = FirewallMatch(hook="input", decision="drop", rule=rule)
    return replace(bare, addresses=(replace(bare.addresses[0], firewall=wall),))


LOCAL_INPUT_DROP = _input_drop()

# The connection works, but the service leaks sockets in CLOSE-WAIT: a warning on ok.
LOCAL_CLOSE_WAIT = local_case(
    "127.0.0.1",
    8080,
    "connected",
    served(8080, "127.0.0.1", "app", 77,
           listeners=(tcp_socket("0.0.0.0", 8080, TCP_LISTEN, inode=771, wqueue=128),),
           connections=tuple(tcp_socket("127.0.0.1", 8080, TCP_CLOSE_WAIT, dst="127.0.0.1",
                                        dport=40_000 + i, inode=77_100 + i)
                             for i in range(40))),
)  # fmt: skip


# --- checks run with --ssh: the server's side joined (remote_cases.py, on the builders above)
# --- and postgres/redis/mysql handshakes, failed TLS handshakes (protocol_cases.py)

# and the udp:// and dns:// checks (udp_cases.py)

from protocol_cases import *  # noqa: E402, F403
from remote_cases import *  # noqa: E402, F403
from tls_port_cases import *  # noqa: E402, F403  (check --tls on ports not https://)
from udp_cases import *  # noqa: E402, F403
