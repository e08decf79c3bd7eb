"""Evidence literals of checks run with `--ssh`: the client's evidence (the cases of
evidence_cases.py) joined with what the server said over SSH.

The server is db-server-01 (10.0.2.5, eth0 towards the client's router; eth1 a second
network), the client 10.0.0.10. Every number is a fact a rule is expected to quote: the
deciding rule's handle and counters, the SYNs the capture saw, the counters that rose.
evidence_cases.py re-exports the cases (import it first: it builds on its builders), and
REMOTE_EXPECTED gives each one's verdict.
"""

from __future__ import annotations

from dataclasses import replace

import evidence_cases as c

from netdx.model import CheckEvidence, EgressCheck, FirewallMatch, Hop, PathTrace, RouteLookup
from netdx.model.firewall import FlowPacket, RuleRef
from netdx.model.remote import (
    CounterDelta,
    PacketSeen,
    RemoteEvidence,
    ReturnPath,
    ServerFirewall,
    SshOutcome,
    SshStatus,
    WireCapture,
)
from netdx.model.server import TCP_CLOSE_WAIT, TCP_LISTEN, ServerEvidence
from netdx.model.vantage import Vantage

DEST = "admin@db-server-01"
CLIENT = "10.0.0.10"
SERVER_ADDRESSES = (c.DB_IP, "127.0.0.1", "::1")


# --- builders ------------------------------------------------------------------------------


def link(**kw: object) -> SshOutcome:
    """A link that worked, as root, on a cold connection."""
    values: dict[str, object] = {"python": "3.11.2", "euid": 0, "warm": False, "elapsed_ms": 412.0}
    values.update(kw)
    return SshOutcome(destination=DEST, status="ok", **values)  # type: ignore[arg-type]


def remote(**kw: object) -> RemoteEvidence:
    """The server's side of a check of 10.0.2.5:5432 from 10.0.0.10, read as root."""
    values: dict[str, object] = {
        "ssh": link(),
        "client": CLIENT,
        "addresses": SERVER_ADDRESSES,
        "root": True,
        "server": listening(),
    }
    values.update(kw)
    return RemoteEvidence(observed_on=Vantage(kind="ssh", name=DEST), **values)  # type: ignore[arg-type]


def listening(address: str = "0.0.0.0", **kw: object) -> ServerEvidence:
    """postgres (pid 901) listening on `address`:5432."""
    sock = c.tcp_socket(address, 5432, TCP_LISTEN, inode=9011, wqueue=128)
    return c.served(5432, c.DB_IP, "postgres", 901, listeners=(sock,), **kw)


def rule(text: str, *, handle: int = 7) -> RuleRef:
    return RuleRef(family="inet", table="filter", chain="input", position=3, text=text,
                   handle=handle, source="nft")  # fmt: skip


DROP = rule(f"ip saddr {CLIENT} tcp dport 5432 drop")
RESET = rule(f"ip saddr {CLIENT} tcp dport 5432 reject with tcp reset", handle=9)


def wall(
    decision: str,
    deciding: RuleRef | None,
    before: int | None,
    after: int | None,
    *,
    reject_with: str | None = None,
) -> ServerFirewall:
    """The server's answer for the client's flow at the input hook, with the rule's counter."""
    flow = FlowPacket(family=4, saddr=CLIENT, daddr=c.DB_IP, sport=None, dport=5432, iif="eth0")
    match = FirewallMatch(
        hook="input",
        decision=decision,  # type: ignore[arg-type]
        packet=flow,
        rule=deciding,
        policy=None if deciding else "inet filter input policy accept",
        reject_with=reject_with,
    )
    return ServerFirewall(match=match, counter_before=before, counter_after=after)


ACCEPT = wall("accept", None, None, None)


def syn(iface: str = "eth0", at: float = 3.0) -> PacketSeen:
    return PacketSeen(direction="in", src=CLIENT, sport=40001, dst=c.DB_IP, dport=5432,
                      flags="S", ifname=iface, at_ms=at)  # fmt: skip


