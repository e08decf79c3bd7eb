"""`netdx inspect`, `netdx who` and `netdx sockets` on real sockets in two namespaces joined
by a veth pair (server `ndxh-sk-s`, client `ndxh-sk-c`; no link to the root namespace): a
listener on 127.0.0.1, a v4-only listener refused to an IPv6 client, an application that
never closes its accepted sockets, a listener whose accept queue is full, and nothing
listening at all. Each finding is checked against what a real client experiences."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.lab

NS_S, NS_C = "ndxh-sk-s", "ndxh-sk-c"
DEV_S, DEV_C = "ndxh-sks0", "ndxh-skc0"
SERVER4, SERVER6 = "10.97.1.2", "fd97:1::2"
SRC = str(Path(__file__).resolve().parents[2] / "src")

SETUP: tuple[tuple[str, ...], ...] = (
    ("ip", "netns", "add", NS_S),
    ("ip", "netns", "add", NS_C),
    ("ip", "-n", NS_S, "link", "add", DEV_S, "type", "veth", "peer", "name", DEV_C, "netns", NS_C),
    ("ip", "-n", NS_S, "link", "set", "lo", "up"),
    ("ip", "-n", NS_C, "link", "set", "lo", "up"),
    ("ip", "-n", NS_S, "link", "set", DEV_S, "up"),
    ("ip", "-n", NS_C, "link", "set", DEV_C, "up"),
    ("ip", "-n", NS_S, "addr", "add", f"{SERVER4}/24", "dev", DEV_S),
    ("ip", "-n", NS_C, "addr", "add", "10.97.1.1/24", "dev", DEV_C),
    ("ip", "-n", NS_S, "addr", "add", f"{SERVER6}/64", "dev", DEV_S, "nodad"),
    ("ip", "-n", NS_C, "addr", "add", "fd97:1::1/64", "dev", DEV_C, "nodad"),
)

# A server: listen on ADDR PORT with BACKLOG; MODE "accept" accepts and keeps every
# connection open forever (never close(): the CLOSE-WAIT leak) and says "accepted" for
# each, "none" never accepts.
SERVER = """
import socket, sys, time
addr, port, backlog, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if fam == socket.AF_INET6:
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s.bind((addr, port)); s.listen(backlog)
print("ready", flush=True)
held = []
while True:
    if mode == "accept":
        held.append(s.accept()[0])
        print("accepted", flush=True)
    else:
        time.sleep(1)
"""

# A client: N connections to ADDR PORT; "close" closes each at once, "drip" too but one
# every 0.15 s, "hold" keeps them (non-blocking connects: for a full queue some never
# complete). Prints each outcome.
CLIENT = """
import errno, socket, sys, time
addr, port, n, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
held = []
for _ in range(n):
    c = socket.socket(fam, socket.SOCK_STREAM)
    if mode == "hold":
        c.setblocking(False)
        print(errno.errorcode.get(c.connect_ex((addr, port)), "OK"), flush=True)
        held.append(c)
        continue
    c.settimeout(3)
    code = c.connect_ex((addr, port))
    print(errno.errorcode.get(code, "OK"), flush=True)
    c.close()
    if mode == "drip":
        time.sleep(0.15)
if mode == "hold":
    time.sleep(60)
"""


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run argv with a timeout, capturing text output."""
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=30)


