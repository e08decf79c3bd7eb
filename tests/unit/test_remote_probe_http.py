"""A URL flow from a source host: the `probe` collector's HTTP(S) GET against loopback servers
of this test (a 200, a 503, an SSH banner, a silent one, a self-signed TLS one) gives raw
facts that, judged here, carry the cause a local check gives (ok, service.http_error,
service.http_failed, service.http_timeout, service.tls_error); a recorded failure is
rebuilt as the local probe's exception, and hostile facts are one DocumentError."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from test_collect_core import SYSTEM_PYTHON, interpreters

from netdx.collect.bundle import build_bundle
from netdx.collect.clock import Deadline
from netdx.collect.probe import Probe, run
from netdx.collect.probe_http import looks_complete, request_bytes
from netdx.host import LocalHost
from netdx.model.vantage import Vantage
from netdx.remote.probe import (
    DocumentError,
    FlowProbe,
    probe_request,
    read_flows,
    report_of,
    unsupported,
)
from netdx.remote.probe_http import http_exchange
from netdx.target import parse_target

SOURCE = Vantage(kind="ssh", name="root@src")
Talk = Callable[[socket.socket], None]


def answer(status: str, body: bytes = b"hello") -> Talk:
    def talk(conn: socket.socket) -> None:
        conn.recv(4096)
        head = f"HTTP/1.1 {status}\r\nServer: t\r\nContent-Length: {len(body)}\r\n\r\n"
        conn.sendall(head.encode() + body)  # and keep the connection open: a length ends it

    return talk


def banner(conn: socket.socket) -> None:
    conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")


def silent(conn: socket.socket) -> None:
    conn.recv(4096)


@pytest.fixture
def server() -> Iterator[Callable[[Talk, ssl.SSLContext | None], int]]:
    """Loopback servers that talk one way each. Each thread closes the connections it
    accepted once its listener is shut down; the fixture waits for that."""
    listeners: list[socket.socket] = []
    threads: list[threading.Thread] = []

    def start(talk: Talk, tls: ssl.SSLContext | None = None) -> int:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)

        def loop() -> None:
            held: list[socket.socket] = []  # open until the end: a silent one stays silent
            try:
                while True:
                    try:
                        conn, _ = listener.accept()
                    except OSError:
                        return  # shut down
                    held.append(conn)
                    try:
                        if tls is not None:
                            held.append(tls.wrap_socket(conn, server_side=True))
                        talk(held[-1])
                    except OSError:
                        pass
            finally:
                for sock in held:
                    sock.close()

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        threads.append(thread)
        return int(listener.getsockname()[1])

    yield start
    for listener in listeners:
        listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() does not
    for thread in threads:
        thread.join(timeout=30)
    for listener in listeners:
        listener.close()


def judged(url: str, timeout: float = 3.0) -> Any:
    """The flow probed by the collector here (as on a source), then judged here."""
    target = parse_target(url)
    flow = FlowProbe(target=target, timeout=timeout)
    (wanted,) = probe_request((flow,), timeout)["probes"]
    data = run(LocalHost(), (Probe.from_json(wanted),), Deadline.after(timeout))
    return report_of(data, 0, flow, hosts_text=None, observed_on=SOURCE), data["flows"][0]


def http_of(report: Any) -> Any:
    """The service step's one HTTP exchange."""
    step = next(s for s in report.steps if s.layer == "service")
    (http,) = step.evidence.http
    return http


def test_a_url_flow_is_no_longer_refused() -> None:
    """A URL destination is probed from a source host; only a missing port is refused."""
    assert unsupported(parse_target("http://db.example:8080/health")) is None
    (wanted,) = probe_request((FlowProbe(target=parse_target("https://db.example/"),
                                         timeout=2.0),), 2.0)["probes"]  # fmt: skip
    assert wanted["url"] == "https://db.example:443/" and wanted["port"] == 443


