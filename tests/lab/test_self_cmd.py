"""`netdx self` in three namespaces linked only to each other: a client, its gateway (a
router) and a host beyond it that serves DNS (a 20-line stdlib responder). Healthy, the
gateway deaf to ARP, and the DNS server dead while its host still answers echo."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nsscript import script_in

pytestmark = pytest.mark.lab

C, G, F = "ndx-self-c", "ndx-self-g", "ndx-self-f"
ETC = Path("/etc/netns") / C
SETUP: tuple[tuple[str, ...], ...] = (
    *(("ip", "netns", "add", ns) for ns in (C, G, F)),
    *(("ip", "-n", ns, "link", "set", "lo", "up") for ns in (C, G, F)),
    ("ip", "-n", C, "link", "add", "sc0", "type", "veth", "peer", "name", "sg0", "netns", G),
    ("ip", "-n", G, "link", "add", "sg1", "type", "veth", "peer", "name", "sf0", "netns", F),
    ("ip", "-n", C, "addr", "add", "10.97.1.2/24", "dev", "sc0"),
    ("ip", "-n", G, "addr", "add", "10.97.1.1/24", "dev", "sg0"),
    ("ip", "-n", G, "addr", "add", "10.97.2.1/24", "dev", "sg1"),
    ("ip", "-n", F, "addr", "add", "10.97.2.2/24", "dev", "sf0"),
    ("ip", "-n", C, "link", "set", "sc0", "up"),
    ("ip", "-n", G, "link", "set", "sg0", "up"),
    ("ip", "-n", G, "link", "set", "sg1", "up"),
    ("ip", "-n", F, "link", "set", "sf0", "up"),
    ("ip", "-n", C, "route", "add", "default", "via", "10.97.1.1"),
    ("ip", "-n", F, "route", "add", "default", "via", "10.97.2.1"),
    ("ip", "netns", "exec", G, "sysctl", "-qw", "net.ipv4.ip_forward=1"),
)

# Answers every A question with 10.97.2.2 (enough to prove that DNS resolves).
DNS_SERVER = """
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.97.2.2", 53))
print("ready", flush=True)
while True:
    q, peer = s.recvfrom(512)
    end = q.index(b"\\0", 12) + 5
    head = q[:2] + b"\\x81\\x80" + q[4:6] + b"\\x00\\x01\\x00\\x00\\x00\\x00"
    answer = b"\\xc0\\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("10.97.2.2")
    s.sendto(head + q[12:end] + answer, peer)
"""


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """One command as an argv list, bounded in time."""
    return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=30)


def teardown() -> None:
    for ns in (C, G, F):
        run("ip", "netns", "del", ns, check=False)
    shutil.rmtree(ETC, ignore_errors=True)


@pytest.fixture(scope="module")
def dns() -> Iterator[subprocess.Popen[str]]:
    """The three namespaces, resolv.conf of the client naming 10.97.2.2, the responder."""
    teardown()
    try:
        for argv in SETUP:
            run(*argv)
        ETC.mkdir(parents=True)
        (ETC / "resolv.conf").write_text("nameserver 10.97.2.2\n")
        with script_in(F, DNS_SERVER, "ready") as server:
            yield server
    finally:
        teardown()


def netdx_text(*args: str) -> str:
    """The terminal form, printed so that `pytest -s` shows it (the README quotes it)."""
    done = run(sys.executable, "-m", "netdx", "self", "--netns", C, *args, check=False)
    print(f"$ netdx self {' '.join(args)}\n{done.stdout}(exit {done.returncode})")
    return done.stdout


def netdx_self(*args: str) -> tuple[int, dict[str, Any]]:
    done = run(sys.executable, "-m", "netdx", "self", "--netns", C, "--json", *args,
               check=False)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def steps(report: dict[str, Any]) -> dict[str, str]:
    return {s["name"]: s["status"] for s in report["steps"]}


def test_healthy_every_step_works(dns: subprocess.Popen[str]) -> None:
    """Gateway and the DNS server's host answer echo and the name resolves: exit 0, all ok."""
    rc, report = netdx_self("--resolve", "svc.lab")
    assert report["schema"] == "netdx.self/1"
    assert steps(report) == dict.fromkeys(
        ("loopback", "interfaces", "gateway", "beyond", "dns"), "ok"), report["steps"]
    assert rc == 0 and report["verdict"]["ok"] is True
    assert report["evidence"]["gateway"]["neighbour"] == "REACHABLE"
    assert report["evidence"]["beyond"][0]["address"] == "10.97.2.2"
    assert "OK: every step works" in netdx_text("--resolve", "svc.lab")


def test_dns_server_dead_while_its_host_answers(dns: subprocess.Popen[str]) -> None:
    """The responder stopped, its host still answers echo: step 4 works, step 5 fails, and
    the verdict says a DNS problem, not a network problem (exit 1)."""
    dns.kill()
    dns.wait(timeout=10)
    rc, report = netdx_self("--resolve", "svc.lab", "--beyond", "10.97.2.2")
    assert rc == 1
    assert steps(report)["beyond"] == "ok" and steps(report)["dns"] == "fail"
    verdict = report["verdict"]
    assert (verdict["layer"], verdict["step"]) == ("dns", 5)
    assert "a DNS problem, not a network problem" in verdict["text"]
    assert "PROBLEM: step 4 works but step 5 fails" in netdx_text("--resolve", "svc.lab")


def test_gateway_deaf_to_arp_is_the_local_link(dns: subprocess.Popen[str]) -> None:
    """The gateway's interface stops answering ARP (arp off): step 3 fails with the
    neighbour unresolved, the verdict names the local link (exit 1)."""
    run("ip", "-n", G, "link", "set", "sg0", "arp", "off")
    run("ip", "-n", C, "neigh", "flush", "dev", "sc0")
    try:
        rc, report = netdx_self("--timeout", "2")
        text = netdx_text("--timeout", "2")
    finally:
        run("ip", "-n", G, "link", "set", "sg0", "arp", "on")
    assert rc == 1
    assert steps(report)["interfaces"] == "ok" and steps(report)["gateway"] == "fail"
    assert report["evidence"]["gateway"]["neighbour"] in ("INCOMPLETE", "FAILED")
    verdict = report["verdict"]
    assert (verdict["layer"], verdict["step"]) == ("link", 3)
    assert "the gateway does not answer ARP: the local link is down" in verdict["text"]
    assert "FAIL 3 gateway" in text
