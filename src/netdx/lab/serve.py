"""Lab servers, run inside a namespace as ``python -m netdx.lab.serve KIND ...`` (stdlib only).

- ``tcp --listen ADDR:PORT [--v6only] [--mode hold|close|noaccept|leak] [--backlog N]``:
  ``hold`` accepts and holds each connection until the peer closes (like a database),
  ``close`` closes it after a moment, ``noaccept`` listens with backlog N and never calls
  accept() (the queue fills: a stalled application), ``leak`` accepts and never closes (each
  client's close leaves a CLOSE-WAIT socket: a descriptor leak).
- ``http --listen ADDR:PORT --status N [--cert C --key K]``: ``/health`` answers status N
  (HTTPS when a certificate is given).
- ``churn --target ADDR:PORT --count N [--interval S]``: a client that opens a connection and
  closes it at once, N times, one every S seconds, then exits (1 if a connect failed).
- ``fill --target ADDR:PORT --count N [--hold S]``: a client that starts N connects without
  waiting for them (some never complete against a full queue) and holds them S seconds.
- ``wait --timeout S ADDR:PORT ...``: exits 0 once every address accepts a TCP connection,
  1 after S seconds; the lab uses it to know a service is ready.
- ``wait-state --port P [--listening N] [--close-wait N] [--queue N] [--established N]
  --timeout S``: reads /proc/net/tcp{,6} of its namespace until port P has at least N
  listeners, N CLOSE-WAIT sockets, a listener with N connections in its accept queue, or N
  established server-side sockets; exits 1 after S seconds saying what it last saw. The lab
  waits for its clients with it, and for ``noaccept``/``leak`` servers (a connect to see
  them ready would itself sit in the queue or leak).
"""

from __future__ import annotations

import argparse
import http.server
import json
import socket
import ssl
import sys
import threading
import time
from collections.abc import Sequence

from netdx.model.record import record
from netdx.netlink.tables import TCP_CLOSE_WAIT, TCP_ESTABLISHED, TCP_LISTEN

_WILDCARD_PEER = {"0.0.0.0": "127.0.0.1", "::": "::1"}
MAX_LEAKED = 4096  # a leak server stops keeping sockets here: the lab needs a dozen
FILL_HOLD = 3600.0  # a fill client gives its connections up after this many seconds
CONNECT_TIMEOUT = 2.0
# /proc/net/tcp prints the kernel's TCP state numbers: the one table is netlink's.
_ESTABLISHED, _CLOSE_WAIT, _LISTEN = TCP_ESTABLISHED, TCP_CLOSE_WAIT, TCP_LISTEN


def split_hostport(text: str) -> tuple[str, int]:
    """``10.0.0.1:80`` or ``[::]:80`` → (address, port)."""
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def _listener(listen: str, *, v6only: bool, backlog: int = 128) -> socket.socket:
    addr, port = split_hostport(listen)
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if v6only else 0)
    sock.bind((addr, port))
    sock.listen(backlog)
    return sock


def _hold(conn: socket.socket) -> None:
    with conn:
        conn.settimeout(300.0)
        try:
            while conn.recv(4096):
                pass
        except OSError:
            pass


def serve_tcp(listen: str, *, v6only: bool, mode: str, backlog: int = 128) -> None:
    """Serve until killed: accept and hold each connection until EOF (hold), close it after
    100 ms (close), never accept (noaccept), or accept and never close (leak)."""
    sock = _listener(listen, v6only=v6only, backlog=backlog)
    if mode == "noaccept":
        while True:
            time.sleep(3600.0)  # the kernel completes handshakes into the queue; nobody takes them
    leaked: list[socket.socket] = []
    while True:
        conn, _ = sock.accept()
        if mode == "close":
            time.sleep(0.1)
            conn.close()
        elif mode == "leak":
            if len(leaked) < MAX_LEAKED:
                leaked.append(conn)  # the bug on purpose: no close(), not even at EOF
            else:
                conn.close()
        else:
            threading.Thread(target=_hold, args=(conn,), daemon=True).start()


def _target(target: str) -> tuple[int, tuple[str, int]]:
    addr, port = split_hostport(target)
    return (socket.AF_INET6 if ":" in addr else socket.AF_INET), (addr, port)


def churn(target: str, *, count: int, interval: float) -> int:
    """Open and close `count` connections to `target`; the number that failed to connect."""
    family, address = _target(target)
    failed = 0
    for _ in range(count):
        with socket.socket(family, socket.SOCK_STREAM) as conn:
            conn.settimeout(CONNECT_TIMEOUT)
            if conn.connect_ex(address) != 0:
                failed += 1
        time.sleep(interval)
    return failed


def fill(target: str, *, count: int, hold: float) -> None:
    """Start `count` connects to `target` without waiting, and keep them `hold` seconds."""
    family, address = _target(target)
    held: list[socket.socket] = []
    try:
        for _ in range(count):
            conn = socket.socket(family, socket.SOCK_STREAM)
            conn.setblocking(False)
            conn.connect_ex(address)  # EINPROGRESS: a full queue drops the SYN, the kernel retries
            held.append(conn)
        time.sleep(hold)
    finally:
        for conn in held:
            conn.close()


def _handler(status: int) -> type[http.server.BaseHTTPRequestHandler]:
    class Health(http.server.BaseHTTPRequestHandler):
        server_version = "netdx-lab/1"

        def do_GET(self) -> None:
            code = status if self.path.split("?", 1)[0] == "/health" else 404
            body = json.dumps({"status": code}).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_HEAD = do_GET

        def log_message(self, format: str, *args: object) -> None:
            pass  # the lab's logs are the evidence netdx prints, not access logs

    return Health


