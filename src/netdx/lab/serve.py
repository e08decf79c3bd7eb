"""Lab servers, run inside a namespace as ``python -m netdx.lab.serve KIND ...`` (stdlib only).

- ``tcp --listen ADDR:PORT [--v6only] [--mode hold|close]``: accepts and holds each connection
  until the peer closes (like a database), or closes it after a moment.
- ``http --listen ADDR:PORT --status N [--cert C --key K]``: ``/health`` answers status N
  (HTTPS when a certificate is given).
- ``wait --timeout S ADDR:PORT ...``: exits 0 once every address accepts a TCP connection,
  1 after S seconds; the lab uses it to know a service is ready.
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

_WILDCARD_PEER = {"0.0.0.0": "127.0.0.1", "::": "::1"}


def split_hostport(text: str) -> tuple[str, int]:
    """``10.0.0.1:80`` or ``[::]:80`` → (address, port)."""
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def _listener(listen: str, *, v6only: bool) -> socket.socket:
    addr, port = split_hostport(listen)
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if v6only else 0)
    sock.bind((addr, port))
    sock.listen(128)
    return sock


def _hold(conn: socket.socket) -> None:
    with conn:
        conn.settimeout(300.0)
        try:
            while conn.recv(4096):
                pass
        except OSError:
            pass


def serve_tcp(listen: str, *, v6only: bool, mode: str) -> None:
    """Accept forever; hold each connection until EOF, or close it after 100 ms."""
    sock = _listener(listen, v6only=v6only)
    while True:
        conn, _ = sock.accept()
        if mode == "close":
            time.sleep(0.1)
            conn.close()
        else:
            threading.Thread(target=_hold, args=(conn,), daemon=True).start()


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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m netdx.lab.serve``."""
    parser = argparse.ArgumentParser(prog="netdx.lab.serve")
    sub = parser.add_subparsers(dest="kind", required=True)
    tcp = sub.add_parser("tcp")
    tcp.add_argument("--listen", required=True)
    tcp.add_argument("--v6only", action="store_true")
    tcp.add_argument("--mode", choices=("hold", "close"), default="hold")
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
    if args.kind == "tcp":
        serve_tcp(args.listen, v6only=args.v6only, mode=args.mode)
    else:
        serve_http(
            args.listen, status=args.status, v6only=args.v6only, cert=args.cert, key=args.key
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
