"""`netdx self --ssh DEST` against a real sshd: the walk runs on the server (an IPv6-only
host behind a link-local gateway, with an IPv6 DNS server beyond it), is judged here, and
says what `netdx self` says inside the server; an SSH failure is one line, exit 3. Four
namespaces linked only to each other: the SSH client, the server, its router, a far host."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nsscript import script_in, wait_for_ping

from netdx.budget import Deadline
from netdx.lab.netns import delete_namespace
from netdx.lab.sshd import SshServer, start_sshd

pytestmark = pytest.mark.lab

X, S, R, F = "ndx-selfs-x", "ndx-selfs-s", "ndx-selfs-r", "ndx-selfs-f"
ETC = Path("/etc/netns") / S
SSH_CLIENT, SSH_SERVER = "10.97.64.1", "10.97.64.2"
DNS_ADDR = "fd97:4::2"
SETUP: tuple[tuple[str, ...], ...] = (
    *(("ip", "netns", "add", ns) for ns in (X, S, R, F)),
    # No duplicate address detection: an address is usable at once (no tentative wait).
    *(("ip", "netns", "exec", ns, "sysctl", "-qw", f"net.ipv6.conf.{which}.accept_dad=0")
      for ns in (S, R, F) for which in ("all", "default")),
    *(("ip", "-n", ns, "link", "set", "lo", "up") for ns in (X, S, R, F)),
    ("ip", "-n", X, "link", "add", "sxs0", "type", "veth", "peer", "name", "ssx0", "netns", S),
    ("ip", "-n", S, "link", "add", "ssr0", "type", "veth", "peer", "name", "srs0", "netns", R),
    ("ip", "-n", R, "link", "add", "srf0", "type", "veth", "peer", "name", "sfr0", "netns", F),
    ("ip", "-n", X, "addr", "add", f"{SSH_CLIENT}/24", "dev", "sxs0"),
    ("ip", "-n", S, "addr", "add", f"{SSH_SERVER}/24", "dev", "ssx0"),
    ("ip", "-n", S, "addr", "add", "fd97:3::2/64", "dev", "ssr0", "nodad"),
    ("ip", "-n", R, "addr", "add", "fe80::1/64", "dev", "srs0", "nodad"),
    ("ip", "-n", R, "addr", "add", "fd97:3::1/64", "dev", "srs0", "nodad"),
    ("ip", "-n", R, "addr", "add", "fd97:4::1/64", "dev", "srf0", "nodad"),
    ("ip", "-n", F, "addr", "add", f"{DNS_ADDR}/64", "dev", "sfr0", "nodad"),
    *(("ip", "-n", ns, "link", "set", dev, "up") for ns, dev in (
        (X, "sxs0"), (S, "ssx0"), (S, "ssr0"), (R, "srs0"), (R, "srf0"), (F, "sfr0"))),
    # The server has no IPv4 default route: its walk is IPv6's.
    ("ip", "-n", S, "-6", "route", "add", "default", "via", "fe80::1", "dev", "ssr0"),
    ("ip", "-n", F, "-6", "route", "add", "default", "via", "fd97:4::1"),
    ("ip", "netns", "exec", R, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"),
)  # fmt: skip

# Answers every question with one A record (enough to prove that DNS resolves).
DNS_SERVER = f"""
import socket, struct
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("{DNS_ADDR}", 53))
print("ready", flush=True)
while True:
    q, peer = s.recvfrom(512)
    end = q.index(b"\\0", 12) + 5
    head = q[:2] + b"\\x81\\x80" + q[4:6] + b"\\x00\\x01\\x00\\x00\\x00\\x00"
    answer = b"\\xc0\\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("192.0.2.8")
    s.sendto(head + q[12:end] + answer, peer)
"""


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """One command as an argv list, bounded in time."""
    return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=30)


class Lab:
    def __init__(self, server: SshServer, cache: Path, dns: subprocess.Popen[str]) -> None:
        self.server = server
        self.cache = cache
        self.dns = dns

    def netdx(self, namespace: str, *args: str) -> subprocess.CompletedProcess[str]:
        """`netdx self ARGS` run inside `namespace` (a guard against a hang only: each
        command has its own --timeout)."""
        env = {**os.environ, "XDG_CACHE_HOME": str(self.cache), "NETDX_DEBUG": ""}
        argv = ["ip", "netns", "exec", namespace, sys.executable, "-m", "netdx", "self", *args]
        return subprocess.run(argv, capture_output=True, text=True, timeout=90, env=env)

    def ssh_args(self) -> tuple[str, ...]:
        s = self.server
        return ("--ssh", s.destination(), "--ssh-key", str(s.key),
                "--known-hosts", str(s.known_hosts))  # fmt: skip

    def both(self, *args: str) -> tuple[subprocess.CompletedProcess[str], ...]:
        """Inside the server, then from the client with --ssh (printed for `pytest -s`:
        the README quotes it)."""
        here = self.netdx(S, *args)
        there = self.netdx(X, *args, *self.ssh_args())
        print(f"$ netdx self --ssh {self.server.destination()} {' '.join(args)}\n"
              f"{there.stderr}{there.stdout}(exit {there.returncode})")
        return here, there


def teardown() -> None:
    for ns in (X, S, R, F):
        delete_namespace(ns)  # ends what is left there (the sshd and an ssh master too)
    shutil.rmtree(ETC, ignore_errors=True)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The four namespaces, the server's resolv.conf naming the IPv6 DNS server (written
    before sshd starts: its sessions see it), the responder and a real sshd in the server."""
    if os.geteuid() != 0:
        pytest.fail("lab tests need root and network namespaces")
    state = tmp_path_factory.mktemp("selfssh")
    teardown()
    server = None
    try:
        for argv in SETUP:
            run(*argv)
        wait_for_ping(S, "fe80::1%ssr0", DNS_ADDR)
        ETC.mkdir(parents=True)
        (ETC / "resolv.conf").write_text(f"nameserver {DNS_ADDR}\n")
        with script_in(F, DNS_SERVER, "ready") as dns:
            server = start_sshd(namespace=S, addresses=[SSH_SERVER], state_dir=state / "sshd",
                                deadline=Deadline.after(15.0))  # fmt: skip
            yield Lab(server, state / "cache", dns)
    finally:
        if server is not None:
            server.stop()
        teardown()


