"""The server-side commands over SSH against a real sshd: from a client namespace,
`inspect`, `who`, `sockets`, `route`, `firewall explain | snapshot | diff` with `--ssh` print what
the same command prints inside the server namespace (plus the line saying where it was
observed), and an SSH failure is one line naming its `ssh.*` status, exit 3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from netdx.budget import Deadline
from netdx.lab.netns import delete_namespace
from netdx.lab.sshd import SshServer, start_sshd

pytestmark = pytest.mark.lab

CLIENT, SERVER = "ndx-sshB-c", "ndx-sshB-s"
DEV_C, DEV_S = "ndx-sBc0", "ndx-sBs0"
CLIENT_ADDR, SERVER_ADDR = "10.97.2.1", "10.97.2.2"
PORT = 5432
BLACKHOLE = "10.97.9.0/24"
SETUP: tuple[tuple[str, ...], ...] = (
    ("ip", "netns", "add", CLIENT),
    ("ip", "netns", "add", SERVER),
    ("ip", "-n", CLIENT, "link", "add", DEV_C, "type", "veth",
     "peer", "name", DEV_S, "netns", SERVER),
    ("ip", "-n", CLIENT, "link", "set", "lo", "up"),
    ("ip", "-n", SERVER, "link", "set", "lo", "up"),
    ("ip", "-n", CLIENT, "link", "set", DEV_C, "up"),
    ("ip", "-n", SERVER, "link", "set", DEV_S, "up"),
    ("ip", "-n", CLIENT, "addr", "add", f"{CLIENT_ADDR}/24", "dev", DEV_C),
    ("ip", "-n", SERVER, "addr", "add", f"{SERVER_ADDR}/24", "dev", DEV_S),
    ("ip", "netns", "exec", SERVER, "nft",
     "add table inet ndxsshb; add chain inet ndxsshb input { type filter hook input "
     f"priority 0; }}; add rule inet ndxsshb input ip saddr {CLIENT_ADDR} tcp dport {PORT} "
     "counter drop"),
    # Only the server has it: `route` over SSH must answer with the server's table.
    ("ip", "-n", SERVER, "route", "add", "blackhole", BLACKHOLE),
)  # fmt: skip
# The service in the server namespace: a listener on PORT and one connection left in
# CLOSE-WAIT (its client closed, the server never did), and a listener on PORT+1.
SERVICE = f"""
import socket, sys
s = socket.socket(); s.bind(("0.0.0.0", {PORT})); s.listen(8)
near = socket.socket(socket.AF_INET6); near.bind(("::1", {PORT + 1})); near.listen(8)
c = socket.create_connection(("127.0.0.1", {PORT})); conn, _ = s.accept(); c.close()
print("up", flush=True)
sys.stdin.read()
"""


def run(*argv: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, (argv, done.stderr)


class Lab:
    def __init__(self, server: SshServer, cache: Path) -> None:
        self.server = server
        self.cache = cache

    def netdx(self, namespace: str, *args: str) -> subprocess.CompletedProcess[str]:
        """`netdx ARGS` run inside `namespace` (only a guard against a hang: each command
        has its own --timeout)."""
        env = {**os.environ, "XDG_CACHE_HOME": str(self.cache), "NETDX_DEBUG": ""}
        argv = ["ip", "netns", "exec", namespace, sys.executable, "-m", "netdx", *args]
        return subprocess.run(argv, capture_output=True, text=True, timeout=90, env=env)

    def ssh_args(self) -> tuple[str, ...]:
        s = self.server
        return ("--ssh", s.destination(), "--ssh-key", str(s.key),
                "--known-hosts", str(s.known_hosts))  # fmt: skip

    def both(self, *args: str) -> tuple[subprocess.CompletedProcess[str], ...]:
        """The command inside the server, then from the client with --ssh."""
        return self.netdx(SERVER, *args), self.netdx(CLIENT, *args, *self.ssh_args())


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The namespace pair (linked to each other only), the service and a real sshd in the
    server namespace; everything stopped and removed on any exit."""
    if os.geteuid() != 0:
        pytest.fail("lab tests need root and network namespaces")
    state = tmp_path_factory.mktemp("sshb")
    service: subprocess.Popen[str] | None = None
    server: SshServer | None = None
    try:
        for argv in SETUP:
            run(*argv)
        argv = ["ip", "netns", "exec", SERVER, sys.executable, "-c", SERVICE]
        service = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert service.stdout is not None and service.stdout.readline().strip() == "up"
        server = start_sshd(namespace=SERVER, addresses=[SERVER_ADDR], state_dir=state / "sshd",
                            deadline=Deadline.after(15.0))  # fmt: skip
        yield Lab(server, state / "cache")
    finally:
        if server is not None:
            server.stop()
        if service is not None:
            service.kill()
            service.communicate(timeout=10)  # reaps it and closes its pipes
        for namespace in (CLIENT, SERVER):
            delete_namespace(namespace)  # ends what is left there (the ssh master too)


