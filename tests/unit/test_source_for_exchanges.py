"""--source binds every socket of the check, not only the connect probe: the HTTP exchange
(and the TLS and protocol exchanges, which open theirs the same way) leaves from the source
the report names. Loopback only: 127.0.0.2 is this host's, on lo like 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from netdx.start import main

PEERS: list[str] = []


class Recording(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        PEERS.append(self.client_address[0])
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def web() -> Iterator[int]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recording)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield int(httpd.server_address[1])
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("source", ["127.0.0.2", "127.0.0.3"])
def test_the_http_exchange_leaves_from_the_source(
    web: int, source: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The GET reaches the server from --source (before, the connect probe was bound and the
    exchange left from 127.0.0.1, the kernel's choice)."""
    PEERS.clear()
    code = main(["check", f"http://127.0.0.1:{web}/", "--source", source, "--timeout", "5"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert PEERS and set(PEERS) == {source}, PEERS
