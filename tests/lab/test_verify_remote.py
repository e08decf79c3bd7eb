"""`netdx verify` with `from: HOST` flows: the probes run ON the source host over SSH and are
judged here. Three namespaces of this test's own: the verify runner (ctl) linked to the
source only, the source (src, a real sshd, an nft output drop) linked to ctl and to the
destination (dst: a listener, an HTTP service, an nft drop rule, an ICMP admin-prohibited
reject, a closed port). No namespace
has a link to the root namespace. The allowed flow is ok and the dropped one port.filtered
as the flows file expects (exit 0); a wrong expectation exits 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from netdx.budget import Deadline
from netdx.lab.netns import delete_namespace
from netdx.lab.sshd import SshServer, start_sshd

pytestmark = pytest.mark.lab

CTL, SRC, DST = "ndx-vrM-ctl", "ndx-vrM-src", "ndx-vrM-dst"
CTL_ADDR, SRC_ADDR, SRC_ADDR2, DST_ADDR = "10.98.1.1", "10.98.1.2", "10.98.2.1", "10.98.2.2"
OPEN, DROPPED, REJECTED, CLOSED, EGRESS, WEB = 8080, 9090, 9091, 9092, 9093, 8081
NAME = "db.vrm.test"  # in the source's own /etc/hosts (/etc/netns/ndx-vrM-src/hosts)
# The source's resolver is the destination, where no DNS server runs: a name not in its
# hosts file fails fast (an ICMP port unreachable), and no query ever leaves the lab.
RESOLV = f"nameserver {DST_ADDR}\noptions timeout:1 attempts:1\n"
HOSTS = f"127.0.0.1 localhost\n{DST_ADDR} {NAME}\n"
HANG_GUARD_S = 90.0  # only against a hang: the flows' own budgets are 3 s each
NFT = f"""\
table inet ndxvrm {{
  chain input {{
    type filter hook input priority 0; policy accept;
    tcp dport {DROPPED} drop
    tcp dport {REJECTED} reject with icmpx type admin-prohibited
  }}
}}
"""
# The source's own output filter: the SYN to EGRESS never leaves it.
SRC_NFT = f"""\
table inet ndxvrm {{
  chain output {{
    type filter hook output priority 0; policy accept;
    tcp dport {EGRESS} drop
  }}
}}
"""
SETUP: tuple[tuple[str, ...], ...] = (
    *(("ip", "netns", "add", ns) for ns in (CTL, SRC, DST)),
    ("ip", "-n", CTL, "link", "add", "ndx-vrMc0", "type", "veth",
     "peer", "name", "ndx-vrMs0", "netns", SRC),
    ("ip", "-n", SRC, "link", "add", "ndx-vrMs1", "type", "veth",
     "peer", "name", "ndx-vrMd0", "netns", DST),
    *(("ip", "-n", ns, "link", "set", "lo", "up") for ns in (CTL, SRC, DST)),
    ("ip", "-n", CTL, "link", "set", "ndx-vrMc0", "up"),
    ("ip", "-n", SRC, "link", "set", "ndx-vrMs0", "up"),
    ("ip", "-n", SRC, "link", "set", "ndx-vrMs1", "up"),
    ("ip", "-n", DST, "link", "set", "ndx-vrMd0", "up"),
    ("ip", "-n", CTL, "addr", "add", f"{CTL_ADDR}/24", "dev", "ndx-vrMc0"),
    ("ip", "-n", SRC, "addr", "add", f"{SRC_ADDR}/24", "dev", "ndx-vrMs0"),
    ("ip", "-n", SRC, "addr", "add", f"{SRC_ADDR2}/24", "dev", "ndx-vrMs1"),
    ("ip", "-n", DST, "addr", "add", f"{DST_ADDR}/24", "dev", "ndx-vrMd0"),
)  # fmt: skip
# The destination's listeners, until the lab is removed: OPEN accepts and closes; WEB is
# an HTTP service whose health endpoint answers 503 (a thread beside the accept loop).
LISTENER = (
    "import socket, threading\n"
    "from http.server import BaseHTTPRequestHandler, HTTPServer\n"
    "class H(BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        self.send_response(503 if self.path == '/health' else 200)\n"
    "        self.send_header('Content-Length', '0')\n"
    "        self.end_headers()\n"
    "    def log_message(self, *a):\n"
    "        pass\n"
    f"web = HTTPServer(('{DST_ADDR}', {WEB}), H)\n"
    "threading.Thread(target=web.serve_forever, daemon=True).start()\n"
    f"s = socket.create_server(('{DST_ADDR}', {OPEN}), backlog=64)\n"
    "while True:\n"
    "    c, _ = s.accept()\n"
    "    c.close()\n"
)


def run(*argv: str, stdin: str | None = None) -> str:
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, (argv, done.stderr)
    return done.stdout


@dataclass
class RemoteLab:
    """The three namespaces, the source's sshd and the destination's listener."""

    state: Path
    sshd: SshServer | None = None
    listener: subprocess.Popen[bytes] | None = None

    def up(self) -> None:
        for argv in SETUP:
            run(*argv)
        run("ip", "netns", "exec", DST, "nft", "-f", "-", stdin=NFT)
        run("ip", "netns", "exec", SRC, "nft", "-f", "-", stdin=SRC_NFT)
        etc = Path("/etc/netns") / SRC  # bind-mounted by `ip netns exec`: sshd's sessions too
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "resolv.conf").write_text(RESOLV)
        (etc / "hosts").write_text(HOSTS)
        self.listener = subprocess.Popen(
            ["ip", "netns", "exec", DST, sys.executable, "-I", "-c", LISTENER],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.sshd = start_sshd(namespace=SRC, addresses=[SRC_ADDR], state_dir=self.state / "sshd",
                               deadline=Deadline.after(15.0))  # fmt: skip
        wait_listening(DST, OPEN)
        wait_listening(DST, WEB)

    def down(self) -> None:
        if self.sshd is not None:
            self.sshd.stop()
        if self.listener is not None:
            self.listener.kill()  # by its handle: the process this test started
            self.listener.wait(timeout=10)
        for namespace in (CTL, SRC, DST):
            delete_namespace(namespace)

    def inventory(self) -> str:
        assert self.sshd is not None
        host = {
            "ansible_host": SRC_ADDR,
            "ansible_user": self.sshd.user,
            "ansible_ssh_private_key_file": str(self.sshd.key),
            "ansible_ssh_common_args": f"-o UserKnownHostsFile={self.sshd.known_hosts}",
        }
        return json.dumps({"all": {"children": {"sources": {"hosts": {"src": host}}}}})


def wait_listening(namespace: str, port: int) -> None:
    deadline = Deadline.after(10.0)
    while not deadline.expired:
        out = run("ip", "netns", "exec", namespace, "ss", "-Htln", f"sport = :{port}")
        if out.strip():
            return
        subprocess.run(["sleep", "0.1"], check=False)
    raise AssertionError(f"nothing listens on port {port} in {namespace}")


@pytest.fixture(scope="module")
def lab() -> Iterator[RemoteLab]:
    """The three namespaces with the source's sshd; removed on any exit."""
    if os.geteuid() != 0:
        pytest.fail("lab tests need root and network namespaces")
    with tempfile.TemporaryDirectory(prefix="ndx-vrM-") as state:
        Path(state).chmod(0o755)
        made = RemoteLab(Path(state))
        try:
            made.up()
            yield made
        finally:
            made.down()