def without_observed(text: str) -> list[str]:
    return [line for line in text.splitlines() if "observed on:" not in line]


def test_inspect_over_ssh_is_inspect_on_the_server(lab: Lab) -> None:
    """Same verdict, evidence, listeners, owners and counts as inside the server; the text
    and the JSON say it was observed over SSH."""
    here, there = lab.both("inspect", "--port", str(PORT))
    assert here.returncode == there.returncode, (here.stderr, there.stderr)
    assert without_observed(there.stdout) == here.stdout.splitlines(), there.stdout
    assert f"observed on: {lab.server.destination()} (over SSH)" in there.stdout
    assert "CLOSE-WAIT" in here.stdout
    here_json, there_json = lab.both("inspect", "--port", str(PORT), "--json")
    local, remote = json.loads(here_json.stdout), json.loads(there_json.stdout)
    assert remote.pop("observed_on") == {"kind": "ssh", "name": lab.server.destination()}
    # Run inside the server's namespace (ip netns exec), inspect names that namespace.
    assert local.pop("observed_on") == {"kind": "netns", "name": SERVER}
    assert remote == local
    assert local["listeners"][0]["process"]["command"].startswith("python")


def test_who_and_sockets_over_ssh_list_what_the_server_lists(lab: Lab) -> None:
    """`who :PORT` and `sockets -t -l -p --port PORT` print the same lines, owners
    included; stderr says where they were read."""
    for args in (("who", f":{PORT}"), ("sockets", "-t", "-p", "--port", str(PORT + 1))):
        here, there = lab.both(*args)
        assert (here.returncode, here.stdout) == (there.returncode, there.stdout), args
        assert "python3" in there.stdout and "over SSH" in there.stderr


def test_route_over_ssh_is_route_on_the_server(lab: Lab) -> None:
    """`route` with --ssh prints and exits as `route` inside the server: the server's
    blackhole (the client has none), and an on-link address with --from (rule, table,
    rp_filter for the return path); the JSON documents are equal."""
    for args in (("route", "10.97.9.5"), ("route", "10.97.2.9", "--from", SERVER_ADDR)):
        here, there = lab.both(*args)
        assert (here.returncode, here.stdout) == (there.returncode, there.stdout), args
        assert "over SSH" in there.stderr
        here_json, there_json = lab.both(*args, "--json")
        assert json.loads(there_json.stdout) == json.loads(here_json.stdout), args
    assert here.returncode == 0 and "rp_filter" in there.stdout, there.stdout
    blackhole = lab.netdx(CLIENT, "route", "10.97.9.5", *lab.ssh_args())
    assert blackhole.returncode == 1 and "blackhole" in blackhole.stdout, blackhole.stdout


