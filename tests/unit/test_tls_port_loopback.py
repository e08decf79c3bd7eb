"""`netdx check 127.0.0.1:PORT --tls` against real loopback listeners (Python's ssl module as
the server, certificates made by openssl as the lab makes them): the verdict and the TLS
evidence of a good certificate, an expired one, one for another name, a plain-text port, a
postgres that answers its SSLRequest 'S' (then TLS) or 'N', and --source binding the TLS
socket. Loopback only: no name is resolved, no packet leaves the host."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from netdx import cli

Talk = Callable[[socket.socket], None]


def _openssl(*argv: str) -> None:
    subprocess.run(["openssl", *argv], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """good (IP:127.0.0.1), wrong (DNS:other.example) and expired (notAfter yesterday)
    self-signed certificates with their keys."""
    folder = tmp_path_factory.mktemp("certs")
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    for name, san in (("good", "IP:127.0.0.1"), ("wrong", "DNS:other.example")):
        _openssl("req", "-x509", *ec, "-keyout", str(folder / f"{name}-key.pem"),
                 "-out", str(folder / f"{name}-cert.pem"), "-days", "2",
                 "-subj", f"/CN={name}", "-addext", f"subjectAltName={san}")  # fmt: skip
    # As netdx.lab.services makes an expired one: `x509 -req` takes a negative -days.
    csr = folder / "expired.csr"
    _openssl("req", "-new", *ec, "-keyout", str(folder / "expired-key.pem"), "-out", str(csr),
             "-subj", "/CN=expired", "-addext", "subjectAltName=IP:127.0.0.1")  # fmt: skip
    key, cert = folder / "expired-key.pem", folder / "expired-cert.pem"
    _openssl("x509", "-req", "-in", str(csr), "-signkey", str(key), "-days", "-1",
             "-copy_extensions", "copy", "-out", str(cert))  # fmt: skip
    return folder


def tls_talk(certs: Path, name: str) -> Talk:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs / f"{name}-cert.pem", certs / f"{name}-key.pem")

    def talk(conn: socket.socket) -> None:
        with ctx.wrap_socket(conn, server_side=True) as tls:
            tls.recv(16)  # until the client goes away

    return talk


def banner(conn: socket.socket) -> None:
    conn.sendall(b"* OK IMAP4rev1 Service Ready\r\n")
    conn.recv(4096)


def postgres(answer: bytes, then: Talk | None = None) -> Talk:
    def talk(conn: socket.socket) -> None:
        if conn.recv(8) != b"\x00\x00\x00\x08\x04\xd2\x16/":
            return  # the TCP connect probe: it closes without a word
        conn.sendall(answer)
        if then is not None:
            then(conn)
        else:
            conn.recv(16)

    return talk


@pytest.fixture
def server() -> Iterator[Callable[[Talk], tuple[int, list[str]]]]:
    """Loopback listeners that talk one way each; each also lists its clients' addresses."""
    listeners: list[socket.socket] = []
    threads: list[threading.Thread] = []

    def start(talk: Talk) -> tuple[int, list[str]]:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)
        peers: list[str] = []

        def one(conn: socket.socket) -> None:
            # OSError: the client aborted, which is how netdx ends every session.
            with conn, contextlib.suppress(OSError):
                talk(conn)

        def loop() -> None:
            while True:
                try:
                    conn, peer = listener.accept()
                except OSError:
                    return  # shut down
                peers.append(peer[0])
                worker = threading.Thread(target=one, args=(conn,), daemon=True)
                worker.start()
                threads.append(worker)

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        threads.append(thread)
        return int(listener.getsockname()[1]), peers

    yield start
    for listener in listeners:
        listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() does not
        listener.close()
    for thread in threads:
        thread.join(timeout=30)


def check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = cli.main(["check", *argv, "--json", "--timeout", "4"])
    return code, json.loads(capsys.readouterr().out)


