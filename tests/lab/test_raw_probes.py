"""Lab tests of the socket probes (TCP connect, ICMP echo, egress SYN, TCP trace) on a real
routed path.

Topology (namespaces only, veth between namespaces, nothing linked to the root namespace):

    ndxh-rp-t-c ── ndxh-rp-t-r1 ── ndxh-rp-t-r2 ── ndxh-rp-t-s
    10.91.1.2      .1.1 | .2.1     .2.2 | .3.1     10.91.3.2 (+ .3.5), listener on :8080
    fd91:1::2      ...                               fd91:3::2

r1 has `unreachable 10.91.9.0/24` and `prohibit 10.91.8.0/24` routes (and the v6 pair),
and forward-drops tcp dport 8085. r2 rejects tcp dport 8084 with admin-prohibited. The server
drops tcp dport 8082, rejects tcp dport 8083 with port-unreachable and drops echo requests to
10.91.3.5. Routers run with ICMP rate limits off. Each probe runs in the client namespace in
its own `python -X dev -W error` process (an unclosed socket fails it), and every call must
return within its deadline + 0.2 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.lab

PYTHON = sys.executable
P = "ndxh-rp-t-"
NS = {n: P + n for n in ("c", "r1", "r2", "s")}
CLIENT4, CLIENT6 = "10.91.1.2", "fd91:1::2"
R1_4, R1_6 = "10.91.1.1", "fd91:1::1"
R2_4, R2_6 = "10.91.2.2", "fd91:2::2"
SERVER4, SERVER6 = "10.91.3.2", "fd91:3::2"
NO_ECHO4 = "10.91.3.5"
# How far past its deadline a probe may say it returned, by its own clock in the child.
# Event-loop wake-ups on a machine busy with other work cost tens of milliseconds; a probe
# that misses its deadline overruns by a SYN retransmission (1 s) or more.
LATE_S = 0.5

RUNNER = r"""
import asyncio, dataclasses, json, sys, threading, time
from netdx.budget import Deadline
from netdx.drive import SyncSteering
from netdx.probes.egress import egress_check
from netdx.probes.icmp import icmp_echo, icmp_echo_sync
from netdx.probes.tcp import tcp_connect, tcp_connect_sync
from netdx.probes.tcptrace import tcp_trace

req = json.loads(sys.argv[1])
PROBES = {"tcp": tcp_connect, "echo": icmp_echo, "egress": egress_check, "trace": tcp_trace}
SYNC = {"tcp_sync": tcp_connect_sync, "echo_sync": icmp_echo_sync}  # the CLI check's

def sync_main():
    steer = SyncSteering()
    if req.get("rtt") is not None:
        threading.Timer(req["rtt_after"], steer.hint, (req["rtt"],)).start()
    start = time.monotonic()
    result = SYNC[req["probe"]](
        *req["args"], deadline=Deadline.after(req["deadline"]), steer=steer,
        **req.get("kwargs", {})
    )
    took = time.monotonic() - start
    steer.close()
    print(json.dumps({"took": took, "result": dataclasses.asdict(result)}))

async def main():
    kwargs = dict(req.get("kwargs", {}))
    if req.get("rtt") is not None:
        fut = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(req["rtt_after"], fut.set_result, req["rtt"])
        kwargs["rtt_ms"] = fut
    start = time.monotonic()
    result = await PROBES[req["probe"]](
        *req["args"], deadline=Deadline.after(req["deadline"]), **kwargs
    )
    took = time.monotonic() - start
    print(json.dumps({"took": took, "result": dataclasses.asdict(result)}))

if req["probe"] in SYNC:
    sync_main()
else:
    asyncio.run(main())
