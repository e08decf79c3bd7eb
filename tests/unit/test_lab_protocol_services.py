"""The lab starts its database look-alikes and makes its broken certificates as the
scenarios say (argv only; the certificates read back with the probe's own parser)."""

from __future__ import annotations

import ssl
import time
from pathlib import Path

from netdx.lab.model import Service
from netdx.lab.services import make_certificate, service_argv
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
