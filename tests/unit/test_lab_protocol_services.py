"""The lab starts its database look-alikes and makes its broken certificates as the
scenarios say (argv only; the certificates read back with the probe's own parser), and the
HTTPS probe reads them from the lab's server on loopback."""

from __future__ import annotations

import asyncio
import http.server
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from netdx.budget import Deadline
from netdx.lab.model import Service
from netdx.lab.serve import _handler
from netdx.lab.services import make_certificate, service_argv
from netdx.probes.http import http_get
from netdx.probes.tls import parse_certificate


def test_protocol_service_argv(tmp_path: Path) -> None:
    """A redis service with `auth: true` runs `netdx.lab.protocols redis --auth`."""
    service = Service(host="db", kind="redis", listen="0.0.0.0:6379", auth=True)
    argv = service_argv(service, tmp_path)
    assert argv[1:] == ["-m", "netdx.lab.protocols", "redis", "--listen", "0.0.0.0:6379",
                        "--auth"]  # fmt: skip


def _made(cert: str, tmp_path: Path) -> tuple[float, tuple[str, ...]]:
    service = Service(host="web-01", kind="https", listen="0.0.0.0:8443",
                      server_name="web-01.netdx.internal", cert=cert)  # type: ignore[arg-type]  # fmt: skip
    path, key = make_certificate(service, tmp_path)
    assert key.exists()
    parsed = parse_certificate(ssl.PEM_cert_to_DER_cert(path.read_text()))
    return parsed.not_after, parsed.names


def test_expired_certificate_is_expired(tmp_path: Path) -> None:
    """`cert: expired` makes a certificate for the server name whose notAfter has passed."""
    not_after, names = _made("expired", tmp_path)
    assert not_after < time.time()
    assert names == ("web-01.netdx.internal",)


def test_wrong_name_certificate_names_another_host(tmp_path: Path) -> None:
    """`cert: wrong_name` makes a valid certificate made out to another name."""
    not_after, names = _made("wrong_name", tmp_path)
    assert not_after > time.time()
    assert names == ("other-web-01.netdx.internal",)


def _https(tmp_path: Path, cert: str) -> tuple[int, Callable[[], None]]:
    """The lab's HTTPS server with a `cert` certificate on a loopback port of its own."""
    service = Service(host="web-01", kind="https", listen="127.0.0.1:0",
                      server_name="web-01.netdx.internal", cert=cert)  # type: ignore[arg-type]  # fmt: skip
    path, key = make_certificate(service, tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(path, key)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(200))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return server.server_address[1], stop


@pytest.mark.parametrize(("cert", "verify", "outcome"), [
    ("self_signed", False, "ok"),
    ("expired", True, "tls_error"),
    ("wrong_name", True, "tls_error"),
])  # fmt: skip
def test_https_probe_reports_the_certificate(
    tmp_path: Path, cert: str, verify: bool, outcome: str
) -> None:
    """The HTTP probe carries the TLS details: from the connection when it worked, and from
    a second, unverified handshake when verification failed."""
    port, stop = _https(tmp_path, cert)
    try:
        url = f"https://web-01.netdx.internal:{port}/health"
        exchange = asyncio.run(http_get(url, host="web-01.netdx.internal", address="127.0.0.1",
                                        port=port, deadline=Deadline.after(5.0),
                                        verify_tls=verify))  # fmt: skip
    finally:
        stop()
    assert exchange.outcome == outcome, exchange
    tls = exchange.tls
    assert tls is not None and tls.version is not None and tls.cipher is not None
    assert tls.name_asked == "web-01.netdx.internal"
    assert tls.verified is False  # -k checks nothing; a failed check verified nothing
    expected = "other-web-01.netdx.internal" if cert == "wrong_name" else "web-01.netdx.internal"
    assert tls.names == (expected,) and tls.subject == f"CN={expected}"
    if outcome == "tls_error":
        assert tls.verify_code is not None and tls.verify_error
