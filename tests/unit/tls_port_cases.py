"""Evidence literals of `check --tls` on ports that are not https:// (an imaps-like 993, a
postgres 5432 after its SSLRequest): a good session, the certificate failures the https rules
name, a port that answers in plain text, a close, a silence (long and cut short by the
budget), and postgres answering 'N'. Re-exported by evidence_cases.py; TLS_PORT_EXPECTED
gives each one's verdict."""

from __future__ import annotations

from dataclasses import replace

import evidence_cases as c
from protocol_cases import CHECKED_AT, POSTGRES_OK

from netdx.model import CheckEvidence
from netdx.model.service import ServiceProtocol, TlsDetails, TlsExchange, TlsOutcome

__all__ = [
    "TLS_PORT_CLOSED",
    "TLS_PORT_EXPECTED",
    "TLS_PORT_EXPIRED",
    "TLS_PORT_NAME_MISMATCH",
    "TLS_PORT_OK",
    "TLS_PORT_PLAIN",
    "TLS_PORT_POSTGRES_N",
    "TLS_PORT_POSTGRES_OK",
    "TLS_PORT_SILENT",
    "TLS_PORT_SILENT_SHORT",
    "TLS_PORT_UNTRUSTED",
]

_CERT = TlsDetails(
    name_asked=c.WEB,
    version="TLSv1.3",
    cipher="TLS_AES_256_GCM_SHA384",
    subject=f"CN={c.WEB}",
    issuer="CN=Lab CA",
    not_before=CHECKED_AT - 30 * 86400,
    not_after=CHECKED_AT + 300 * 86400,
    names=(c.WEB,),
    verified=True,
    checked_at=CHECKED_AT,
)


def _port(
    outcome: TlsOutcome,
    *,
    port: int = 993,
    error: str | None = None,
    tls: TlsDetails | None = None,
    received: str = "",
    budget_ms: float = 4000.0,
    preface: ServiceProtocol | None = None,
    scheme: str | None = None,
) -> CheckEvidence:
    done = outcome == "ok"
    x = TlsExchange(
        address=c.WEB_IP,
        port=port,
        outcome=outcome,
        error=error,
        preface=preface,
        received=received,
        connect_ms=0.4,
        tls_ms=2.1 if done else None,
        total_ms=2.6 if outcome != "timeout" else 2000.0,
        budget_ms=budget_ms,
        tls=tls,
    )
    return CheckEvidence(
        target_host=c.WEB,
        port=port,
        scheme=scheme,
        dns=c.literal(c.WEB),
        addresses=(
            c.addr(
                c.WEB_IP,
                route=c.route_ok(c.WEB_IP),
                echo=c.echo_reply(c.WEB_IP),
                tcp=c.tcp(c.WEB_IP, port, "connected"),
                tls=x,
            ),
        ),
    )


def _failed(verify_error: str, verify_code: int, **kw: object) -> TlsDetails:
    cert = replace(_CERT, version=None, cipher=None, verified=False, verify_error=verify_error,
                   verify_code=verify_code)  # fmt: skip
    return replace(cert, **kw)  # type: ignore[arg-type]


TLS_PORT_OK = _port("ok", tls=_CERT)
TLS_PORT_EXPIRED = _port(
    "tls_error", error="certificate verify failed: certificate has expired",
    tls=_failed("certificate has expired", 10, not_after=CHECKED_AT - 86400.0),
)  # fmt: skip
TLS_PORT_NAME_MISMATCH = _port(
    "tls_error", error="certificate verify failed: Hostname mismatch",
    tls=_failed("Hostname mismatch", 62, names=("other.lab.example",)),
)  # fmt: skip
TLS_PORT_UNTRUSTED = _port(
    "tls_error", scheme="tcp", error="certificate verify failed: self-signed certificate",
    tls=_failed("self-signed certificate", 18, issuer=f"CN={c.WEB}"),
)  # fmt: skip
TLS_PORT_PLAIN = _port(
    "not_tls", received="* OK IMAP4rev1 ready\\r\\n",
    error="the port answered in plain text, not TLS: b'* OK IMAP4rev1 ready\\r\\n'",
)  # fmt: skip
TLS_PORT_CLOSED = _port(
    "closed", error="the server closed the connection during the TLS handshake"
)
TLS_PORT_SILENT = _port("timeout", error="no answer to the TLS ClientHello before the deadline")
# The budget left 300 ms: a silence that short proves nothing.
TLS_PORT_SILENT_SHORT = _port(
    "timeout", error="no answer to the TLS ClientHello before the deadline", budget_ms=300.0
)
TLS_PORT_POSTGRES_N = replace(
    POSTGRES_OK,
    addresses=tuple(
        replace(a, tls=TlsExchange(
            address=a.address, port=5432, outcome="not_offered", preface="postgres",
            error="SSLRequest answered 'N': the server does not offer TLS", connect_ms=0.3,
            total_ms=0.8, budget_ms=4000.0,
        ))
        for a in POSTGRES_OK.addresses
    ),
)  # fmt: skip
TLS_PORT_POSTGRES_OK = _port(
    "ok", port=5432, scheme="postgres", preface="postgres", tls=_CERT
)

TLS_PORT_EXPECTED = {
    "TLS_PORT_OK": "ok",
    "TLS_PORT_EXPIRED": "service.tls_expired",
    "TLS_PORT_NAME_MISMATCH": "service.tls_name_mismatch",
    "TLS_PORT_UNTRUSTED": "service.tls_untrusted",
    "TLS_PORT_PLAIN": "service.tls_error",
    "TLS_PORT_CLOSED": "service.tls_error",
    "TLS_PORT_SILENT": "service.tls_error",
    "TLS_PORT_SILENT_SHORT": "unknown",
    "TLS_PORT_POSTGRES_N": "service.tls_not_offered",
    "TLS_PORT_POSTGRES_OK": "ok",
}
