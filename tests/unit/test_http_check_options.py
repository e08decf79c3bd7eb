"""`check`'s HTTP and TLS options: each bad value is one line and exit 2, the probe sends the
method and headers asked and verifies against --cacert or not at all (-k), and the rules
judge --expect-status, say when verification was skipped and give the phase timings."""

from __future__ import annotations

import asyncio
import http.server
import os
import ssl
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

import evidence_cases as c
import pytest

from netdx import cli
from netdx.budget import Deadline
from netdx.diagnose import diagnose, protocols, service
from netdx.errors import UsageError
from netdx.http_option import build, parse_header, parse_method, parse_statuses
from netdx.lab.model import Service
from netdx.lab.services import make_certificate
from netdx.model.service import HttpOptions, TlsDetails
from netdx.probes.http import http_get

NAME = "web-01.netdx.internal"


def test_statuses_methods_and_headers_parse() -> None:
    """Good values read as given (a method in any case, a status list without repeats)."""
    assert parse_statuses("200, 204,200") == (200, 204)
    assert parse_method("head") == "HEAD"
    assert parse_header("X-Trace-Id:  abc 1") == ("X-Trace-Id", "abc 1")
    assert parse_header("Accept:") == ("Accept", "")


@pytest.mark.parametrize("bad", ["", "20x", "99", "600", "200,,204", "２００"])
def test_bad_statuses_are_refused(bad: str) -> None:
    """--expect-status takes only HTTP statuses 100-599."""
    with pytest.raises(UsageError, match="--expect-status"):
        parse_statuses(bad)


@pytest.mark.parametrize("bad", ["TRACE", "CONNECT", "GET /", ""])
def test_bad_methods_are_refused(bad: str) -> None:
    """Only GET, HEAD, POST, PUT, DELETE, OPTIONS and PATCH."""
    with pytest.raises(UsageError, match="--method"):
        parse_method(bad)


@pytest.mark.parametrize("bad", [
    "X-A: 1\r\nX-Injected: 2", "X-A: 1\n", "X-A: \x00", "NoColon", "Bad Name: v",
    ": v", "X(y): v", "Host: evil.example", "Content-Length: 5", "X-A: caf\u00e9",
])  # fmt: skip
def test_bad_headers_are_refused(bad: str) -> None:
    """A header cannot add a line, needs a token name, printable ASCII, and cannot replace
    the framing netdx sets itself."""
    with pytest.raises(UsageError, match="--header"):
        parse_header(bad)


def test_cacert_must_be_a_bounded_regular_pem_file(tmp_path: Path) -> None:
    """--cacert refuses a missing file, a directory, a FIFO, a text without a certificate,
    and -k beside it."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    for path, why in ((tmp_path / "none.pem", "No such file"), (tmp_path, "not a regular"),
                      (fifo, "not a regular"), (text, "no PEM certificate")):  # fmt: skip
        with pytest.raises(UsageError, match=why):
            build(cacert=str(path))
    with pytest.raises(UsageError, match="cannot be combined"):
        build(cacert=str(text), insecure=True)


@pytest.mark.parametrize("argv", [
    ["check", "tcp://127.0.0.1:1", "--method", "HEAD"],
    ["check", "http://127.0.0.1:1/", "-k"],
    ["check", "https://127.0.0.1:1/", "--header", "X: a\rb"],
    ["check", "https://127.0.0.1:1/", "--cacert", "/nonexistent/ca.pem"],
    ["check", "https://127.0.0.1:1/", "--expect-status", "ok"],
])  # fmt: skip
def test_cli_refuses_with_one_line_and_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad or useless option is one line on stderr and exit 2, before any probe."""
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("netdx: error: ") and err.count("\n") == 1, err


class _Seen(http.server.BaseHTTPRequestHandler):
    """Answers 204 to any method and keeps the request line and headers it got."""

    seen: ClassVar[list[tuple[str, dict[str, str]]]] = []

    def _answer(self) -> None:
        self.seen.append((self.command, {k.lower(): v for k, v in self.headers.items()}))
        self.send_response(204)
        self.end_headers()

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = _answer

    def log_message(self, *_: object) -> None:  # quiet under pytest
        pass


@pytest.fixture
def https(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A loopback HTTPS server with the lab's self-signed certificate, and that certificate."""
    lab = Service(host="web-01", kind="https", listen="127.0.0.1:0", server_name=NAME)
    cert, key = make_certificate(lab, tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    _Seen.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Seen)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], cert
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def _get(port: int, options: HttpOptions) -> object:
    url = f"https://{NAME}:{port}/health"
    return asyncio.run(http_get(url, host=NAME, address="127.0.0.1", port=port,
                                deadline=Deadline.after(5.0), options=options))  # fmt: skip


