"""The deadline matrix: every command that takes --timeout, against what makes a tool hang
(a dead resolver, black-holed DNS roots, a dropped SYN, a silent HTTP server, a trickling
one, a TLS server that never answers the handshake), at budgets 0.3, 0.5, 1, 2 and 5 s.

For each run the report's own elapsed time (measured inside the process from the command's
start) must stay within the budget plus a small wrap-up; the process itself must end
within the budget plus a generous start-up margin. Both are bounds, not speed claims: the
wall-clock one only catches a hang, so a busy machine cannot make the test fail.

The two namespaces (`ndx-dlm-c` the client, `ndx-dlm-s` the server) are linked to each
other only; the resolver and the root server are addresses of that link that nobody
answers, so every DNS packet dies there.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab

CLIENT, SERVER = "ndx-dlm-c", "ndx-dlm-s"
CLIENT_IP, SERVER_IP = "10.98.0.1", "10.98.0.2"
DEAD_RESOLVER, DEAD_ROOT = "10.98.0.53", "10.98.0.54"
ETC = Path("/etc/netns") / CLIENT
BUDGETS = (0.3, 0.5, 1.0, 2.0, 5.0)
# The report's elapsed time may pass the deadline by this much: rendering what is known
# after the last wait ends (measured: a few ms; the rest is room for a loaded machine).
WRAP_UP_S = 0.35
# Process start (Python, imports) and exit on a loaded 2-core machine: a hang guard only.
START_MARGIN_S = 20.0

SETUP: tuple[tuple[str, ...], ...] = (
    ("ip", "netns", "add", CLIENT),
    ("ip", "netns", "add", SERVER),
    ("ip", "-n", CLIENT, "link", "set", "lo", "up"),
    ("ip", "-n", SERVER, "link", "set", "lo", "up"),
    ("ip", "-n", CLIENT, "link", "add", "ndx-dlm0", "type", "veth", "peer", "name", "ndx-dlm1",
     "netns", SERVER),
    ("ip", "-n", CLIENT, "addr", "add", f"{CLIENT_IP}/24", "dev", "ndx-dlm0"),
    ("ip", "-n", SERVER, "addr", "add", f"{SERVER_IP}/24", "dev", "ndx-dlm1"),
    ("ip", "-n", CLIENT, "link", "set", "ndx-dlm0", "up"),
    ("ip", "-n", SERVER, "link", "set", "ndx-dlm1", "up"),
)  # fmt: skip
DROP_5432 = """
table inet ndx_dlm {
  chain input {
    type filter hook input priority filter; policy accept;
    tcp dport 5432 drop
  }
}
"""
# The misbehaving servers, in the server namespace: 8080 accepts and never answers, 8081
# sends an HTTP response one byte every 0.2 s, 8443 accepts and never starts TLS.
SERVERS = """
import socket, threading, time
def listen(port, handle):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(64)
    def loop():
        while True:
            c, _ = s.accept()
            threading.Thread(target=handle, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()
def silent(c):
    time.sleep(600)
def trickle(c):
    try:
        c.recv(4096)
        for b in b"HTTP/1.1 200 OK\\r\\nContent-Length: 5\\r\\n\\r\\nhello":
            c.send(bytes([b])); time.sleep(0.2)
    except OSError:
        pass
listen(8080, silent); listen(8081, trickle); listen(8443, silent)
print("ready", flush=True)
time.sleep(3600)
"""


@pytest.fixture(scope="module")
def matrix_lab() -> Iterator[Path]:
    """The two namespaces, the dead resolver and roots, the drop rule and the servers."""
    ETC.mkdir(parents=True, exist_ok=True)
    (ETC / "resolv.conf").write_text(
        f"nameserver {DEAD_RESOLVER}\noptions timeout:5 attempts:2\n"
    )
    (ETC / "hosts").write_text("127.0.0.1 localhost\n")
    hints = ETC / "root.hints"
    hints.write_text(f".  3600000 NS a.root.lab.\na.root.lab. 3600000 A {DEAD_ROOT}\n")
    servers: subprocess.Popen[str] | None = None
    try:
        for argv in SETUP:
            subprocess.run(argv, check=True, timeout=30, capture_output=True)
        subprocess.run(["ip", "netns", "exec", SERVER, "nft", "-f", "-"], input=DROP_5432,
                       text=True, check=True, timeout=30, capture_output=True)  # fmt: skip
        servers = subprocess.Popen(
            ["ip", "netns", "exec", SERVER, sys.executable, "-c", SERVERS],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert servers.stdout is not None and servers.stdout.readline().strip() == "ready"
        yield hints
    finally:
        if servers is not None:
            servers.kill()
            servers.wait(timeout=30)
            if servers.stdout is not None:
                servers.stdout.close()
        for ns in (CLIENT, SERVER):
            subprocess.run(("ip", "netns", "del", ns), timeout=30, capture_output=True)
        shutil.rmtree(ETC, ignore_errors=True)


def _run(argv: list[str], budget: float) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "netdx", *argv, "--timeout", str(budget)],
        capture_output=True, text=True, timeout=budget + START_MARGIN_S, check=False,
    )  # fmt: skip
    return time.monotonic() - start, proc


# Targets of `netdx check` from the client, and the layer each must stop at.
CHECKS = {
    "dropped SYN": f"{SERVER_IP}:5432",
    "silent HTTP": f"http://{SERVER_IP}:8080/",
    "trickling HTTP": f"http://{SERVER_IP}:8081/",
    "silent TLS": f"https://{SERVER_IP}:8443/",
    "dead resolver": "db.example.lab:5432",
}


@pytest.mark.parametrize("budget", BUDGETS)
@pytest.mark.parametrize("case", sorted(CHECKS))
def test_check_keeps_its_budget(matrix_lab: Path, case: str, budget: float) -> None:
    """`netdx check` ends within its budget whatever the server or DNS does, and never
    claims a cause the budget did not let it see (no verdict of `ok`)."""
    wall, proc = _run(["check", CHECKS[case], "--json", "--netns", CLIENT], budget)
    assert proc.returncode in (1, 3), (proc.returncode, proc.stderr)
    report = json.loads(proc.stdout)
    assert report["elapsed_ms"] <= (budget + WRAP_UP_S) * 1000, report["elapsed_ms"]
    assert wall <= budget + START_MARGIN_S
    assert report["verdict"]["cause"] != "ok", report["verdict"]


DNS = {
    "dead resolver": ["www.example.lab"],
    "black-holed roots": ["www.example.lab", "--trace"],
    "compare with both dead": ["www.example.lab", "--compare"],
}


@pytest.mark.parametrize("budget", BUDGETS)
@pytest.mark.parametrize("case", sorted(DNS))
def test_dns_keeps_its_budget(matrix_lab: Path, case: str, budget: float) -> None:
    """`netdx dns` against servers that never answer ends within its budget and says the
    servers did not answer."""
    argv = ["dns", *DNS[case], "--json", "--root-hints", str(matrix_lab), "--netns", CLIENT]
    wall, proc = _run(argv, budget)
    doc = json.loads(proc.stdout)
    assert doc["total_ms"] <= (budget + WRAP_UP_S) * 1000, doc["total_ms"]
    assert wall <= budget + START_MARGIN_S
    assert proc.returncode != 0


# The server-side commands read this host: they have nothing to wait for but the kernel
# and nft, so only the hang guard applies (they print no elapsed time of their own).
LOCAL = {
    "sockets": ["sockets", "-p"],
    "who": ["who", ":5432"],
    "inspect": ["inspect", "--port", "5432"],
    "firewall explain": ["firewall", "explain", "--from", CLIENT_IP, "--to", f"{SERVER_IP}:5432"],
    "firewall snapshot": ["firewall", "snapshot", "-o", "/dev/null"],
    "route": ["route", CLIENT_IP, "--from", SERVER_IP],
}


@pytest.mark.parametrize("budget", (0.3, 1.0))
@pytest.mark.parametrize("case", sorted(LOCAL))
def test_server_side_commands_end(matrix_lab: Path, case: str, budget: float) -> None:
    """The server-side commands end (no hang) and answer or say why not, never with an
    internal error, even at the smallest budget."""
    wall, proc = _run([*LOCAL[case], "--netns", SERVER], budget)
    assert wall <= budget + START_MARGIN_S
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
    assert proc.returncode in (0, 1, 3), (proc.returncode, proc.stderr)


# `netdx trace` probes every TTL each round; its budget covers every round together.
TRACES = {
    "dropped SYN": ["--tcp", "-p", "5432", SERVER_IP],
    "silent HTTP port": ["--tcp", "-p", "8080", SERVER_IP],
}


@pytest.mark.parametrize("budget", BUDGETS)
@pytest.mark.parametrize("case", sorted(TRACES))
def test_trace_keeps_its_budget(matrix_lab: Path, case: str, budget: float) -> None:
    """`netdx trace` asked for more rounds than its budget holds stops at the budget and
    reports what it saw."""
    argv = ["trace", *TRACES[case], "--rounds", "10", "--json", "--netns", CLIENT]
    wall, proc = _run(argv, budget)
    assert proc.returncode in (0, 1), (proc.returncode, proc.stderr)
    doc = json.loads(proc.stdout)
    assert doc["elapsed_ms"] <= (budget + WRAP_UP_S) * 1000, doc["elapsed_ms"]
    assert wall <= budget + START_MARGIN_S


VERIFY_WRAP_UP_S = 1.0
# `netdx verify` takes one --deadline for every flow together; each flow here would allow
# itself 30 s, so only the deadline can end the run in time.
VERIFY_FLOWS = f"""\
defaults: {{timeout: 30}}
flows:
  - name: dropped-syn
    from: local
    to: {SERVER_IP}:5432
    expect: allow
  - name: silent-http
    from: local
    to: http://{SERVER_IP}:8080/
    expect: allow
  - name: dead-resolver
    from: local
    to: db.example.lab:5432
    expect: allow
"""


@pytest.mark.parametrize("budget", BUDGETS)
def test_verify_keeps_its_deadline(matrix_lab: Path, budget: float, tmp_path: Path) -> None:
    """`netdx verify` ends within its --deadline when every flow's own timeout is longer,
    and never passes a flow it could not finish."""
    flows = tmp_path / "flows.yaml"
    flows.write_text(VERIFY_FLOWS)
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "netdx", "verify", str(flows), "--json", "--deadline",
         str(budget), "--netns", CLIENT],
        capture_output=True, text=True, timeout=budget + START_MARGIN_S, check=False,
    )  # fmt: skip
    wall = time.monotonic() - start
    assert proc.returncode in (1, 3), (proc.returncode, proc.stderr)
    doc = json.loads(proc.stdout)
    # Three checks wrap up at once after the deadline (each renders what it saw): more room
    # than one check's, and still far below the 30 s each flow would allow itself.
    assert doc["elapsed_ms"] <= (budget + VERIFY_WRAP_UP_S) * 1000, doc["elapsed_ms"]
    assert doc["summary"]["passed"] == 0, doc["results"]
    assert wall <= budget + START_MARGIN_S
