"""`netdx self` on an IPv6-only host, in three namespaces linked only to each other: a client
with no IPv4 at all, its router (the default gateway is the router's link-local fe80::1, as
router advertisements give it) and a host beyond it serving DNS over IPv6 (a stdlib
responder). Healthy; the router deaf to neighbour discovery; and a dual-stack client whose
IPv4 works while its IPv6 gateway stays deaf (a warning, not a failure)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nsscript import script_in, wait_for_ping

pytestmark = pytest.mark.lab

C, R, F = "ndx-self6-c", "ndx-self6-r", "ndx-self6-f"
ETC = Path("/etc/netns") / C
DNS_ADDR = "fd97:2::2"
NFT_TABLE = "ndxself6"
SETUP: tuple[tuple[str, ...], ...] = (
    *(("ip", "netns", "add", ns) for ns in (C, R, F)),
    # No duplicate address detection: an address is usable at once (no tentative wait).
    *(("ip", "netns", "exec", ns, "sysctl", "-qw", f"net.ipv6.conf.{which}.accept_dad=0")
      for ns in (C, R, F) for which in ("all", "default")),
    *(("ip", "-n", ns, "link", "set", "lo", "up") for ns in (C, R, F)),
    ("ip", "-n", C, "link", "add", "s6c0", "type", "veth", "peer", "name", "s6r0", "netns", R),
    ("ip", "-n", R, "link", "add", "s6r1", "type", "veth", "peer", "name", "s6f0", "netns", F),
    ("ip", "-n", C, "addr", "add", "fd97:1::2/64", "dev", "s6c0", "nodad"),
    ("ip", "-n", R, "addr", "add", "fe80::1/64", "dev", "s6r0", "nodad"),
    ("ip", "-n", R, "addr", "add", "fd97:1::1/64", "dev", "s6r0", "nodad"),
    ("ip", "-n", R, "addr", "add", "fd97:2::1/64", "dev", "s6r1", "nodad"),
    ("ip", "-n", F, "addr", "add", f"{DNS_ADDR}/64", "dev", "s6f0", "nodad"),
    ("ip", "-n", C, "link", "set", "s6c0", "up"),
    ("ip", "-n", R, "link", "set", "s6r0", "up"),
    ("ip", "-n", R, "link", "set", "s6r1", "up"),
    ("ip", "-n", F, "link", "set", "s6f0", "up"),
    ("ip", "-n", C, "-6", "route", "add", "default", "via", "fe80::1", "dev", "s6c0"),
    ("ip", "-n", F, "-6", "route", "add", "default", "via", "fd97:2::1"),
    ("ip", "netns", "exec", R, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"),
)  # fmt: skip
# The router stops answering neighbour solicitations (an IPv6 gateway deaf on the link).
DEAF = ("ip", "netns", "exec", R, "nft",
        f"add table ip6 {NFT_TABLE}; add chain ip6 {NFT_TABLE} pre {{ type filter hook"
        f" prerouting priority -300; }}; add rule ip6 {NFT_TABLE} pre icmpv6 type"
        " nd-neighbor-solicit drop")  # fmt: skip
HEARING = ("ip", "netns", "exec", R, "nft", "delete", "table", "ip6", NFT_TABLE)

# Answers every question with one A record (enough to prove that DNS resolves over IPv6).
DNS_SERVER = f"""
import socket, struct
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("{DNS_ADDR}", 53))
print("ready", flush=True)
while True:
    q, peer = s.recvfrom(512)
    end = q.index(b"\\0", 12) + 5
    head = q[:2] + b"\\x81\\x80" + q[4:6] + b"\\x00\\x01\\x00\\x00\\x00\\x00"
    answer = b"\\xc0\\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("192.0.2.7")
    s.sendto(head + q[12:end] + answer, peer)
