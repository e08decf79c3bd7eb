"""The pure readers of the protocol probe, on the bytes servers send, and the probe itself
against the lab's look-alike servers on loopback."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest

from netdx.budget import Deadline
from netdx.lab import protocols as lab
from netdx.probes.protocols import (
    REDIS_PING,
    SSL_REQUEST,
    handshake,
    quote,
    read_mysql,
    read_postgres,
    read_redis,
)

# Captured from a real PostgreSQL 15.x on loopback (`postgres -h 127.0.0.1`):
PG_NO_TLS = b"N"  # the answer to an SSLRequest with ssl=off
# ... its answer to a StartupMessage for protocol 1.0, in the old (v2) error format:
PG_V2_ERROR = b"EFATAL:  unsupported frontend protocol 1.0: server supports 3.0 to 3.0\n\x00"
# ... and the ErrorResponse (v3) after a StartupMessage for an unknown role:
PG_V3_ERROR = (
    b'E\x00\x00\x00fSFATAL\x00VFATAL\x00C28000\x00Mrole "nosuchuser" does not exist\x00'
    b"Fmiscinit.c\x00L768\x00RInitializeSessionUserId\x00\x00"
)
SSH_BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"
HTTP_ANSWER = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
# redis' own reply texts (server.c: shared.noautherr, shared.loadingerr).
REDIS_NOAUTH = b"-NOAUTH Authentication required.\r\n"
REDIS_LOADING = b"-LOADING Redis is loading the dataset in memory\r\n"
# mysqld's ERR packet for a client address without a grant (ER_HOST_NOT_PRIVILEGED, 1130).
MYSQL_1130 = b"\xff\x6a\x04Host '10.0.0.10' is not allowed to connect to this MySQL server"
MYSQL_1130_PACKET = len(MYSQL_1130).to_bytes(3, "little") + b"\x00" + MYSQL_1130


def test_sslrequest_bytes() -> None:
    """The SSLRequest is length 8 and the code 80877103, as libpq sends it."""
    assert SSL_REQUEST == b"\x00\x00\x00\x08\x04\xd2\x16\x2f"
    assert REDIS_PING == b"*1\r\n$4\r\nPING\r\n"


@pytest.mark.parametrize(("data", "outcome", "answer"), [
    (PG_NO_TLS, "ok", "SSLRequest answered 'N': the server does not offer TLS"),
    (b"S", "ok", "SSLRequest answered 'S': the server offers TLS"),
    (PG_V2_ERROR, "server_error", "FATAL:  unsupported frontend protocol 1.0: server supports "
                                  "3.0 to 3.0"),
    (PG_V3_ERROR, "server_error", 'FATAL: role "nosuchuser" does not exist (28000)'),
    (SSH_BANNER, "mismatch", "not the protocol: b'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\\r\\n'"),
    (HTTP_ANSWER, "mismatch", None),
])  # fmt: skip
def test_postgres_reader(data: bytes, outcome: str, answer: str | None) -> None:
    """Postgres' one-byte answers and both error formats are read; an SSH banner (which
    also starts with 'S') and HTTP are not postgres."""
    reading = read_postgres(data)
    assert reading is not None
    assert reading.outcome == outcome
    if answer is not None:
        assert reading.answer == answer


def test_postgres_reader_waits_for_a_whole_error() -> None:
    """A v3 ErrorResponse cut short is incomplete, not a mismatch."""
    assert read_postgres(PG_V3_ERROR[:20]) is None
    assert read_postgres(b"") is None


@pytest.mark.parametrize(("data", "outcome"), [
    (b"+PONG\r\n", "ok"),
    (REDIS_NOAUTH, "auth_required"),
    (b"-WRONGPASS invalid username-password pair or user is disabled.\r\n", "auth_required"),
    (REDIS_LOADING, "server_error"),
    (SSH_BANNER, "mismatch"),
    (HTTP_ANSWER, "mismatch"),
])  # fmt: skip
def test_redis_reader(data: bytes, outcome: str) -> None:
    """PONG is ok, NOAUTH/WRONGPASS mean AUTH is required (a healthy server), LOADING is a
    refusal, anything not RESP is another protocol."""
    reading = read_redis(data)
    assert reading is not None and reading.outcome == outcome


def test_redis_reader_waits_for_the_line_end() -> None:
    """A reply line without its CRLF yet is incomplete."""
    assert read_redis(REDIS_NOAUTH[:10]) is None


def test_mysql_greeting() -> None:
    """The greeting's protocol version and server version are read from a HandshakeV10."""
    packet = lab.mysql_greeting(7, b"abcdefgh" + b"ijklmnopqrst")
    reading = read_mysql(packet)
    assert reading is not None
    assert reading.outcome == "ok"
    assert reading.server_version == "8.0.36-netdx-lab"
    assert reading.protocol_version == 10
    assert read_mysql(packet[:10]) is None