def answer(flags: str) -> PacketSeen:
    return PacketSeen(direction="out", src=c.DB_IP, sport=5432, dst=CLIENT, dport=40001,
                      flags=flags, ifname="eth0", at_ms=3.2)  # fmt: skip


def capture(*packets: PacketSeen, kernel_dropped: int = 0) -> WireCapture:
    return WireCapture(status="ok", port=5432, packets=packets, kernel_dropped=kernel_dropped,
                       window_ms=1180.0)  # fmt: skip


NOT_ROOT_CAPTURE = WireCapture(
    status="not_root", port=5432, reason="AF_PACKET needs CAP_NET_RAW"
)
THREE_SYNS = capture(syn(at=2.0), syn(at=1003.0), syn(at=1004.0))


def joined(ev: CheckEvidence, server_side: RemoteEvidence) -> CheckEvidence:
    return replace(ev, remote=server_side)


def failed_link(status: SshStatus, message: str, *settings: tuple[str, str]) -> RemoteEvidence:
    outcome = SshOutcome(destination=DEST, status=status, message=message, settings=settings,
                         elapsed_ms=1500.0)  # fmt: skip
    return RemoteEvidence(ssh=outcome, observed_on=Vantage(kind="ssh", name=DEST))


# The client's side: the payment server's port times out (egress cleared as root), and a
# TCP traceroute got an answer from the router only.
TIMEOUT = replace(
    c.PORT_FILTERED,
    addresses=(
        replace(
            c.PORT_FILTERED.addresses[0],
            egress=EgressCheck(address=c.DB_IP, port=5432, status="clear"),
            path=PathTrace(
                address=c.DB_IP,
                port=5432,
                hops=(
                    Hop(ttl=1, kind="time_exceeded", address=c.ROUTER, rtt_ms=0.31),
                    Hop(ttl=2, kind="silent"),
                    Hop(ttl=3, kind="silent"),
                ),
                reached=False,
            ),
        ),
    ),
)

# --- cases ---------------------------------------------------------------------------------

# The seed story: Sunday's rule drops the payment server's address; it counted the 3 SYNs.
REMOTE_RULE_CONFIRMED = joined(
    TIMEOUT, remote(firewall=wall("drop", DROP, 12, 15), capture=THREE_SYNS)
)
# The same rule, but its counter did not move and the capture could not run: a candidate.
REMOTE_RULE_CANDIDATE = joined(
    TIMEOUT, remote(firewall=wall("drop", DROP, 15, 15), capture=NOT_ROOT_CAPTURE)
)
# A rule without a counter statement: a candidate, and the fix gives it a counter.
REMOTE_RULE_NO_COUNTER = joined(
    TIMEOUT, remote(firewall=wall("drop", DROP, None, None), capture=NOT_ROOT_CAPTURE)
)
# The server's capture saw no SYN at all: a router on the way drops it.
REMOTE_NEVER_ARRIVED = joined(TIMEOUT, remote(firewall=ACCEPT, capture=capture()))
# The same silence, but the packet socket lost packets: the absence is unproven.
REMOTE_LOSSY_CAPTURE = joined(TIMEOUT, remote(firewall=ACCEPT, capture=capture(kernel_dropped=2)))
# Not root on the server: no capture, no ruleset; the client's verdict stands.
REMOTE_NOT_ROOT = joined(
    TIMEOUT,
    remote(
        ssh=link(euid=1000),
        root=False,
        capture=NOT_ROOT_CAPTURE,
        firewall=ServerFirewall(
            match=FirewallMatch(
                hook="input", decision="unknown", error="nft: Operation not permitted"
            )
        ),
    ),
)

RETURN_VIA_ETH0 = RouteLookup(address=CLIENT, status="ok", route_type="unicast", interface="eth0",
                              gateway="10.0.2.1", source=c.DB_IP)  # fmt: skip
