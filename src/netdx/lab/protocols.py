"""Small database look-alikes for the lab, run as ``python -m netdx.lab.protocols KIND
--listen ADDR:PORT [--auth]`` inside a namespace (stdlib only).

Each speaks just the first exchange `netdx check` makes, with the bytes the real server
sends, then holds the connection until the client closes:

- ``postgres``: answers an SSLRequest with ``N`` (no TLS), as a server without ssl=on does.
- ``redis``: answers PING with ``+PONG``, or with ``-NOAUTH Authentication required.`` when
  started with ``--auth`` (requirepass set).
- ``mysql``: sends a protocol-10 greeting (server version ``8.0.36-netdx-lab``,
  mysql_native_password) as soon as a client connects.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import struct
import sys
import threading
from collections.abc import Callable, Sequence

from netdx.lab.serve import split_hostport

SSL_REQUEST_CODE = 80877103
MYSQL_VERSION = b"8.0.36-netdx-lab"
NOAUTH = b"-NOAUTH Authentication required.\r\n"
HOLD_S = 300.0


def _drain(conn: socket.socket) -> None:
    """Read until the client closes (or HOLD_S of silence), like a server awaiting more."""
    try:
        while conn.recv(4096):
            pass
    except OSError:
        pass


def postgres(conn: socket.socket, _: bool) -> None:
    head = conn.recv(8)
    if len(head) == 8 and struct.unpack("!II", head) == (8, SSL_REQUEST_CODE):
        conn.sendall(b"N")
    _drain(conn)


def redis(conn: socket.socket, auth: bool) -> None:
    data = b""
    while chunk := conn.recv(4096):
        data += chunk
        if b"PING" in data.upper():
            conn.sendall(NOAUTH if auth else b"+PONG\r\n")
            data = b""


def mysql_greeting(connection_id: int, salt: bytes) -> bytes:
    """A HandshakeV10 packet as MySQL 8.0 sends it (sequence 0)."""
    capabilities = 0xFFFFF7FF  # everything a 8.0 server offers, less SSL
    payload = (
        b"\x0a"
        + MYSQL_VERSION
        + b"\0"
        + struct.pack("<I", connection_id)
        + salt[:8]
        + b"\0"
        + struct.pack("<H", capabilities & 0xFFFF)
        + b"\xff"  # utf8mb4_0900_ai_ci
        + struct.pack("<H", 0x0002)  # SERVER_STATUS_AUTOCOMMIT
        + struct.pack("<H", capabilities >> 16)
        + bytes([21])
        + b"\0" * 10
        + salt[8:20]
        + b"\0"
        + b"mysql_native_password\0"
    )
    return len(payload).to_bytes(3, "little") + b"\0" + payload


def mysql(conn: socket.socket, _: bool) -> None:
    salt = bytes(33 + b % 94 for b in os.urandom(20))  # printable, no NUL, as mysqld makes
    conn.sendall(mysql_greeting(threading.get_ident() & 0xFFFF, salt))
    _drain(conn)


_KINDS: dict[str, Callable[[socket.socket, bool], None]] = {
    "postgres": postgres,
    "redis": redis,
    "mysql": mysql,
}


def _session(kind: str, conn: socket.socket, auth: bool) -> None:
    with conn:
        conn.settimeout(HOLD_S)
        with contextlib.suppress(OSError):
            _KINDS[kind](conn, auth)


def serve(kind: str, listen: str, *, auth: bool) -> None:
    """Serve `kind` on `listen` until killed, one thread per connection."""
    addr, port = split_hostport(listen)
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((addr, port))
    sock.listen(128)
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=_session, args=(kind, conn, auth), daemon=True).start()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m netdx.lab.protocols``."""
    parser = argparse.ArgumentParser(prog="netdx.lab.protocols")
    parser.add_argument("kind", choices=sorted(_KINDS))
    parser.add_argument("--listen", required=True)
    parser.add_argument("--auth", action="store_true", help="redis: require AUTH (NOAUTH)")
    args = parser.parse_args(argv)
    serve(args.kind, args.listen, auth=args.auth)
    return 0


if __name__ == "__main__":
    sys.exit(main())