def test_mysql_error_packet() -> None:
    """An ERR packet in place of the greeting names its code and message."""
    reading = read_mysql(MYSQL_1130_PACKET)
    assert reading is not None
    assert reading.outcome == "server_error"
    assert reading.error_code == 1130
    assert reading.answer == (
        "ERROR 1130: Host '10.0.0.10' is not allowed to connect to this MySQL server"
    )


@pytest.mark.parametrize("data", [SSH_BANNER, HTTP_ANSWER, PG_NO_TLS * 5])
def test_mysql_mismatch(data: bytes) -> None:
    """A first packet with a sequence other than 0 or an absurd length is not mysql."""
    reading = read_mysql(data)
    assert reading is not None and reading.outcome == "mismatch"


def test_quote_escapes_bytes() -> None:
    """Quoted bytes keep printable ASCII and escape the rest, as a bytes literal does."""
    assert quote(b"N\x00\xff\r\n") == "N\\x00\\xff\\r\\n"


# --- the probe against the lab's servers on loopback -----------------------------------------


def _silent(conn: socket.socket) -> None:
    """Accept and say nothing; close once the client has gone (an unclosed socket is a
    ResourceWarning, which pytest turns into a failure of whatever test runs at GC time)."""
    with conn:
        lab._drain(conn)


def _server(kind: str, *, auth: bool = False) -> tuple[socket.socket, threading.Thread]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)

    def loop() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            if kind == "silent":
                threading.Thread(target=_silent, args=(conn,), daemon=True).start()
            else:
                threading.Thread(
                    target=lab._session, args=(kind, conn, auth), daemon=True
                ).start()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return sock, thread


@pytest.fixture
def served() -> Iterator[list[socket.socket]]:
    socks: list[socket.socket] = []
    yield socks
    for sock in socks:
        sock.close()


@pytest.mark.parametrize(("kind", "protocol", "auth", "outcome"), [
    ("postgres", "postgres", False, "ok"),
    ("redis", "redis", False, "ok"),
    ("redis", "redis", True, "auth_required"),
    ("mysql", "mysql", False, "ok"),
    ("redis", "postgres", False, "silent"),  # redis waits for a RESP command: silence
    ("mysql", "postgres", False, "mismatch"),
    ("silent", "redis", False, "silent"),
])  # fmt: skip
def test_handshake_probe(
    served: list[socket.socket], kind: str, protocol: str, auth: bool, outcome: str
) -> None:
    """The probe speaks each protocol to a server of that kind and reads the verdict's
    input; a server of another kind is a mismatch or a silence bounded by the deadline."""
    sock, _ = _server(kind, auth=auth)
    served.append(sock)
    port = sock.getsockname()[1]
    deadline = Deadline.after(0.3)
    hs = asyncio.run(handshake(protocol, "127.0.0.1", port, deadline=deadline))  # type: ignore[arg-type]
    assert hs.outcome == outcome, hs
    assert deadline.remaining() > -5.0  # a guard against a hang only: the clock is shared
    if outcome == "silent":
        assert hs.received == "" and hs.waited_ms is not None and hs.waited_ms <= 300.0