AS_EXPECTED = f"""\
defaults: {{timeout: 3}}
flows:
  - name: open
    from: sources
    to: "{DST_ADDR}:{OPEN}"
    expect: allow
  - name: dropped
    from: src
    to: "{DST_ADDR}:{DROPPED}"
    expect: deny
    deny_by: [port.filtered]
  - name: by-name
    from: src
    to: "{NAME}:{OPEN}"
    expect: allow
  - name: rejected
    from: src
    to: "{DST_ADDR}:{REJECTED}"
    expect: deny
    deny_by: [firewall.reject_admin]
  - name: closed
    from: src
    to: "{DST_ADDR}:{CLOSED}"
    expect: deny
    deny_by: [port.refused]
  - name: egress
    from: src
    to: "{DST_ADDR}:{EGRESS}"
    expect: deny
    deny_by: [firewall.local_egress]
  - name: web-up
    from: src
    to: "http://{NAME}:{WEB}/"
    expect: allow
  - name: web-health
    from: src
    to: "http://{NAME}:{WEB}/health"
    expect: deny
    deny_by: [service.http_error]
"""
WRONG = f"""\
defaults: {{timeout: 3}}
flows:
  - name: dropped-should-open
    from: src
    to: "{DST_ADDR}:{DROPPED}"
    expect: allow
"""