"""

R2_RULES = """table inet t {
 chain f {
  type filter hook forward priority 0;
  tcp dport 8084 meta nfproto ipv4 reject with icmp type admin-prohibited
  tcp dport 8084 meta nfproto ipv6 reject with icmpv6 type admin-prohibited
 }
}
"""
R1_RULES = """table inet t {
 chain f {
  type filter hook forward priority 0;
  tcp dport 8085 drop
 }
}
"""
SERVER_RULES = """table inet t {
 chain i {
  type filter hook input priority 0;
  tcp dport 8082 drop
  tcp dport 8083 meta nfproto ipv4 reject with icmp type port-unreachable
  tcp dport 8083 meta nfproto ipv6 reject with icmpv6 type port-unreachable
  ip daddr 10.91.3.5 icmp type echo-request drop
 }
}
"""
LISTENER = (
    "import socket, time\n"
    "s = socket.socket(socket.AF_INET6)\n"
    "s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)\n"
    "s.bind(('::', 8080)); s.listen(128)\n"
    "print('listening', flush=True)\n"
    "time.sleep(600)\n"
)


def sh(*argv: str, stdin: str | None = None) -> None:
    subprocess.run(argv, check=True, input=stdin, text=True, capture_output=True)


def nsx(ns: str, *argv: str, stdin: str | None = None) -> None:
    sh("ip", "netns", "exec", NS[ns], *argv, stdin=stdin)


def _build() -> None:
    for ns in NS.values():
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        # No DAD: tentative link-local addresses would stall neighbour discovery at first.
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
           "net.ipv6.conf.default.accept_dad=0")  # fmt: skip
    for a, ia, b, ib in (
        ("c", "c0", "r1", "r1a"),
        ("r1", "r1b", "r2", "r2a"),
        ("r2", "r2b", "s", "s0"),
    ):
        sh("ip", "link", "add", f"ndxh-rpt-{ia}", "netns", NS[a], "type", "veth",
           "peer", "name", f"ndxh-rpt-{ib}", "netns", NS[b])  # fmt: skip
    for ns, dev, a4, a6 in (
        ("c", "c0", "10.91.1.2/24", "fd91:1::2/64"),
        ("r1", "r1a", "10.91.1.1/24", "fd91:1::1/64"),
        ("r1", "r1b", "10.91.2.1/24", "fd91:2::1/64"),
        ("r2", "r2a", "10.91.2.2/24", "fd91:2::2/64"),
        ("r2", "r2b", "10.91.3.1/24", "fd91:3::1/64"),
        ("s", "s0", "10.91.3.2/24", "fd91:3::2/64"),
    ):
        sh("ip", "-n", NS[ns], "addr", "add", a4, "dev", f"ndxh-rpt-{dev}")
        sh("ip", "-n", NS[ns], "addr", "add", a6, "dev", f"ndxh-rpt-{dev}", "nodad")
        sh("ip", "-n", NS[ns], "link", "set", f"ndxh-rpt-{dev}", "up")
    sh("ip", "-n", NS["s"], "addr", "add", "10.91.3.5/24", "dev", "ndxh-rpt-s0")
    for ns, d4, g4, d6, g6 in (
        ("c", "default", "10.91.1.1", "default", "fd91:1::1"),
        ("s", "default", "10.91.3.1", "default", "fd91:3::1"),
        ("r1", "default", "10.91.2.2", "default", "fd91:2::2"),
        ("r2", "default", "10.91.2.1", "fd91:1::/64", "fd91:2::1"),
    ):
        sh("ip", "-n", NS[ns], "route", "add", d4, "via", g4)
        sh("ip", "-n", NS[ns], "-6", "route", "add", d6, "via", g6)
    for kind, net in (("unreachable", "10.91.9.0/24"), ("prohibit", "10.91.8.0/24"),
                      ("unreachable", "fd91:9::/64"), ("prohibit", "fd91:8::/64")):  # fmt: skip
        sh("ip", "-n", NS["r1"], "route", "add", kind, net)
    for r in ("r1", "r2"):
        nsx(r, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1",
            "net.ipv4.icmp_ratelimit=0", "net.ipv6.icmp.ratelimit=0")  # fmt: skip
    # Neighbour resolution gives up after 2 × 200 ms instead of 3 × 1 s: the test stays short.
    nsx("c", "sysctl", "-qw", "net.ipv4.neigh.ndxh-rpt-c0.retrans_time_ms=200",
        "net.ipv4.neigh.ndxh-rpt-c0.mcast_solicit=2",
        "net.ipv6.neigh.ndxh-rpt-c0.retrans_time_ms=200",
        "net.ipv6.neigh.ndxh-rpt-c0.mcast_solicit=2")  # fmt: skip
    nsx("r1", "nft", "-f", "-", stdin=R1_RULES)
    nsx("r2", "nft", "-f", "-", stdin=R2_RULES)
    nsx("s", "nft", "-f", "-", stdin=SERVER_RULES)


def _teardown() -> None:
    for ns in NS.values():
        subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)


@pytest.fixture(scope="module")
def lab() -> Iterator[None]:
    """The namespace chain with its rules and a dual-stack listener on the server's :8080."""
    if os.geteuid() != 0:
        pytest.fail("lab tests need root and network namespaces")
    _teardown()
    listener: subprocess.Popen[str] | None = None
    try:
        _build()
        listener = subprocess.Popen(
            ["ip", "netns", "exec", NS["s"], PYTHON, "-c", LISTENER],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert listener.stdout is not None
        # The listener says so once listen() returned (an empty line: it died first).
        assert listener.stdout.readline() == "listening\n"
        for dest in (SERVER4, SERVER6):  # settle ND/ARP on the path before timing anything
            wait_for_echo(dest)
        yield
    finally:
        if listener is not None:
            listener.kill()
            listener.communicate()  # reaps it and closes the readiness pipe
        _teardown()


def wait_for_echo(dest: str) -> None:
    """Ping `dest` from the client until it answers (at most ~10 s)."""
    for _ in range(10):
        ping = ["ip", "netns", "exec", NS["c"], "ping", "-c", "1", "-W", "1", dest]
        if subprocess.run(ping, check=False, capture_output=True).returncode == 0:
            return
        time.sleep(0.2)
    pytest.fail(f"{dest} never answered: the lab topology is broken")


def probe(
    name: str, *args: Any, deadline: float, user: str | None = None, **extra: Any
) -> dict[str, Any]:
    """Run one probe in the client namespace; its result as a dict. Asserts the deadline."""
    request = {"probe": name, "args": list(args), "deadline": deadline, **extra}
    argv = ["ip", "netns", "exec", NS["c"]]
    if user is not None:
        argv += ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"]
    argv += [PYTHON, "-X", "dev", "-W", "error", "-c", RUNNER, json.dumps(request)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=deadline + 15)
    assert done.returncode == 0 and not done.stderr, done.stderr
    out = json.loads(done.stdout)
    assert out["took"] <= deadline + LATE_S, f"{name} took {out['took']:.3f}s > {deadline}s"
    return out["result"]  # type: ignore[no-any-return]


@pytest.fixture(params=["", "_sync"], ids=["asyncio", "sync"])
def wait(request: pytest.FixtureRequest) -> str:
    """The connect's and the echo's two waits: the coroutine (--ssh, serve, verify) and the
    thread's poll (the CLI's check, netdx.drive): the same probe, the same evidence."""
    return request.param  # type: ignore[no-any-return]


def settle_router() -> None:
    """Wait out r1's per-host ICMP error token bucket before a route-error probe.

    A route error (ip_error) needs a token that refills one per second, and every other ICMP
    error r1 sends to the client with icmp_ratelimit=0 empties that same bucket.
    """
    time.sleep(1.1)


@pytest.mark.parametrize("address", [SERVER4, SERVER6])
def test_connected_records_local_endpoint(wait: str, lab: None, address: str) -> None:
    """A listening port gives "connected" with our local address:port."""
    r = probe("tcp" + wait, address, 8080, deadline=2.0)
    assert r["outcome"] == "connected"
    assert r["local"].startswith(CLIENT4 if ":" not in address else f"[{CLIENT6}]:")
    assert r["elapsed_ms"] < 100


@pytest.mark.parametrize("address", [SERVER4, SERVER6])
def test_closed_port_is_refused(wait: str, lab: None, address: str) -> None:
    """A port without a listener answers with a reset: "refused", no ICMP."""
    r = probe("tcp" + wait, address, 8081, deadline=2.0)
    assert (r["outcome"], r["errno"], r["icmp"]) == ("refused", "ECONNREFUSED", None)


def test_filtered_port_times_out_on_budget(wait: str, lab: None) -> None:
    """A dropped SYN without an RTT times out after 60 % of a 2 s budget (1.2 s)."""
    r = probe("tcp" + wait, SERVER4, 8082, deadline=2.0)
    assert (r["outcome"], r["timeout_basis"]) == ("timeout", "budget")
    assert r["timeout_ms"] == pytest.approx(1200.0, abs=5.0)
    # At its own 1.2 s, not at the 2 s deadline: the upper bound only allows for load.
    assert 1190 <= r["elapsed_ms"] <= 1200 + LATE_S * 1000


def test_filtered_port_times_out_on_rtt_once_known(wait: str, lab: None) -> None:
    """An RTT arriving mid-connect switches to the RTT timeout (1.1 s from the start)."""
    r = probe("tcp" + wait, SERVER6, 8082, deadline=4.0, rtt=0.4, rtt_after=0.1)
    assert (r["outcome"], r["timeout_basis"], r["rtt_ms"]) == ("timeout", "rtt", 0.4)
    assert r["timeout_ms"] == pytest.approx(1100.0)
    # At 1.1 s, not at the budget's 2.4 s: the upper bound only allows for load.
    assert 1090 <= r["elapsed_ms"] <= 1100 + LATE_S * 1000


@pytest.mark.parametrize(("address", "code"), [(SERVER4, 3), (SERVER6, 4)])
def test_reject_rule_gives_port_unreachable_from_server(
    wait: str, lab: None, address: str, code: int
) -> None:
    """An ICMP port-unreachable (a reject rule) is icmp_error naming the server, not refused."""
    r = probe("tcp" + wait, address, 8083, deadline=2.0)
    assert r["outcome"] == "icmp_error"
    assert r["icmp"]["kind"] == "port-unreachable"
    assert (r["icmp"]["icmp_code"], r["icmp"]["sender"]) == (code, address)


@pytest.mark.parametrize(("address", "router", "code"), [(SERVER4, R2_4, 13), (SERVER6, R2_6, 1)])
def test_router_reject_gives_admin_prohibited_from_router(
    wait: str, lab: None, address: str, router: str, code: int
) -> None:
    """A router's admin-prohibited reject is icmp_error with that router as sender."""
    r = probe("tcp" + wait, address, 8084, deadline=2.0)
    assert r["outcome"] == "icmp_error"
    assert (r["icmp"]["kind"], r["icmp"]["icmp_code"]) == ("admin-prohibited", code)
    assert r["icmp"]["sender"] == router


@pytest.mark.parametrize(
    ("address", "kind", "code", "sender"),
    [
        ("10.91.9.1", "host-unreachable", 1, R1_4),
        ("10.91.8.1", "admin-prohibited", 13, R1_4),
        ("fd91:9::1", "no-route", 0, R1_6),
        ("fd91:8::1", "admin-prohibited", 1, R1_6),
    ],
)
def test_router_unreachable_and_prohibit_routes(
    wait: str, lab: None, address: str, kind: str, code: int, sender: str
) -> None:
    """A router's unreachable route gives host-unreachable (v6: no-route), a prohibit route
    admin-prohibited, both naming the router."""
    settle_router()
    r = probe("tcp" + wait, address, 80, deadline=2.0)
    assert r["outcome"] == "icmp_error"
    assert (r["icmp"]["kind"], r["icmp"]["icmp_code"], r["icmp"]["sender"]) == (
        kind,
        code,
        sender,
    )


@pytest.mark.parametrize("address", ["10.91.1.99", "fd91:1::99"])
def test_neighbour_failure_is_a_local_error(wait: str, lab: None, address: str) -> None:
    """An on-link address nobody answers ARP/ND for gives a local EHOSTUNREACH, no ICMP."""
    r = probe("tcp" + wait, address, 80, deadline=3.0)
    assert (r["outcome"], r["errno"], r["icmp"]) == ("error", "EHOSTUNREACH", None)


@pytest.mark.parametrize("address", [SERVER4, SERVER6])
def test_egress_clear_without_output_rules(lab: None, address: str) -> None:
    """With no output filter the raw SYN leaves: "clear"."""
    r = probe("egress", address, 8080, deadline=1.0)
    assert r["status"] == "clear"


@pytest.mark.parametrize(
    ("add", "remove"),
    [
        (
            [
                "nft",
                "add table inet ndxhout; add chain inet ndxhout o "
                "{ type filter hook output priority 0; }; "
                "add rule inet ndxhout o tcp dport 8080 drop",
            ],
            ["nft", "delete table inet ndxhout"],
        ),
        (["iptables", "-A", "OUTPUT", "-j", "DROP"], ["iptables", "-F", "OUTPUT"]),
        (["ip6tables", "-A", "OUTPUT", "-j", "DROP"], ["ip6tables", "-F", "OUTPUT"]),
    ],
)
def test_egress_blocked_by_output_drop(lab: None, add: list[str], remove: list[str]) -> None:
    """An OUTPUT drop (nft or iptables) makes the raw SYN fail with EPERM: "blocked"."""
    address = SERVER6 if add[0] == "ip6tables" else SERVER4
    nsx("c", *add)
    try:
        r = probe("egress", address, 8080, deadline=1.0)
    finally:
        nsx("c", *remove)
    assert (r["status"], r["errno"]) == ("blocked", "EPERM")


def test_egress_unknown_without_root(lab: None) -> None:
    """Without CAP_NET_RAW the check says it needs root."""
    r = probe("egress", SERVER4, 8080, deadline=1.0, user="65534")
    assert r["status"] == "unknown"
    assert r["reason"] == "needs root to rule out local egress filtering"


@pytest.mark.parametrize("address", [SERVER4, SERVER6])
def test_echo_reply_raw_with_ttl(wait: str, lab: None, address: str) -> None:
    """As root (ping_group_range "1 0") the raw socket gets 3 replies, TTL 64 - 2 routers."""
    r = probe("echo" + wait, address, deadline=2.0)
    assert (r["status"], r["method"], r["sent"], r["received"]) == ("reply", "raw", 3, 3)
    assert r["reply_ttl"] == 62
    assert 0 < r["rtt_ms"] < 50


def test_echo_reply_dgram_when_group_allowed(wait: str, lab: None) -> None:
    """With ping_group_range covering our gid the unprivileged datagram socket is used."""
    nsx("c", "sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647")
    try:
        r = probe("echo" + wait, SERVER4, deadline=2.0, user="65534")
        r6 = probe("echo" + wait, SERVER6, deadline=2.0, user="65534")
    finally:
        nsx("c", "sysctl", "-qw", "net.ipv4.ping_group_range=1 0")
    for res in (r, r6):
        assert (res["status"], res["method"], res["received"], res["reply_ttl"]) == (
            "reply",
            "dgram",
            3,
            62,
        )


def test_echo_unknown_says_what_would_settle_it(wait: str, lab: None) -> None:
    """Unprivileged with ping_group_range "1 0": unknown, naming CAP_NET_RAW and the sysctl."""
    r = probe("echo" + wait, SERVER4, deadline=1.0, user="65534")
    assert r["status"] == "unknown"
    assert "CAP_NET_RAW" in r["reason"] and "gid 65534" in r["reason"]


@pytest.mark.parametrize("user", [None, "65534"])
def test_echo_icmp_error_names_router(wait: str, lab: None, user: str | None) -> None:
    """An echo into a router's unreachable route gives icmp_error host-unreachable from r1,
    on the raw socket (root) and on the datagram socket's error queue."""
    settle_router()
    groups = "1 0" if user is None else "0 2147483647"  # root must not get the dgram socket
    nsx("c", "sysctl", "-qw", f"net.ipv4.ping_group_range={groups}")
    try:
        r = probe("echo" + wait, "10.91.9.1", deadline=2.0, user=user)
    finally:
        nsx("c", "sysctl", "-qw", "net.ipv4.ping_group_range=1 0")
    assert r["status"] == "icmp_error"
    assert r["method"] == ("raw" if user is None else "dgram")
    assert (r["error"]["kind"], r["error"]["sender"]) == ("host-unreachable", R1_4)
    assert r["received"] == 0


def test_echo_timeout_when_dropped(wait: str, lab: None) -> None:
    """Echoes dropped by the server's filter end as timeout at the deadline."""
    r = probe("echo" + wait, NO_ECHO4, deadline=1.0)
    assert (r["status"], r["sent"], r["received"]) == ("timeout", 3, 0)


@pytest.mark.parametrize(
    ("address", "hops"),
    [(SERVER4, [R1_4, R2_4, SERVER4]), (SERVER6, [R1_6, R2_6, SERVER6])],
)
def test_trace_reaches_server_through_both_routers(
    lab: None, address: str, hops: list[str]
) -> None:
    """TTL 1 and 2 come back as time-exceeded from r1 and r2, TTL 3 reaches the server, and
    the trace returns at once, truncated after the reached hop."""
    r = probe("trace", address, 8080, deadline=2.0)
    assert [h["address"] for h in r["hops"]] == hops
    assert [h["kind"] for h in r["hops"]] == ["time_exceeded", "time_exceeded", "reached"]
    assert r["reached"] is True
    assert r["elapsed_ms"] < 200


def test_trace_stops_at_forward_drop(lab: None) -> None:
    """With r1 forward-dropping the port: r1 answers TTL 1, every later TTL stays silent."""
    r = probe("trace", SERVER4, 8085, deadline=1.0)
    assert r["hops"][0]["kind"] == "time_exceeded"
    assert r["hops"][0]["address"] == R1_4
    assert [h["kind"] for h in r["hops"][1:]] == ["silent"] * 15
    assert r["reached"] is False


def test_trace_ends_at_router_reject(lab: None) -> None:
    """r2's admin-prohibited reject ends the trace with an unreachable hop naming r2."""
    r = probe("trace", SERVER4, 8084, deadline=2.0)
    last = r["hops"][-1]
    assert (last["kind"], last["address"], last["icmp"]["kind"]) == (
        "unreachable",
        R2_4,
        "admin-prohibited",
    )
    assert r["reached"] is False