@pytest.mark.parametrize(
    ("talk", "cause", "outcome"),
    [
        (answer("200 OK"), "ok", "ok"),
        (answer("503 Service Unavailable"), "service.http_error", "ok"),
        (banner, "service.http_failed", "protocol_error"),
    ],
)
def test_the_sources_exchange_gets_the_local_cause(
    server: Callable[..., int], talk: Talk, cause: str, outcome: str
) -> None:
    """A 200 is ok, a 503 service.http_error, an SSH banner not HTTP: as a local check."""
    port = server(talk)
    report, facts = judged(f"http://127.0.0.1:{port}/health")
    assert report.verdict.cause == cause, report.verdict
    assert facts["http"]["chunks"], facts  # the bytes came back raw
    http = http_of(report)
    assert http.outcome == outcome and http.address == "127.0.0.1", http
    assert report.observed_on == SOURCE


def test_a_silent_service_ends_at_the_flows_deadline(server: Callable[..., int]) -> None:
    """Connected, no answer: the GET ends at the flow's budget as service.http_timeout (a
    budget over the rules' patience, so the timeout is the service's, not ours)."""
    port = server(silent)
    report, facts = judged(f"http://127.0.0.1:{port}/", timeout=2.0)
    assert facts["http"]["error"]["kind"] == "timeout"
    assert facts["http"]["end_ms"] <= facts["http"]["budget_ms"] + 500.0
    assert report.verdict.cause == "service.http_timeout", report.verdict