def verify(lab: RemoteLab, name: str, flows: str) -> tuple[int, dict[str, Any]]:
    """`netdx verify --json` run in the ctl namespace: its exit code and document."""
    with tempfile.TemporaryDirectory(prefix="ndx-vrM-") as tmp:
        (Path(tmp) / f"{name}.yaml").write_text(flows)
        (Path(tmp) / "hosts.yaml").write_text(lab.inventory())
        argv = ["ip", "netns", "exec", CTL, sys.executable, "-m", "netdx", "verify"]
        argv += [f"{tmp}/{name}.yaml", "-i", f"{tmp}/hosts.yaml", "--json", "--deadline", "30"]
        env = {**os.environ, "XDG_CACHE_HOME": tmp}  # its shared SSH connections live there
        done = subprocess.run(argv, capture_output=True, text=True, timeout=HANG_GUARD_S, env=env)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def flows_of(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["flow"]: f for f in document["results"]}


def test_source_probes_judged_here_as_expected(lab: RemoteLab) -> None:
    """Probed from the source over SSH: the open port is ok, the dropped one port.filtered,
    the rejected one firewall.reject_admin (sent by the destination), the closed one
    port.refused, the one the source's own output rule drops firewall.local_egress (its
    raw-SYN test, as root there), the URL flows by a name only the source knows get the
    service's answer from there (200 ok, 503 service.http_error); every flow as expected,
    exit 0, and the evidence says the source saw it."""
    assert lab.sshd is not None
    logins = lab.sshd.log.read_text().count("Accepted publickey")
    code, document = verify(lab, "expected", AS_EXPECTED)
    flows = flows_of(document)
    causes = {name: flow["cause"] for name, flow in flows.items()}
    assert causes == {
        "open": "ok", "dropped": "port.filtered", "by-name": "ok",
        "rejected": "firewall.reject_admin", "closed": "port.refused",
        "egress": "firewall.local_egress", "web-up": "ok", "web-health": "service.http_error",
    }, document  # fmt: skip
    assert all(flow["outcome"] == "pass" for flow in flows.values()), document
    assert code == 0
    report = flows["dropped"]["report"]
    assert report["observed_on"] == {"kind": "ssh", "name": f"root@{SRC_ADDR}"}
    # The name was resolved on the source, by its own hosts file (this host has no such name).
    dns_step = flows["by-name"]["report"]["steps"][0]
    assert dns_step["status"] == "pass" and DST_ADDR in json.dumps(dns_step), dns_step
    (service,) = [s for s in flows["web-health"]["report"]["steps"] if s["layer"] == "service"]
    assert "HTTP 503" in json.dumps(service), service
    # One SSH login for the source's eight flows.
    assert lab.sshd.log.read_text().count("Accepted publickey") == logins + 1


def test_a_wrong_expectation_exits_1(lab: RemoteLab) -> None:
    """A flow the source cannot open, expected allowed: not as expected, exit 1."""
    code, document = verify(lab, "wrong", WRONG)
    (flow,) = document["results"]
    assert flow["outcome"] == "fail" and flow["cause"] == "port.filtered", flow
    assert code == 1