def service(doc: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The service step and its one TLS exchange."""
    step = next(s for s in doc["steps"] if s["layer"] == "service")
    (tls,) = step["evidence"]["tls"]
    return step, tls


def test_a_good_certificate_is_ok_with_its_tls_details(
    server: Callable[[Talk], tuple[int, list[str]]],
    certs: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A TLS port whose certificate verifies against --cacert: ok, with version, subject and
    names in the evidence and the connect and TLS phases timed."""
    port, _ = server(tls_talk(certs, "good"))
    code, doc = check(capsys, f"127.0.0.1:{port}", "--tls", "--cacert",
                      str(certs / "good-cert.pem"))  # fmt: skip
    assert (code, doc["verdict"]["cause"]) == (0, "ok"), doc["verdict"]
    step, tls = service(doc)
    assert step["status"] == "pass"
    assert tls["outcome"] == "ok"
    assert tls["tls"]["verified"] is True
    assert tls["tls"]["subject"] == "CN=good"
    assert tls["tls"]["names"] == ["127.0.0.1"]
    assert tls["tls"]["version"].startswith("TLSv1.")
    assert tls["connect_ms"] > 0 and tls["tls_ms"] > 0
    assert any("timings:" in e and "TLS" in e for e in doc["verdict"]["evidence"])


def test_an_expired_certificate_on_a_plain_port_is_tls_expired(
    server: Callable[[Talk], tuple[int, list[str]]],
    certs: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """tcp://…:PORT --tls to a server with an expired certificate: service.tls_expired,
    the certificate read by the second, unverified handshake."""
    port, _ = server(tls_talk(certs, "expired"))
    code, doc = check(capsys, f"tcp://127.0.0.1:{port}", "--tls", "--cacert",
                      str(certs / "expired-cert.pem"))  # fmt: skip
    assert (code, doc["verdict"]["cause"]) == (1, "service.tls_expired"), doc["verdict"]
    _, tls = service(doc)
    assert tls["outcome"] == "tls_error"
    assert tls["tls"]["subject"] == "CN=expired"
    assert "expired" in tls["tls"]["verify_error"]


def test_a_certificate_for_another_name_is_a_name_mismatch(
    server: Callable[[Talk], tuple[int, list[str]]],
    certs: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A certificate trusted (--cacert) but made out to other.example, checked as 127.0.0.1:
    service.tls_name_mismatch naming the certificate's names."""
    port, _ = server(tls_talk(certs, "wrong"))
    code, doc = check(capsys, f"127.0.0.1:{port}", "--tls", "--cacert",
                      str(certs / "wrong-cert.pem"))  # fmt: skip
    assert (code, doc["verdict"]["cause"]) == (1, "service.tls_name_mismatch"), doc["verdict"]
    assert "other.example" in doc["verdict"]["summary"]


def test_a_plain_text_port_is_an_honest_tls_error(
    server: Callable[[Talk], tuple[int, list[str]]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A port that greets in plain text (an IMAP banner) checked with --tls: service.tls_error
    saying it speaks no TLS, with the banner quoted; no crash."""
    port, _ = server(banner)
    code, doc = check(capsys, f"127.0.0.1:{port}", "--tls")
    assert (code, doc["verdict"]["cause"]) == (1, "service.tls_error"), doc["verdict"]
    assert "does not speak TLS" in doc["verdict"]["summary"]
    _, tls = service(doc)
    assert tls["outcome"] == "not_tls"
    assert tls["received"].startswith("* OK IMAP4rev1")


def test_postgres_answering_s_continues_into_tls(
    server: Callable[[Talk], tuple[int, list[str]]],
    certs: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """postgres://… --tls: after SSLRequest answered 'S' the handshake runs on the same
    connection and its certificate is judged (ok with --cacert)."""
    port, _ = server(postgres(b"S", tls_talk(certs, "good")))
    code, doc = check(capsys, f"postgres://127.0.0.1:{port}/app", "--tls", "--cacert",
                      str(certs / "good-cert.pem"))  # fmt: skip
    assert (code, doc["verdict"]["cause"]) == (0, "ok"), doc["verdict"]
    _, tls = service(doc)
    assert (tls["preface"], tls["outcome"], tls["tls"]["subject"]) == ("postgres", "ok", "CN=good")


def test_postgres_answering_n_is_tls_not_offered(
    server: Callable[[Talk], tuple[int, list[str]]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """postgres://… --tls to a server that answers 'N': service.tls_not_offered, with the
    postgresql.conf fix."""
    port, _ = server(postgres(b"N"))
    code, doc = check(capsys, f"postgres://127.0.0.1:{port}/app", "--tls")
    assert (code, doc["verdict"]["cause"]) == (1, "service.tls_not_offered"), doc["verdict"]
    assert any("ssl = on" in f for f in doc["verdict"]["fix"])


def test_source_binds_the_tls_socket(
    server: Callable[[Talk], tuple[int, list[str]]],
    certs: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--source 127.0.0.2: the TCP connect and the TLS session both leave from it."""
    port, peers = server(tls_talk(certs, "good"))
    code, doc = check(capsys, f"127.0.0.1:{port}", "--tls", "--source", "127.0.0.2",
                      "--cacert", str(certs / "good-cert.pem"))  # fmt: skip
    assert (code, doc["verdict"]["cause"]) == (0, "ok"), doc["verdict"]
    assert len(peers) >= 2 and set(peers) == {"127.0.0.2"}, peers


def redis_talk(certs: Path, name: str, reply: bytes) -> Talk:
    """A TLS-wrapped redis: the handshake, then `reply` to PING."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs / f"{name}-cert.pem", certs / f"{name}-key.pem")

    def talk(conn: socket.socket) -> None:
        with ctx.wrap_socket(conn, server_side=True) as tls:
            if tls.recv(64) == b"*1\r\n$4\r\nPING\r\n":
                tls.sendall(reply)
            tls.recv(16)

    return talk


def plain_redis(conn: socket.socket) -> None:
    """A redis without TLS: a ClientHello is an unknown command to it."""
    if conn.recv(4096):
        conn.sendall(b"-ERR unknown command '\\x16\\x03\\x01', with args beginning with:\r\n")
    conn.recv(16)


@pytest.mark.parametrize(
    ("reply", "answer"),
    [(b"+PONG\r\n", "+PONG"), (b"-NOAUTH Authentication required.\r\n", "-NOAUTH")],
)
def test_rediss_pings_inside_the_session(
    reply: bytes,
    answer: str,
    server: Callable[[Talk], tuple[int, list[str]]],
    certs: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """rediss://: the TLS handshake, then PING inside it; +PONG and -NOAUTH are both a
    healthy redis (ok), with the session's details beside the answer."""
    port, _ = server(redis_talk(certs, "good", reply))
    code, doc = check(capsys, f"rediss://127.0.0.1:{port}", "--cacert",
                      str(certs / "good-cert.pem"))  # fmt: skip
    assert (code, doc["verdict"]["cause"]) == (0, "ok"), doc["verdict"]
    step, tls = service(doc)
    (hs,) = step["evidence"]["handshake"]
    assert hs["answer"].startswith(answer) and tls["outcome"] == "ok"
    assert "handshake" not in tls  # moved to the address's handshake by the plan
    assert "over TLSv1." in step["summary"]


def test_rediss_with_an_expired_certificate_is_tls_expired(
    server: Callable[[Talk], tuple[int, list[str]]],
    certs: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """rediss:// to a redis whose certificate expired: service.tls_expired, no PING."""
    port, _ = server(redis_talk(certs, "expired", b"+PONG\r\n"))
    code, doc = check(capsys, f"rediss://127.0.0.1:{port}", "--cacert",
                      str(certs / "expired-cert.pem"))  # fmt: skip
    assert (code, doc["verdict"]["cause"]) == (1, "service.tls_expired"), doc["verdict"]


def test_rediss_to_a_plain_redis_says_it_speaks_no_tls(
    server: Callable[[Talk], tuple[int, list[str]]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """rediss:// to a redis without TLS: its -ERR to the ClientHello is quoted as plain
    text (service.tls_error), not a crash."""
    port, _ = server(plain_redis)
    code, doc = check(capsys, f"rediss://127.0.0.1:{port}")
    assert (code, doc["verdict"]["cause"]) == (1, "service.tls_error"), doc["verdict"]
    _, tls = service(doc)
    assert tls["outcome"] == "not_tls" and tls["received"].startswith("-ERR unknown command")


def test_rediss_refusal_repeats_the_exchange_over_tls(
    server: Callable[[Talk], tuple[int, list[str]]],
    certs: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """rediss:// to a redis still loading its dataset: service.protocol_error, and the fix's
    redis-cli line repeats the exchange over TLS (`--tls`), as netdx made it."""
    port, _ = server(redis_talk(certs, "good", b"-LOADING Redis is loading the dataset\r\n"))
    code, doc = check(capsys, f"rediss://127.0.0.1:{port}", "--cacert",
                      str(certs / "good-cert.pem"))  # fmt: skip
    assert (code, doc["verdict"]["cause"]) == (1, "service.protocol_error"), doc["verdict"]
    assert f"repeat it: redis-cli --tls -h 127.0.0.1 -p {port} PING" in doc["verdict"]["fix"]


def mysql_greeting(*, tls: bool) -> bytes:
    """A MySQL 8 protocol-10 greeting packet (as `mysqld` sends it on accept), with the
    CLIENT_SSL capability when `tls`."""
    caps = 0xFFFF if tls else 0xFFFF & ~0x0800
    payload = (b"\x0a" + b"8.0.35\x00" + (7).to_bytes(4, "little") + b"abcdefgh" + b"\x00"
               + caps.to_bytes(2, "little") + b"\xff" + b"\x02\x00" + b"\xff\xdf" + b"\x15"
               + b"\x00" * 10 + b"ijklmnopqrst\x00" + b"caching_sha2_password\x00")  # fmt: skip
    return len(payload).to_bytes(3, "little") + b"\x00" + payload


def mysql(*, tls: bool, then: Talk | None = None) -> Talk:
    """Greets; a client's 36-byte SSLRequest (packet 1, CLIENT_SSL set) leads into `then`."""

    def talk(conn: socket.socket) -> None:
        conn.sendall(mysql_greeting(tls=tls))
        request = b""
        while len(request) < 36:
            chunk = conn.recv(36 - len(request))
            if not chunk:
                return  # the connect probe or the plain greeting read: closed without a word
            request += chunk
        asked = request[3] == 1 and int.from_bytes(request[4:8], "little") & 0x0800
        if asked and then is not None:
            then(conn)

    return talk


def test_mysql_with_client_ssl_continues_into_tls(
    server: Callable[[Talk], tuple[int, list[str]]],
    certs: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """mysql://… --tls: a greeting with CLIENT_SSL, netdx's SSLRequest, then the handshake
    on the same connection, its certificate judged (ok with --cacert; expired named)."""
    port, _ = server(mysql(tls=True, then=tls_talk(certs, "good")))
    code, doc = check(capsys, f"mysql://127.0.0.1:{port}/app", "--tls", "--cacert",
                      str(certs / "good-cert.pem"))  # fmt: skip
    assert (code, doc["verdict"]["cause"]) == (0, "ok"), doc["verdict"]
    _, tls = service(doc)
    assert (tls["preface"], tls["outcome"], tls["tls"]["subject"]) == ("mysql", "ok", "CN=good")
    port, _ = server(mysql(tls=True, then=tls_talk(certs, "expired")))
    code, doc = check(capsys, f"mysql://127.0.0.1:{port}/app", "--tls", "--cacert",
                      str(certs / "expired-cert.pem"))  # fmt: skip
    assert (code, doc["verdict"]["cause"]) == (1, "service.tls_expired"), doc["verdict"]
    assert any("-starttls mysql" in f for f in doc["verdict"]["fix"]), doc["verdict"]["fix"]


def test_mysql_without_client_ssl_is_tls_not_offered(
    server: Callable[[Talk], tuple[int, list[str]]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """mysql://… --tls to a server whose greeting lacks CLIENT_SSL: service.tls_not_offered
    with the my.cnf fix; a port that sends no greeting at all is an honest TLS error."""
    port, _ = server(mysql(tls=False))
    code, doc = check(capsys, f"mysql://127.0.0.1:{port}/app", "--tls")
    assert (code, doc["verdict"]["cause"]) == (1, "service.tls_not_offered"), doc["verdict"]
    assert "CLIENT_SSL" in doc["verdict"]["summary"]
    assert any("my.cnf" in f for f in doc["verdict"]["fix"])
    port, _ = server(banner)
    code, doc = check(capsys, f"mysql://127.0.0.1:{port}/app", "--tls")
    assert code == 1, doc["verdict"]
    _, tls = service(doc)
    assert tls["outcome"] == "error" and "no mysql greeting" in tls["error"], tls


def test_mysql_greeting_reader() -> None:
    """The CLIENT_SSL bit is read from a real greeting's layout; an ERR packet or junk is
    no greeting (NotOffered with its bytes), never an exception of another kind."""
    from netdx.probes.tls import NotOffered, mysql_offers_tls

    assert mysql_offers_tls(mysql_greeting(tls=True)[4:]) is True
    assert mysql_offers_tls(mysql_greeting(tls=False)[4:]) is False
    for junk in (b"", b"\xff\x69\x04#HY000Host '10.0.0.9' is not allowed", b"\x0a8.0", b"\x0a\x00"):
        with pytest.raises(NotOffered):
            mysql_offers_tls(junk)