"""


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """One command as an argv list, bounded in time."""
    return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=30)


def teardown() -> None:
    for ns in (C, R, F):
        run("ip", "netns", "del", ns, check=False)
    shutil.rmtree(ETC, ignore_errors=True)


@pytest.fixture(scope="module")
def lab() -> Iterator[None]:
    """The three namespaces, the client's resolv.conf naming the IPv6 server, the responder."""
    teardown()
    try:
        for argv in SETUP:
            run(*argv)
        wait_for_ping(C, "fe80::1%s6c0", DNS_ADDR)
        ETC.mkdir(parents=True)
        (ETC / "resolv.conf").write_text(f"nameserver {DNS_ADDR}\n")
        with script_in(F, DNS_SERVER, "ready"):
            yield
    finally:
        teardown()


def forget_neighbours() -> None:
    """Both ends of the client's link forget each other: a gateway deaf to neighbour
    solicitations must not be found again from an entry left by an earlier run (the
    router's own solicitation, which would teach the client its address)."""
    run("ip", "-n", C, "neigh", "flush", "dev", "s6c0")
    run("ip", "-n", R, "neigh", "flush", "dev", "s6r0")


def netdx_self(*args: str, forget: bool = False) -> tuple[int, dict[str, Any], str]:
    """The JSON report and the terminal form (printed, so that `pytest -s` shows it: the
    README quotes it); with `forget`, each run starts with empty neighbour caches."""
    if forget:
        forget_neighbours()
    done = run(sys.executable, "-m", "netdx", "self", "--netns", C, "--json", *args,
               check=False)
    assert done.returncode in (0, 1), done.stderr
    if forget:
        forget_neighbours()
    text = run(sys.executable, "-m", "netdx", "self", "--netns", C, *args, check=False)
    print(f"$ netdx self {' '.join(args)}\n{text.stdout}(exit {text.returncode})")
    return done.returncode, json.loads(done.stdout), text.stdout


def steps(report: dict[str, Any]) -> dict[str, str]:
    return {s["name"]: s["status"] for s in report["steps"]}


def test_ipv6_only_host_walks_the_ipv6_gateway_and_resolver(lab: None) -> None:
    """No IPv4 default route: the walk takes the IPv6 one (link-local gateway answers
    neighbour discovery and ICMPv6 echo), the IPv6 DNS server beyond it answers echo and
    resolves the name over IPv6: exit 0, every step ok."""
    rc, report, text = netdx_self("--resolve", "svc.lab")
    assert steps(report) == dict.fromkeys(
        ("loopback", "interfaces", "gateway", "beyond", "dns"), "ok"), report["steps"]
    assert rc == 0 and report["verdict"]["ok"] is True and report["verdict"]["warnings"] == []
    evidence = report["evidence"]
    assert evidence["family"] == 6 and evidence["other_gateway"] is None
    gateway = evidence["gateway"]
    assert (gateway["address"], gateway["interface"]) == ("fe80::1", "s6c0")
    assert gateway["neighbour"] == "REACHABLE" and gateway["echo"]["status"] == "reply"
    assert evidence["beyond"][0]["address"] == DNS_ADDR
    assert evidence["beyond"][0]["echo"]["status"] == "reply"
    assert evidence["dns"][0]["server"] == DNS_ADDR and evidence["dns"][0]["status"] == "ok"
    assert "fe80::1 on s6c0 answers neighbour discovery and echo" in text
    assert "OK: every step works" in text