def serve_http(listen: str, *, status: int, v6only: bool, cert: str, key: str) -> None:
    """Serve /health with `status`; wrap in TLS when `cert` is given."""
    sock = _listener(listen, v6only=v6only)
    server = http.server.ThreadingHTTPServer(
        sock.getsockname()[:2], _handler(status), bind_and_activate=False
    )
    server.socket.close()
    server.socket = sock
    if cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server.socket = context.wrap_socket(sock, server_side=True)
    server.serve_forever()


def wait_ready(targets: Sequence[str], timeout: float) -> bool:
    """True once every ``ADDR:PORT`` accepts a connection, False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    pending = list(targets)
    while pending:
        addr, port = split_hostport(pending[0])
        addr = _WILDCARD_PEER.get(addr, addr)
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        try:
            with socket.create_connection((addr, port), timeout=min(left, 0.5)):
                pending.pop(0)
        except OSError:
            time.sleep(min(0.02, max(0.0, deadline - time.monotonic())))
    return True


@record
class PortState:
    """What /proc/net/tcp{,6} says about one port: its listeners, server-side CLOSE-WAIT and
    ESTABLISHED sockets, and the longest accept queue of its listeners."""

    listening: int = 0
    close_wait: int = 0
    established: int = 0
    queue: int = 0


def port_state(port: int, tables: Sequence[str]) -> PortState:
    """Count the sockets of local `port` in the text of /proc/net/tcp-like `tables`."""
    listening = close_wait = established = queue = 0
    for table in tables:
        for line in table.splitlines()[1:]:
            fields = line.split()
            if len(fields) < 5 or int(fields[1].rpartition(":")[2], 16) != port:
                continue
            state = int(fields[3], 16)
            close_wait += state == _CLOSE_WAIT
            established += state == _ESTABLISHED
            if state == _LISTEN:
                listening += 1
                # For a listener rx_queue is the accept queue's length (sk_ack_backlog).
                queue = max(queue, int(fields[4].partition(":")[2], 16))
    return PortState(
        listening=listening, close_wait=close_wait, established=established, queue=queue
    )


def _read_tables() -> list[str]:
    tables = []
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name, encoding="ascii") as handle:
                tables.append(handle.read())
        except OSError:
            pass  # no IPv6 in this namespace
    return tables


def wait_state(port: int, wanted: PortState, timeout: float) -> tuple[bool, PortState]:
    """Poll until every nonzero count of `wanted` is reached on `port` (or `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        seen = port_state(port, _read_tables())
        if (
            seen.listening >= wanted.listening
            and seen.close_wait >= wanted.close_wait
            and seen.established >= wanted.established
            and seen.queue >= wanted.queue
        ):
            return True, seen
        if time.monotonic() >= deadline:
            return False, seen
        time.sleep(0.02)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m netdx.lab.serve``."""
    parser = argparse.ArgumentParser(prog="netdx.lab.serve")
    sub = parser.add_subparsers(dest="kind", required=True)
    tcp = sub.add_parser("tcp")
    tcp.add_argument("--listen", required=True)
    tcp.add_argument("--v6only", action="store_true")
    tcp.add_argument("--mode", choices=("hold", "close", "noaccept", "leak"), default="hold")
    tcp.add_argument("--backlog", type=int, default=128)
    for kind in ("churn", "fill"):
        client = sub.add_parser(kind)
        client.add_argument("--target", required=True)
        client.add_argument("--count", type=int, required=True)
        client.add_argument("--interval", type=float, default=0.02)
        client.add_argument("--hold", type=float, default=FILL_HOLD)
    state = sub.add_parser("wait-state")
    state.add_argument("--port", type=int, required=True)
    state.add_argument("--timeout", type=float, default=5.0)
    for count in ("listening", "close-wait", "queue", "established"):
        state.add_argument(f"--{count}", type=int, default=0)
    web = sub.add_parser("http")
    web.add_argument("--listen", required=True)
    web.add_argument("--v6only", action="store_true")
    web.add_argument("--status", type=int, default=200)
    web.add_argument("--cert", default="")
    web.add_argument("--key", default="")
    wait = sub.add_parser("wait")
    wait.add_argument("--timeout", type=float, default=5.0)
    wait.add_argument("targets", nargs="+")
    args = parser.parse_args(argv)
    if args.kind == "wait":
        if wait_ready(args.targets, args.timeout):
            return 0
        print(f"not ready after {args.timeout:g} s: {' '.join(args.targets)}", file=sys.stderr)
        return 1
    if args.kind == "wait-state":
        return _wait_state(args.port, args)
    if args.kind == "churn":
        failed = churn(args.target, count=args.count, interval=args.interval)
        if failed:
            print(f"{failed} of {args.count} connects to {args.target} failed", file=sys.stderr)
        return 1 if failed else 0
    if args.kind == "fill":
        fill(args.target, count=args.count, hold=args.hold)
    elif args.kind == "tcp":
        serve_tcp(args.listen, v6only=args.v6only, mode=args.mode, backlog=args.backlog)
    else:
        serve_http(
            args.listen, status=args.status, v6only=args.v6only, cert=args.cert, key=args.key
        )
    return 0


def _wait_state(port: int, args: argparse.Namespace) -> int:
    wanted = PortState(
        listening=args.listening,
        close_wait=args.close_wait,
        established=args.established,
        queue=args.queue,
    )
    reached, seen = wait_state(port, wanted, args.timeout)
    if reached:
        return 0
    print(f"port {port} after {args.timeout:g} s: {seen} (wanted at least {wanted})",
          file=sys.stderr)  # fmt: skip
    return 1


if __name__ == "__main__":
    sys.exit(main())
