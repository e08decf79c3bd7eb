"""`netdx serve`'s trust for https:// targets, as check's: `--cacert FILE` / `-k` for every
module without its own, a module's `cacert:` read beside the config, and `tls: true`; an
https loopback server with a private certificate is untrusted by default and ok with it."""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from netdx.errors import UsageError
from netdx.serve.config import ServeConfig, parse_config, with_trust
from netdx.serve.probe import ProbeBudget, run_probe
from netdx.target import parse_target

CONFIG = """allow_targets: [127.0.0.0/8]
modules: {plain: {}, own: {cacert: own.pem}, k: {verify_tls: false}}
"""


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for IP 127.0.0.1 and its key."""
    folder = tmp_path_factory.mktemp("serve-tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=loopback",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)  # fmt: skip
    return cert, key


def _config(folder: Path, cert: Path) -> ServeConfig:
    (folder / "own.pem").write_text(cert.read_text())
    return parse_config(CONFIG, source=str(folder / "serve.yaml"))


def test_a_modules_cacert_is_read_beside_the_config(
    tmp_path: Path, cert: tuple[Path, Path]
) -> None:
    """`cacert: own.pem` names the file next to the config; the check's settings carry its
    PEM as --cacert would."""
    module = _config(tmp_path, cert[0]).module("own")
    assert module is not None and module.ca_file == str(tmp_path / "own.pem")
    http = module.settings(3.0).http
    assert http is not None and http.ca_pem is not None and not http.insecure


def test_serve_cacert_and_k_fill_the_modules_without_their_own(
    tmp_path: Path, cert: tuple[Path, Path]
) -> None:
    """--cacert goes to the modules that set no trust; a module's cacert or verify_tls:
    false stays; -k makes the plain module verify nothing."""
    config = _config(tmp_path, cert[0])
    trusted = with_trust(config, cacert=str(cert[0]), insecure=False)
    plain, own, k = (trusted.module(n) for n in ("plain", "own", "k"))
    assert plain is not None and plain.ca_file == str(cert[0])
    assert own is not None and own.ca_file == str(tmp_path / "own.pem")
    assert k is not None and k.ca_file is None and not k.verify_tls
    loose = with_trust(config, cacert=None, insecure=True).module("plain")
    assert loose is not None and not loose.verify_tls
    http = loose.settings(3.0).http
    assert http is not None and http.insecure
    with pytest.raises(UsageError):
        with_trust(config, cacert=str(cert[0]), insecure=True)


@pytest.mark.parametrize(
    ("module", "words"),
    [
        ("{cacert: missing.pem}", "modules.m: cacert: "),
        ("{cacert: junk.pem}", "no PEM certificate in it"),
        ("{cacert: junk.pem, verify_tls: false}", "cannot be combined"),
    ],
)
def test_a_bad_cacert_is_one_line(tmp_path: Path, module: str, words: str) -> None:
    """A missing, non-PEM or contradictory cacert is one line naming the module."""
    (tmp_path / "junk.pem").write_text("not a certificate")
    text = f"allow_targets: [127.0.0.1]\nmodules: {{m: {module}}}\n"
    with pytest.raises(UsageError) as caught:
        parse_config(text, source=str(tmp_path / "serve.yaml"))
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_tls_true_asks_for_the_handshake() -> None:
    """`tls: true` is check's --tls for the module's probes."""
    config = parse_config("allow_targets: [127.0.0.1]\nmodules: {t: {tls: true}}\n")
    module = config.module("t")
    assert module is not None and module.settings(2.0).tls


@pytest.fixture
def https_port(cert: tuple[Path, Path]) -> Iterator[int]:
    """An HTTPS loopback server answering 200 with the private certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*cert)
    listener = socket.create_server(("127.0.0.1", 0))
    workers: list[threading.Thread] = []

    def one(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError), ctx.wrap_socket(conn, server_side=True) as tls:
            tls.recv(4096)
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    def loop() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            worker = threading.Thread(target=one, args=(conn,), daemon=True)
            worker.start()
            workers.append(worker)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    listener.shutdown(socket.SHUT_RDWR)
    listener.close()
    for worker in [thread, *workers]:
        worker.join(timeout=30)


def test_a_private_ca_makes_the_https_probe_ok(
    tmp_path: Path, cert: tuple[Path, Path], https_port: int
) -> None:
    """The same https target: tls_untrusted against the system store, ok under serve's
    --cacert with the server's certificate."""
    config = _config(tmp_path, cert[0])
    target = parse_target(f"https://127.0.0.1:{https_port}/")
    budget = ProbeBudget(seconds=4.0, module_timeout=4.0)
    plain = config.module("plain")
    assert plain is not None
    assert run_probe(target, plain, budget).cause == "service.tls_untrusted"
    trusted = with_trust(config, cacert=str(cert[0]), insecure=False).module("plain")
    assert trusted is not None
    outcome = run_probe(target, trusted, budget)
    assert (outcome.success, outcome.cause) == (True, "ok"), outcome