def test_cacert_makes_the_self_signed_certificate_verify(https: tuple[int, Path]) -> None:
    """Against the system store the lab's certificate is untrusted (code 18); with the
    certificate itself as --cacert the same handshake verifies and says against what."""
    port, cert = https
    failed = _get(port, HttpOptions())
    assert failed.outcome == "tls_error" and failed.tls.verify_code == 18  # type: ignore[attr-defined]
    ok = _get(port, build(cacert=str(cert)))
    assert ok.outcome == "ok" and ok.status == 204, ok  # type: ignore[attr-defined]
    tls = ok.tls  # type: ignore[attr-defined]
    assert tls.verified and not tls.skipped and tls.ca_file == str(cert)
    assert f"verified against --cacert {cert}" in protocols.tls_session_text(tls)


def test_insecure_skips_verification_and_says_so(https: tuple[int, Path]) -> None:
    """-k: the handshake works, and the report says verification was skipped, never that
    the certificate is trusted."""
    port, _ = https
    ok = _get(port, build(insecure=True))
    assert ok.outcome == "ok"  # type: ignore[attr-defined]
    text = protocols.tls_session_text(ok.tls)  # type: ignore[attr-defined]
    assert "verification SKIPPED (-k)" in text and "verified against" not in text


def test_method_and_headers_reach_the_server(https: tuple[int, Path]) -> None:
    """--method and --header are what the server receives; a user's User-Agent replaces
    netdx's; a POST says it has no body."""
    port, cert = https
    options = build(cacert=str(cert), method="post",
                    headers=("X-Trace-Id: 42", "User-Agent: probe/1"))  # fmt: skip
    got = _get(port, options)
    assert got.outcome == "ok" and got.method == "POST"  # type: ignore[attr-defined]
    method, headers = _Seen.seen[-1]
    assert method == "POST" and headers["x-trace-id"] == "42"
    assert headers["user-agent"] == "probe/1" and headers["content-length"] == "0"
    head = _get(port, build(cacert=str(cert), method="HEAD"))
    assert head.outcome == "ok" and _Seen.seen[-1][0] == "HEAD"  # type: ignore[attr-defined]


def _with_status(status: int, expect: tuple[int, ...]) -> object:
    head = c.HTTP_404.addresses[0]
    assert head.http is not None
    http = replace(head.http, status=status, expect_status=expect, connect_ms=0.4,
                   first_byte_ms=2.0)  # fmt: skip
    return replace(c.HTTP_404, addresses=(replace(head, http=http), *c.HTTP_404.addresses[1:]))


def test_expect_status_decides_what_fails() -> None:
    """A status outside --expect-status is service.http_error even when below 400; one
    inside it passes even when it is a 404; without it the default (< 400) stays."""
    _, wrong = diagnose(_with_status(200, (204,)))  # type: ignore[arg-type]
    assert wrong.cause == "service.http_error" and "expected 204" in wrong.summary
    _, fine = diagnose(_with_status(404, (404, 410)))  # type: ignore[arg-type]
    assert fine.cause == "ok", fine
    assert any(line.startswith("timings: DNS ") and "first byte at 2.00 ms" in line
               for line in fine.evidence), fine.evidence  # fmt: skip
    _, default = diagnose(_with_status(404, ()))  # type: ignore[arg-type]
    assert default.cause == "service.http_error"


def test_timings_name_each_phase_that_happened() -> None:
    """The curl -w line: DNS from getaddrinfo, then connect, TLS, first byte, total."""
    ev = _with_status(200, ())
    http = ev.addresses[0].http  # type: ignore[attr-defined]
    text = service.timings_text(ev, replace(http, tls_ms=3.25, total_ms=9.0))  # type: ignore[arg-type]
    assert text.startswith("timings: DNS ")
    assert text.endswith("connect 0.40 ms, TLS 3.25 ms, first byte at 2.00 ms, total 9.00 ms"), text


def test_an_unexpected_status_under_k_repeats_with_k_and_says_skipped() -> None:
    """The curl that repeats a check made with -k carries -k, and the evidence says that
    verification was skipped (the status is the finding, not the certificate)."""
    ev = _with_status(200, (204,))
    http = ev.addresses[0].http  # type: ignore[attr-defined]
    tls = TlsDetails(name_asked=NAME, version="TLSv1.3", skipped=True)
    ev = replace(ev, addresses=(replace(ev.addresses[0], http=replace(http, tls=tls)),))  # type: ignore[attr-defined]
    found = service.http_error(ev)  # type: ignore[arg-type]
    assert found is not None and found.severity == "fail"
    assert any("verification SKIPPED (-k)" in e for e in found.evidence), found.evidence
    assert " -k " in found.fix[0], found.fix