def netdx(*args: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
    """A netdx sockets command inside the server namespace (as `user` if given)."""
    prefix = ["ip", "netns", "exec", NS_S]
    if user is not None:
        prefix += ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"]
    env = {**os.environ, "PYTHONPATH": SRC}
    argv = [*prefix, sys.executable, "-m", "netdx.sockets.cli", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, env=env)


def wait_state(port: int, **counts: int) -> None:
    """Wait until the server namespace shows at least these counts on `port` (listening,
    close_wait, established, queue), polling /proc/net/tcp with the lab's own waiter."""
    flags = [f"--{name.replace('_', '-')}={n}" for name, n in counts.items()]
    argv = ["ip", "netns", "exec", NS_S, sys.executable, "-m", "netdx.lab.serve", "wait-state"]
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run([*argv, "--port", str(port), "--timeout", "10", *flags],
                          capture_output=True, text=True, timeout=30, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr


def accepted(proc: subprocess.Popen[str], n: int) -> None:
    """Wait until an "accept" server has accepted `n` more connections (it says so)."""
    assert proc.stdout is not None
    assert [proc.stdout.readline().strip() for _ in range(n)] == ["accepted"] * n


def inspect(port: int, *extra: str) -> dict[str, Any]:
    """`netdx inspect --port PORT --json` in the server namespace, parsed."""
    result = netdx("inspect", "--port", str(port), "--json", *extra)
    assert "Traceback" not in result.stderr, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    assert result.returncode == (0 if doc["verdict"]["cause"] == "ok" else 1)
    return doc


@pytest.fixture(scope="module")
def namespaces() -> Iterator[None]:
    """The two namespaces and their veth pair, removed whatever happens."""
    if os.geteuid() != 0:
        pytest.fail("lab tests need root and network namespaces")
    try:
        for argv in SETUP:
            run(*argv)
        yield
    finally:
        for ns in (NS_S, NS_C):
            run("ip", "netns", "del", ns, check=False)


@pytest.fixture
def started(namespaces: None) -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts in the namespaces; killed by pid at the end."""
    procs: list[subprocess.Popen[str]] = []
    try:
        yield procs
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(timeout=10)
            if proc.stdout is not None:
                proc.stdout.close()


def server(procs: list[subprocess.Popen[str]], addr: str, port: int, backlog: int = 16,
           mode: str = "accept") -> subprocess.Popen[str]:  # fmt: skip
    """Start a server in NS_S and wait until it listens."""
    argv = ["ip", "netns", "exec", NS_S, sys.executable, "-c", SERVER, addr, str(port)]
    proc = subprocess.Popen([*argv, str(backlog), mode], stdout=subprocess.PIPE, text=True)
    procs.append(proc)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def client(procs: list[subprocess.Popen[str]], addr: str, port: int, n: int = 1,
           mode: str = "close") -> list[str]:  # fmt: skip
    """Connect from NS_C; return each connect's outcome (OK, ECONNREFUSED, EINPROGRESS...)."""
    argv = ["ip", "netns", "exec", NS_C, sys.executable, "-c", CLIENT, addr, str(port), str(n)]
    proc = subprocess.Popen([*argv, mode], stdout=subprocess.PIPE, text=True)
    procs.append(proc)
    assert proc.stdout is not None
    outcomes = [proc.stdout.readline().strip() for _ in range(n)]
    if mode == "close":
        proc.wait(timeout=10)
    return outcomes


def test_loopback_only_listener(started: list[subprocess.Popen[str]]) -> None:
    """A listener on 127.0.0.1 refuses the remote client; inspect says loopback_only and names
    the process that owns it."""
    proc = server(started, "127.0.0.1", 5433)
    assert client(started, SERVER4, 5433) == ["ECONNREFUSED"]
    doc = inspect(5433)
    assert doc["verdict"]["cause"] == "service.loopback_only"
    [listener] = doc["listeners"]
    assert listener["local"] == "127.0.0.1:5433"
    assert listener["process"]["pid"] == _python_child(proc.pid)
    assert f"pid {listener['process']['pid']}" in doc["verdict"]["summary"]


def test_nothing_listening_names_the_port_it_listens_on(
    started: list[subprocess.Popen[str]],
) -> None:
    """Nothing on 5432 (the client is refused); the verdict points at 127.0.0.1:5433."""
    server(started, "127.0.0.1", 5433)
    assert client(started, SERVER4, 5432) == ["ECONNREFUSED"]
    doc = inspect(5432)
    assert doc["verdict"]["cause"] == "port.refused"
    assert "nothing listens on :5432" in doc["verdict"]["summary"]
    assert "127.0.0.1:5433" in doc["verdict"]["summary"]


def test_v4_only_listener_refuses_the_v6_client(started: list[subprocess.Popen[str]]) -> None:
    """0.0.0.0 only: IPv4 connects, IPv6 is refused; inspect warns ipv4_only and, for the
    IPv6 address, says refused."""
    server(started, "0.0.0.0", 8080)
    assert client(started, SERVER4, 8080) == ["OK"]
    assert client(started, SERVER6, 8080) == ["ECONNREFUSED"]
    doc = inspect(8080)
    assert doc["verdict"]["cause"] == "ok"
    assert [w["cause"] for w in doc["verdict"]["warnings"]] == ["service.ipv4_only_listener"]
    assert inspect(8080, "--address", SERVER6)["verdict"]["cause"] == "port.refused"


def test_close_wait_leak_names_process_and_peer(started: list[subprocess.Popen[str]]) -> None:
    """An application that never closes accepted sockets: 12 clients close, 12 CLOSE-WAIT on
    the server; inspect names the process and the client address."""
    proc = server(started, "0.0.0.0", 9090)
    assert client(started, SERVER4, 9090, n=12) == ["OK"] * 12
    wait_state(9090, close_wait=12)
    doc = inspect(9090)
    assert doc["verdict"]["cause"] == "app.close_wait_leak"
    assert doc["states"]["CLOSE-WAIT"] == 12
    summary = doc["verdict"]["summary"]
    assert f"pid {_python_child(proc.pid)}" in summary and "10.97.1.1" in summary


def test_growing_close_wait_is_a_leak_below_the_threshold(
    started: list[subprocess.Popen[str]],
) -> None:
    """A few CLOSE-WAIT that grow between inspect's two samples are already a leak."""
    # The pile grows by one every 0.15 s; on a loaded machine inspect's own start can take
    # long enough for it to pass the count threshold (10), and then the count alone decides:
    # such a try proves nothing about a small pile, so it is made again on a fresh port.
    for port in (9191, 9192, 9193):
        server(started, "0.0.0.0", port)
        argv = ["ip", "netns", "exec", NS_C, sys.executable, "-c", CLIENT, SERVER4, str(port)]
        drip = subprocess.Popen([*argv, "40", "drip"], stdout=subprocess.PIPE, text=True)
        started.append(drip)
        assert drip.stdout is not None and drip.stdout.readline().strip() == "OK"
        wait_state(port, close_wait=1)  # the first client closed: the pile has started
        doc = inspect(port)
        drip.kill()
        if doc["states"]["CLOSE-WAIT"] < 10:
            break
    assert doc["states"]["CLOSE-WAIT"] < 10, "three tries, each past the threshold"
    assert doc["verdict"]["cause"] == "app.close_wait_leak"
    assert any("a moment before: growing" in e for e in doc["verdict"]["evidence"])


def test_full_accept_queue(started: list[subprocess.Popen[str]]) -> None:
    """backlog 1, never accept(), three clients: Recv-Q 2 over backlog 1 and overflows counted."""
    server(started, "0.0.0.0", 7000, backlog=1, mode="none")
    client(started, SERVER4, 7000, n=3, mode="hold")
    wait_state(7000, queue=2)  # the third client's handshake cannot complete: it overflows
    doc = inspect(7000)
    assert doc["verdict"]["cause"] == "app.accept_queue_full"
    assert "(2 of 1)" in doc["verdict"]["summary"]
    assert any(e.startswith("TcpExtListenOverflows ") for e in doc["verdict"]["evidence"])
    [listener] = doc["listeners"]
    assert (listener["recv_q"], listener["send_q"]) == (2, 1)


def test_who_names_listener_and_connections(started: list[subprocess.Popen[str]]) -> None:
    """`who :PORT` lists the listener and the accepted connections with pid, fd and user."""
    proc = server(started, "0.0.0.0", 8181)
    client(started, SERVER4, 8181, n=2, mode="hold")
    accepted(proc, 2)  # both connections are now held by the server's descriptors
    result = netdx("who", ":8181", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["schema"], doc["port"]) == ("netdx.who/1", 8181)
    objs = doc["sockets"]
    pid = _python_child(proc.pid)
    assert {o["state"] for o in objs} == {"LISTEN", "ESTAB"}
    assert all(o["process"]["pid"] == pid and o["process"]["user"] == "root" for o in objs)
    assert len(objs) == 3


def test_sockets_as_nobody_says_what_it_could_not_read(
    started: list[subprocess.Popen[str]],
) -> None:
    """Without root the owners of root's sockets cannot be read: listed anyway, no owner,
    a note on stderr, exit 0, no traceback."""
    server(started, "0.0.0.0", 8282)
    result = netdx("sockets", "-p", "--port", "8282", user="65534")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "0.0.0.0:8282" in result.stdout
    assert "without a known owner" in result.stderr
    assert "needs root" in result.stderr


def test_churn_during_walks_never_breaks_the_listing(
    started: list[subprocess.Popen[str]],
) -> None:
    """Processes that exit mid-walk and sockets that close mid-dump: every run succeeds."""
    server(started, "0.0.0.0", 8383)
    churn = subprocess.Popen(
        ["ip", "netns", "exec", NS_C, sys.executable, "-c", CLIENT, SERVER4, "8383", "3000",
         "close"], stdout=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    started.append(churn)
    forks = subprocess.Popen(
        ["ip", "netns", "exec", NS_S, "sh", "-c", "while :; do sleep 0.01 & wait; done"],
        text=True,
    )
    started.append(forks)
    for _ in range(10):
        result = netdx("sockets", "-t", "-p")
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
        assert "LISTEN" in result.stdout


def _python_child(pid: int) -> int:
    """The pid of the python that `ip netns exec` ran (it execs, so usually the same)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = children.read_text().split() if children.exists() else []
    return int(kids[0]) if kids else pid