# The SYN comes in on eth1 (a second path), the route back leaves by eth0, rp_filter strict.
REMOTE_RP_FILTER = joined(
    TIMEOUT,
    remote(
        firewall=ACCEPT,
        capture=capture(syn("eth1", 2.0), syn("eth1", 1003.0)),
        return_path=ReturnPath(client=CLIENT, route=RETURN_VIA_ETH0, syn_interface="eth1",
                               rp_filter=1),
    ),
)  # fmt: skip
# No capture, but the kernel counted reverse-path drops during the check.
REMOTE_RP_COUNTER = joined(
    TIMEOUT,
    remote(
        firewall=ACCEPT,
        capture=NOT_ROOT_CAPTURE,
        counters=(CounterDelta(name="TcpExtIPReversePathFilter", before=4, after=6),),
    ),
)
# Asymmetric, but loose filtering (2): the filter lets it pass; the drop is elsewhere.
REMOTE_RP_LOOSE = joined(
    TIMEOUT,
    remote(
        firewall=ACCEPT,
        capture=NOT_ROOT_CAPTURE,
        return_path=ReturnPath(client=CLIENT, route=RETURN_VIA_ETH0, syn_interface="eth1",
                               rp_filter=2),
    ),
)  # fmt: skip
# A tcp-reset REJECT rule answered (its counter rose), though postgres listens.
REMOTE_RESET_RULE = joined(
    c.REFUSED,
    remote(firewall=wall("reject", RESET, 4, 7, reject_with="tcp reset"),
           capture=capture(syn(), answer("R."))),
)  # fmt: skip
# The target itself answers with ICMP port-unreachable: the server's REJECT rule, counted.
REMOTE_ICMP_RULE = joined(
    c.REJECT_PORT_UNREACHABLE,
    remote(firewall=wall("reject", rule(f"ip saddr {CLIENT} tcp dport 5432 reject", handle=11),
                         5, 8, reject_with="icmp port-unreachable")),
)  # fmt: skip
# Nothing listens on 5432 (postgres moved to 5433), the ruleset accepts.
REMOTE_NO_LISTENER = joined(
    c.REFUSED,
    remote(
        firewall=ACCEPT,
        server=c.served(5432, c.DB_IP, "postgres", 901, other_listeners=(
            c.tcp_socket("0.0.0.0", 5433, TCP_LISTEN, inode=9011, wqueue=128),)),
    ),
)  # fmt: skip
# A reset rule whose counter did not move, and nothing listens: the listener explains it.
REMOTE_RESET_UNCOUNTED = replace(
    REMOTE_NO_LISTENER,
    remote=replace(REMOTE_NO_LISTENER.remote,
                   firewall=wall("reject", RESET, 7, 7, reject_with="tcp reset")),
)  # fmt: skip
# postgres listens on 127.0.0.1 only.
REMOTE_LOOPBACK = joined(c.REFUSED, remote(firewall=ACCEPT, server=listening("127.0.0.1")))
# The connection works; the service leaks CLOSE-WAIT sockets: ok with a warning.
REMOTE_CLOSE_WAIT = joined(
    c.OK_PORT,
    remote(
        firewall=ACCEPT,
        server=listening(connections=tuple(
            c.tcp_socket(c.DB_IP, 5432, TCP_CLOSE_WAIT, dst="10.0.0.30", dport=41_000 + i,
                         inode=9100 + i) for i in range(25)), earlier_close_wait=21),
    ),
)  # fmt: skip
# The SYNs arrive unanswered and the listen queue overflowed during the check.
REMOTE_QUEUE_OVERFLOW = joined(
    TIMEOUT,
    remote(
        firewall=ACCEPT,
        capture=THREE_SYNS,
        counters=(
            CounterDelta(name="TcpExtListenOverflows", before=100, after=103),
            CounterDelta(name="TcpExtListenDrops", before=100, after=103),
        ),
    ),
)
# db resolves to .5 but the server has moved to .7: it does not have .5 at all.
REMOTE_WRONG_ADDRESS = joined(
    TIMEOUT, remote(firewall=ACCEPT, capture=capture(), addresses=("10.0.2.7", "127.0.0.1"))
)
# The server does not have .5, but the SYNs reach it (a NAT in front): no wrong address.
REMOTE_BEHIND_NAT = joined(
    TIMEOUT, remote(firewall=ACCEPT, capture=THREE_SYNS, addresses=("192.168.9.5", "127.0.0.1"))
)
# The resolver still serves the old address; the server (now .21) does not have .20.
REMOTE_STALE_CACHE = joined(
    c.STALE_CACHE, remote(addresses=("10.0.0.21", "127.0.0.1"), capture=capture())
)
# A router on the way rejects with admin-prohibited; the server's capture saw no SYN.
REMOTE_ROUTER_REJECT = joined(c.REJECT_ADMIN, remote(firewall=ACCEPT, capture=capture()))
# HTTP 503 from web: nginx (pid 2200) listens on 0.0.0.0:80 and answered.
REMOTE_HTTP_SERVED = joined(
    c.HTTP_500,
    remote(server=c.served(80, c.WEB_IP, "nginx", 2200, listeners=(
        c.tcp_socket("0.0.0.0", 80, TCP_LISTEN, inode=2201, wqueue=511),))),
)  # fmt: skip
# The link failed: the client's verdict stands, with ssh's warning beside it.
REMOTE_SSH_HOSTKEY = joined(
    c.PORT_FILTERED,
    failed_link(
        "hostkey",
        "Host key verification failed.",
        ("hostname", "db-server-01"),
        ("port", "22"),
        ("stricthostkeychecking", "ask"),
        ("userknownhostsfile", "~/.ssh/known_hosts ~/.ssh/known_hosts2"),
    ),
)
REMOTE_SSH_TIMEOUT = joined(
    c.REFUSED,
    failed_link("timeout", "ssh: connect to host db-server-01 port 22: Connection timed out",
                ("hostname", "db-server-01"), ("port", "22"), ("connecttimeout", "2")),
)  # fmt: skip