def as_nobody(*args: str) -> tuple[int, dict[str, Any]]:
    """`netdx self --json ARGS` inside the client as uid/gid 65534 (no CAP_NET_RAW)."""
    done = run("ip", "netns", "exec", C, "setpriv", "--reuid=65534", "--regid=65534",
               "--clear-groups", sys.executable, "-m", "netdx", "self", "--json", *args,
               check=False)  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def test_unprivileged_icmpv6_echo_needs_ping_group_range(lab: None) -> None:
    """Without root, the ICMPv6 echoes go over datagram sockets only when the namespace's
    net.ipv4.ping_group_range covers the group (it governs ICMPv6 too): then every step
    works with method dgram; otherwise no echo is sent and the steps say why (the sysctl),
    never that the gateway filters ICMP."""
    sysctl = ("ip", "netns", "exec", C, "sysctl", "-qw")
    run(*sysctl, "net.ipv4.ping_group_range=0 2147483647")
    try:
        rc, report = as_nobody("--resolve", "svc.lab")
    finally:
        run(*sysctl, "net.ipv4.ping_group_range=1 0")
    assert rc == 0 and steps(report) == dict.fromkeys(
        ("loopback", "interfaces", "gateway", "beyond", "dns"), "ok"), report["steps"]
    assert report["evidence"]["gateway"]["echo"]["method"] == "dgram"
    assert report["evidence"]["beyond"][0]["echo"]["method"] == "dgram"
    rc, report = as_nobody()
    assert rc == 1 and steps(report)["loopback"] == "unknown"
    gateway = report["evidence"]["gateway"]
    assert gateway["echo"]["status"] == "unknown"
    assert "net.ipv4.ping_group_range" in gateway["echo"]["reason"]
    summary = next(s["summary"] for s in report["steps"] if s["name"] == "gateway")
    assert "echo not sent" in summary and "filters" not in summary


def test_ipv6_gateway_deaf_to_neighbour_discovery_is_the_local_link(lab: None) -> None:
    """The router drops neighbour solicitations: the gateway's entry stays unresolved, step
    3 fails and the verdict names the local link, with the IPv6 commands to look (exit 1)."""
    run(*DEAF)
    try:
        rc, report, text = netdx_self("--timeout", "2", forget=True)
    finally:
        run(*HEARING)
    assert rc == 1
    assert steps(report)["interfaces"] == "ok" and steps(report)["gateway"] == "fail"
    assert report["evidence"]["gateway"]["neighbour"] in ("INCOMPLETE", "FAILED")
    verdict = report["verdict"]
    assert (verdict["layer"], verdict["step"]) == ("link", 3)
    assert ("the gateway does not answer neighbour discovery: the local link is down"
            in verdict["text"])
    assert verdict["fix"] == "ip -6 route show default; ip -6 neigh show"
    assert "FAIL 3 gateway" in text


def test_dual_stack_broken_ipv6_gateway_is_a_warning(lab: None) -> None:
    """IPv4 added beside (router 10.97.61.1, DNS server 10.97.62.2 answering): the walk
    takes IPv4 and works (exit 0); the IPv6 gateway deaf to neighbour discovery is reported
    beside it as a warning, not a failure of the host."""
    for argv in (
        ("ip", "-n", C, "addr", "add", "10.97.61.2/24", "dev", "s6c0"),
        ("ip", "-n", R, "addr", "add", "10.97.61.1/24", "dev", "s6r0"),
        ("ip", "-n", R, "addr", "add", "10.97.62.1/24", "dev", "s6r1"),
        ("ip", "-n", F, "addr", "add", "10.97.62.2/24", "dev", "s6f0"),
        ("ip", "-n", C, "route", "add", "default", "via", "10.97.61.1"),
        ("ip", "-n", F, "route", "add", "default", "via", "10.97.62.1"),
        ("ip", "netns", "exec", R, "sysctl", "-qw", "net.ipv4.ip_forward=1"),
    ):  # fmt: skip
        run(*argv)
    run(*DEAF)
    try:
        rc, report, text = netdx_self("--beyond", "10.97.62.2", "--timeout", "2", forget=True)
    finally:
        run(*HEARING)
    assert rc == 0 and report["verdict"]["ok"] is True, report["verdict"]
    evidence = report["evidence"]
    assert evidence["family"] == 4 and evidence["gateway"]["address"] == "10.97.61.1"
    assert evidence["other_gateway"]["address"] == "fe80::1"
    assert evidence["other_gateway"]["neighbour"] in ("INCOMPLETE", "FAILED")
    warnings = report["verdict"]["warnings"]
    assert len(warnings) == 1 and warnings[0].startswith("the IPv6 default route is broken")
    assert "IPv6: fe80::1 on s6c0 does not answer neighbour discovery" in text
    assert "  warning: the IPv6 default route is broken" in text