def test_firewall_explain_over_ssh_names_the_servers_rule(lab: Lab) -> None:
    """The server's drop rule for the client's flow is named, as inside the server."""
    args = ("firewall", "explain", "--from", CLIENT_ADDR, "--to", f"{SERVER_ADDR}:{PORT}")
    here, there = lab.both(*args)
    assert here.returncode == there.returncode == 1, (here.stderr, there.stderr)
    assert without_observed(there.stdout) == here.stdout.splitlines()
    assert "inet ndxsshb input" in there.stdout and "drop" in there.stdout


def test_firewall_snapshot_and_diff_over_ssh(lab: Lab, tmp_path: Path) -> None:
    """A snapshot taken over SSH holds the server's ruleset; diffing it against the live
    server ruleset finds nothing changed (exit 0)."""
    snap = tmp_path / "snap.json"
    taken = lab.netdx(CLIENT, "firewall", "snapshot", "-o", str(snap), *lab.ssh_args())
    assert taken.returncode == 0, taken.stderr
    assert "ndxsshb" in snap.read_text() and lab.server.destination() in snap.read_text()
    diff = lab.netdx(CLIENT, "firewall", "diff", str(snap), "--flow",
                     f"{CLIENT_ADDR}>{SERVER_ADDR}:{PORT}", *lab.ssh_args())  # fmt: skip
    assert diff.returncode == 0, (diff.stdout, diff.stderr)


def test_ssh_failure_is_one_line_and_exit_3(lab: Lab) -> None:
    """Nothing listens on the port ssh is sent to: `ssh.refused` and ssh's words, one line,
    exit 3 (unknown), no traceback."""
    done = lab.netdx(CLIENT, "inspect", "--port", str(PORT), *lab.ssh_args(),
                     "--ssh-option", "Port=2222")  # fmt: skip
    assert done.returncode == 3 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "ssh.refused" in done.stderr, done.stderr


# Runs in the client namespace: a session that arms a capture of PORT on the server, a
# connection to it, `go`, and the WireCapture read back from the after document.
SESSION = """
import asyncio, json, socket, sys
from netdx.budget import Deadline
from netdx.host.ssh import SshOptions, SshSession
from netdx.remote import CollectDocument, server_request
dest, key, known, port, client = sys.argv[1:6]
async def main():
    deadline = Deadline.after(20.0)
    request = {"schema": "netdx.session/1", "timeout": 15.0,
               "before": server_request(int(port), client=client),
               "after": server_request(int(port), client=client),
               "capture": {"port": int(port), "peer": client, "proto": "tcp"}}
    session = await SshSession.open(SshOptions(destination=dest, key=key, known_hosts=known),
                                    request, deadline)
    try:
        before = await session.before()
        with socket.socket() as sock:
            sock.settimeout(1.0)
            try:
                sock.connect((dest.split("@")[1], int(port)))
            except OSError:
                pass
        after = await session.after()
    finally:
        await session.close()
    wire = CollectDocument.from_json(after).capture(int(port))
    print(json.dumps({"status": wire.status, "syns": len(wire.syns_in(client)),
                      "answers": len(wire.answers_out(client)),
                      "before": before is not None}))
asyncio.run(main())
"""


def test_session_capture_reads_back_as_a_wire_capture(lab: Lab) -> None:
    """Through a real session the server's capture comes back in the after document and
    reads as a WireCapture: the client's SYN arrived (its answer is dropped by the nft
    rule: no SYN-ACK out)."""
    s = lab.server
    argv = ["ip", "netns", "exec", CLIENT, sys.executable, "-c", SESSION, s.destination(),
            str(s.key), str(s.known_hosts), str(PORT), CLIENT_ADDR]  # fmt: skip
    env = {**os.environ, "XDG_CACHE_HOME": str(lab.cache)}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    # One SYN, or two when its retransmission (at 1 s) fell inside the window.
    assert (seen["status"], seen["answers"], seen["before"]) == ("ok", 0, True)
    assert seen["syns"] in (1, 2), seen