REMOTE_EXPECTED = {
    "REMOTE_RULE_CONFIRMED": "port.filtered",
    "REMOTE_RULE_CANDIDATE": "port.filtered",
    "REMOTE_RULE_NO_COUNTER": "port.filtered",
    "REMOTE_NEVER_ARRIVED": "path.filtered_midway",
    "REMOTE_LOSSY_CAPTURE": "port.filtered",
    "REMOTE_NOT_ROOT": "port.filtered",
    "REMOTE_RP_FILTER": "route.rp_filter",
    "REMOTE_RP_COUNTER": "route.rp_filter",
    "REMOTE_RP_LOOSE": "port.filtered",
    "REMOTE_RESET_RULE": "port.refused",
    "REMOTE_ICMP_RULE": "firewall.reject_port_unreachable",
    "REMOTE_NO_LISTENER": "port.refused",
    "REMOTE_RESET_UNCOUNTED": "port.refused",
    "REMOTE_LOOPBACK": "service.loopback_only",
    "REMOTE_CLOSE_WAIT": "ok",
    "REMOTE_QUEUE_OVERFLOW": "app.accept_queue_full",
    "REMOTE_WRONG_ADDRESS": "dns.wrong_address",
    "REMOTE_BEHIND_NAT": "port.filtered",
    "REMOTE_STALE_CACHE": "dns.stale_cache",
    "REMOTE_ROUTER_REJECT": "firewall.reject_admin",
    "REMOTE_HTTP_SERVED": "service.http_error",
    "REMOTE_SSH_HOSTKEY": "port.filtered",
    "REMOTE_SSH_TIMEOUT": "port.refused",
}

__all__ = sorted(REMOTE_EXPECTED)  # the cases; evidence_cases re-exports exactly these
