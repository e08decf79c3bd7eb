"""How much of the one `--timeout` budget each probe of a check may take, and why.

Every number the plan uses to size a probe's wait lives here, next to its reason.
"""

from __future__ import annotations

# How long an ICMP echo may take at most: it only has to tell "up" from "silent".
ECHO_MAX_S = 1.0
# After TCP has answered, how long to still wait for the echo before dropping it.
ECHO_GRACE_S = 0.25
# DNS may use this share of the budget, but no more than DNS_CAP_S unless the budget is
# large: a server that has not answered in ~2 s (two UDP tries) is not going to help the
# application either, and the verdict should come within about 2 s.
DNS_SHARE = 0.6
DNS_CAP_S = 1.8
DNS_CAP_SHARE_OF_TIMEOUT = 0.3
# After this long, an on-link next hop still INCOMPLETE/FAILED has left at least one ARP/ND
# request unanswered; a live host answers in milliseconds, so no SYN-ACK can come.
NEIGHBOUR_PATIENCE_S = 1.0
DEAD_NEIGHBOUR = ("INCOMPLETE", "FAILED")
# A neighbour-table read is one netlink request: it answers at once or not at all.
NEIGHBOUR_READ_S = 0.3
NEIGHBOUR_WATCH_READ_S = 0.2
# `ip route get` is one netlink request too.
ROUTE_MAX_S = 0.5
# The authoritative check (a trace from the root) gets at most this long, and is not
# started with less than AUTHORITATIVE_MIN_S left: it could not finish one query.
AUTHORITATIVE_MAX_S = 1.5
AUTHORITATIVE_MIN_S = 0.1
# A connect that gets no answer is followed by the probes that say where the SYN died
# (egress test, TCP trace, this host's ruleset: ~0.1 s together on a quiet path); the
# connect ends this much before the budget (at most a quarter of what is left) so that they
# still run within it.
FOLLOW_UP_RESERVE_S = 0.15
# A raw SYN through this host's own output filter fails at once (EPERM) or leaves.
EGRESS_MAX_S = 0.3
# udp:// and dns://: how long silence is waited for before "open|filtered" (sent again at
# 0.5 s and 1.5 s, as a lost datagram or a rate-limited ICMP needs).
DATAGRAM_MAX_S = 2.5
# Reading and evaluating this host's ruleset (nft/iptables-save).
FIREWALL_MAX_S = 1.0
# The TCP traceroute waits for time-exceeded answers: 10 RTTs of the target, between 0.3 s
# and 1 s (1 s when the echo measured nothing).
TRACE_MAX_S = 1.0
TRACE_MIN_S = 0.3
TRACE_RTT_FACTOR = 10.0
# The local server read (sock_diag and /proc) may use half of what remains.
SERVER_READ_SHARE = 0.5
# A database's first answer (postgres' SSLRequest byte, redis' PONG, mysql's greeting) comes
# in milliseconds from a live server; a port silent this long does not speak the protocol.
HANDSHAKE_MAX_S = 1.0
# check --tls: a TLS handshake is two round trips and the server's signature; a live server
# completes it in milliseconds, a slow one (an RSA-4096 key on a busy host) in well under this.
TLS_HANDSHAKE_MAX_S = 2.0
# Ports tried for a host-only target when ICMP echo gets no reply: any TCP answer, even a
# reset, proves the host is up.
LIVENESS_PORTS = (22, 80, 443)
# Addresses of a name probed side by side (the first few a client would try).
MAX_ADDRESSES = 4
# --ssh: the client's connect waits for the server to be armed (its first read done and,
# as root, its packet socket open on the port) at most this long and this share of the
# budget. A warm shared connection arms in ~0.2 s; a cold one on a LAN (ssh -G, key
# exchange, the collector shipped, python started, the ruleset read) in 0.8-1.3 s on a busy
# 2-core machine. A link slower than that, or failing, must not hold the client's own
# probes: they go ahead and the server's capture is then marked as armed late (an absence
# of SYNs proves nothing). With the default 5 s the probes keep >= 2.2 s after the wait.
SSH_ARM_MAX_S = 2.0
SSH_ARM_SHARE = 0.4
# --ssh: the server's second read (sockets, ruleset with counters, kernel counters, the
# capture drained: ~0.1-0.3 s) and its way back over the link: the client's probes end this
# long before the deadline (at most this share of the budget) so that it still comes
# within the one --timeout.
SSH_AFTER_RESERVE_S = 0.8
SSH_AFTER_RESERVE_SHARE = 0.2


def trace_wait(echo_rtt_ms: float | None) -> float:
    """Seconds the TCP traceroute waits for answers, from the echo's round trip."""
    if echo_rtt_ms is None:
        return TRACE_MAX_S
    return min(TRACE_MAX_S, max(TRACE_MIN_S, echo_rtt_ms * TRACE_RTT_FACTOR / 1000))


def dns_cap(timeout: float) -> float:
    """At most this many seconds for DNS under a `timeout`-second budget."""
    return max(DNS_CAP_S, DNS_CAP_SHARE_OF_TIMEOUT * timeout)


def server_reserve(timeout: float) -> float:
    """Seconds kept at the end of a `timeout`-second --ssh check for the server's last read."""
    return min(SSH_AFTER_RESERVE_S, SSH_AFTER_RESERVE_SHARE * timeout)