def test_a_self_signed_certificate_is_a_tls_error(
    server: Callable[..., int], tmp_path: Path
) -> None:
    """HTTPS to a self-signed server: the source's certificate check fails, and the verify
    message comes back as the local probe words it (service.tls_error)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)  # fmt: skip
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    port = server(answer("200 OK"), tls)
    report, facts = judged(f"https://127.0.0.1:{port}/")
    assert facts["http"]["error"]["kind"] == "cert", facts["http"]
    assert report.verdict.cause == "service.tls_error", report.verdict
    http = http_of(report)
    assert http.outcome == "tls_error"
    assert "certificate verify failed: self" in (http.error or ""), http


def test_the_bundle_gets_and_times_out_under_every_python(
    server: Callable[..., int], tmp_path: Path
) -> None:
    """`python3 -I -S bundle.zip` (each python3 ≥ 3.9 here, 3.9's socket.timeout included)
    GETs a 503 and waits on a silent service only until the flow's budget: read back here,
    service.http_error and service.http_timeout."""
    bundle = str(build_bundle(tmp_path / "collect.zip"))
    urls = [f"http://127.0.0.1:{server(answer('503 Service Unavailable'))}/",
            f"http://127.0.0.1:{server(silent)}/"]  # fmt: skip
    flows = [FlowProbe(target=parse_target(url), timeout=2.0) for url in urls]
    request = json.dumps(probe_request(flows, 2.0))
    ran = []
    # Side by side: each waits on the silent service for its own budget, measured inside.
    procs = {python: subprocess.Popen([python, "-I", "-S", bundle, request], text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for python in {SYSTEM_PYTHON, *interpreters()}}  # fmt: skip
    outs = {python: (*proc.communicate(timeout=60), proc.returncode)
            for python, proc in procs.items()}  # fmt: skip
    for python, (stdout, stderr, returncode) in sorted(outs.items()):
        if "pyenv: " in stderr:
            continue
        assert returncode == 0, stderr
        data, hosts = read_flows(json.loads(stdout))
        causes = [report_of(data, i, flow, hosts_text=hosts, observed_on=SOURCE).verdict.cause
                  for i, flow in enumerate(flows)]  # fmt: skip
        assert causes == ["service.http_error", "service.http_timeout"], (python, causes)
        assert data["flows"][1]["http"]["error"]["kind"] == "timeout", python
        ran.append(json.loads(stdout)["python"])
    assert any(v.startswith("3.9.") for v in ran), ran


def facts(**more: Any) -> dict[str, Any]:
    base = {"url": "http://10.0.0.2:80/", "address": "10.0.0.2", "budget_ms": 3000.0,
            "connect_start_ms": 0.1, "tls_started_ms": None, "connected_ms": 1.0,
            "tls_version": None, "chunks": [], "eof": False, "error": None,
            "end_ms": 9.0}  # fmt: skip
    return {**base, **more}


def exchange(raw: dict[str, Any]) -> Any:
    return http_exchange(raw, url="http://10.0.0.2:80/", host="10.0.0.2", address="10.0.0.2")


def test_recorded_chunks_are_replayed_with_their_times() -> None:
    """A chunked response split over two reads: status, Server, Location, and the first
    byte and total times are the source's arrival times, not the replay's."""
    head = b"HTTP/1.1 302 Found\r\nLocation: /x\r\nServer: s\r\nTransfer-Encoding: chunked\r\n\r\n"
    got = exchange(facts(chunks=[[4.0, head.hex()], [7.5, b"3\r\nabc\r\n0\r\n\r\n".hex()]]))
    assert (got.outcome, got.status, got.location, got.server) == ("ok", 302, "/x", "s")
    assert (got.first_byte_ms, got.total_ms, got.connect_ms) == (4.0, 7.5, 0.9)


@pytest.mark.parametrize(
    ("error", "outcome", "words"),
    [
        ({"kind": "os", "errno": "ECONNRESET", "strerror": "reset", "text": "x"},
         "protocol_error", "closed the connection"),
        ({"kind": "timeout", "text": "timed out"}, "timeout", "no complete response"),
        ({"kind": "tls", "text": "x", "reason": "WRONG_VERSION_NUMBER"}, "tls_error",
         "WRONG_VERSION_NUMBER"),
        ({"kind": "other", "text": "RuntimeError: boom"}, "error", "boom"),
    ],
)  # fmt: skip
def test_a_recorded_failure_is_classified_as_the_local_probe_does(
    error: dict[str, Any], outcome: str, words: str
) -> None:
    """The source's failure, rebuilt as the local probe's exception, gets its outcome."""
    got = exchange(facts(error=error))
    assert got.outcome == outcome and words in (got.error or ""), got


def test_a_connect_failure_before_tls_is_a_connect_error() -> None:
    """Refused before anything connected: connect_error with the errno's words."""
    error = {"kind": "os", "errno": "ECONNREFUSED", "strerror": "refused", "text": "x"}
    got = exchange(facts(connected_ms=None, error=error))
    assert got.outcome == "connect_error" and "ECONNREFUSED" in (got.error or "")


@pytest.mark.parametrize(
    "bad",
    [
        {"address": "10.0.0.9"},
        {"chunks": [[1.0, "zz"]]},
        {"chunks": [[1.0]]},
        {"chunks": "abc"},
        {"error": {"kind": "nope"}},
        {"eof": "yes"},
        {"connected_ms": "soon"},
    ],
)
def test_hostile_http_facts_are_one_document_error(bad: dict[str, Any]) -> None:
    """Facts of the wrong shape raise DocumentError, never an exchange outcome."""
    with pytest.raises(DocumentError):
        exchange(facts(**bad))


def test_the_request_and_the_stop_rule() -> None:
    """The GET carries the URL's Host (with a non-default port); reading stops at a
    complete length, a last chunk, a 204, and not before."""
    sent = request_bytes("http://db.example:8080/h?q=1", "db.example")
    assert sent.startswith(b"GET /h?q=1 HTTP/1.1\r\nHost: db.example:8080\r\n")
    assert looks_complete(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    assert not looks_complete(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok")
    assert looks_complete(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    assert looks_complete(b"HTTP/1.1 204 No Content\r\n\r\n")
    assert not looks_complete(b"HTTP/1.1 200 OK\r\n")