def summary(report: dict[str, Any]) -> tuple[Any, ...]:
    """What must not differ between a walk inside the server and one over SSH (round trips
    and the neighbour's exact NUD state may)."""
    return (tuple((s["name"], s["status"]) for s in report["steps"]),
            report["verdict"], report["evidence"]["family"],
            report["evidence"]["gateway"]["address"],
            [(b["address"], b["role"], b["echo"]["status"]) for b in report["evidence"]["beyond"]],
            [(a["server"], a["status"], [r["value"] for r in a["records"]])
             for a in report["evidence"]["dns"]])  # fmt: skip


def test_self_over_ssh_is_self_on_the_server(lab: Lab) -> None:
    """Healthy: over SSH the IPv6-only server's walk is every step ok (exit 0), with the
    same steps, verdict, gateway, hosts beyond and DNS answers as inside the server; stderr
    says where it was walked."""
    here, there = lab.both("--resolve", "svc.lab", "--json")
    assert here.returncode == there.returncode == 0, (here.stderr, there.stderr)
    local, remote = json.loads(here.stdout), json.loads(there.stdout)
    assert summary(remote) == summary(local)
    assert remote["verdict"]["text"] == "every step works: loopback, interfaces, gateway," \
                                        " beyond, dns"
    assert remote["evidence"]["gateway"] == {**remote["evidence"]["gateway"],
                                             "address": "fe80::1", "interface": "ssr0"}
    assert remote["evidence"]["dns"][0]["records"][0]["value"] == "192.0.2.8"
    assert "over SSH" in there.stderr
    _, text = lab.both("--resolve", "svc.lab")
    assert "fe80::1 on ssr0 answers neighbour discovery and echo" in text.stdout


def test_dns_dead_over_ssh_is_a_dns_problem(lab: Lab) -> None:
    """The responder stopped, its host still answers echo: over SSH as inside the server,
    step 4 works and step 5 fails (exit 1), a DNS problem, not a network problem."""
    lab.dns.kill()
    lab.dns.wait(timeout=10)
    here, there = lab.both("--resolve", "svc.lab", "--json", "--timeout", "2")
    assert here.returncode == there.returncode == 1, (here.stderr, there.stderr)
    local, remote = json.loads(here.stdout), json.loads(there.stdout)
    assert summary(remote) == summary(local)
    assert (remote["verdict"]["layer"], remote["verdict"]["step"]) == ("dns", 5)
    assert "a DNS problem, not a network problem" in remote["verdict"]["text"]
    lab.both("--resolve", "svc.lab", "--timeout", "2")


def test_gateway_deaf_over_ssh_is_the_servers_local_link(lab: Lab) -> None:
    """The server's router drops neighbour solicitations: over SSH, within the default
    budget, step 3 fails and the verdict names the server's local link (exit 1)."""
    run("ip", "netns", "exec", R, "nft",
        "add table ip6 ndxselfs; add chain ip6 ndxselfs pre { type filter hook prerouting"
        " priority -300; }; add rule ip6 ndxselfs pre icmpv6 type nd-neighbor-solicit drop")
    try:
        run("ip", "-n", S, "neigh", "flush", "dev", "ssr0")
        run("ip", "-n", R, "neigh", "flush", "dev", "srs0")
        there = lab.netdx(X, "--json", *lab.ssh_args())
    finally:
        run("ip", "netns", "exec", R, "nft", "delete", "table", "ip6", "ndxselfs")
    assert there.returncode == 1, there.stderr
    report = json.loads(there.stdout)
    assert report["evidence"]["gateway"]["neighbour"] in ("INCOMPLETE", "FAILED")
    verdict = report["verdict"]
    assert (verdict["layer"], verdict["step"]) == ("link", 3)
    assert "the gateway does not answer neighbour discovery" in verdict["text"]


def test_ssh_failure_is_one_line_exit_3(lab: Lab) -> None:
    """Nothing listens on the port ssh is sent to: `ssh.refused`, one line, exit 3 (as
    `route --ssh`), nothing on stdout."""
    done = lab.netdx(X, "--timeout", "5", *lab.ssh_args(), "--ssh-option", "Port=2222")
    assert done.returncode == 3 and done.stdout == "", (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "ssh.refused" in lines[0], done.stderr
