"""The DER certificate reader of the TLS probe, on certificates made by `openssl` (their
`openssl x509 -noout -subject -issuer -dates -ext subjectAltName` output is quoted beside
each expectation), and the name matching the rules use."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from netdx.diagnose.protocols import name_matches
from netdx.probes.tls import CertificateError, parse_certificate

TLS = Path(__file__).resolve().parent / "fixtures" / "tls"


def _der(name: str) -> bytes:
    return ssl.PEM_cert_to_DER_cert((TLS / name).read_text())


def test_ca_issued_certificate() -> None:
    """subject=O = netdx, CN = web-01.netdx.internal; issuer=C = DE, O = netdx lab, CN =
    netdx lab CA; notBefore=2026-12-03 13:16:55Z; notAfter=2027-12-03 13:16:55Z;
    DNS:web-01.netdx.internal, DNS:*.web.netdx.internal, IP Address:10.0.2.20."""
    cert = parse_certificate(_der("ca-issued-leaf.pem"))
    assert cert.subject == "O=netdx, CN=web-01.netdx.internal"
    assert cert.issuer == "C=DE, O=netdx lab, CN=netdx lab CA"
    assert cert.not_before == 1796303815.0
    assert cert.not_after == 1827839815.0
    assert cert.names == ("web-01.netdx.internal", "*.web.netdx.internal", "10.0.2.20")


def test_expired_certificate() -> None:
    """notBefore=2026-12-03 13:16:55Z, notAfter=2026-12-02 13:16:55Z (`x509 -days -1`, as
    the lab makes its expired certificate); self-signed, one DNS name."""
    cert = parse_certificate(_der("expired-self-signed.pem"))
    assert cert.subject == cert.issuer == "CN=web-01.netdx.internal"
    assert cert.not_after == 1796217415.0 < cert.not_before
    assert cert.names == ("web-01.netdx.internal",)


@pytest.mark.parametrize("cut", [0, 1, 10, 200])
def test_truncated_certificate_is_refused(cut: int) -> None:
    """Cut bytes are a CertificateError, never an IndexError or a wrong reading."""
    with pytest.raises(CertificateError):
        parse_certificate(_der("ca-issued-leaf.pem")[:cut])


@pytest.mark.parametrize(("name", "patterns", "matches"), [
    ("web-01.netdx.internal", ("web-01.netdx.internal",), True),
    ("WEB-01.netdx.internal.", ("web-01.netdx.internal",), True),
    ("a.web.netdx.internal", ("*.web.netdx.internal",), True),
    ("a.b.web.netdx.internal", ("*.web.netdx.internal",), False),  # one label only
    ("web.netdx.internal", ("*.web.netdx.internal",), False),
    ("web-01.netdx.internal", ("other-web-01.netdx.internal",), False),
    ("10.0.2.20", ("web-01.netdx.internal", "10.0.2.20"), True),
    ("10.0.2.21", ("*.0.2.21",), False),  # an IP address never matches a DNS pattern
])  # fmt: skip
def test_name_matches(name: str, patterns: tuple[str, ...], matches: bool) -> None:
    """A certificate name covers the name asked exactly, or by a one-label wildcard; an IP
    address only by an equal IP name."""
    assert name_matches(name, patterns) is matches
