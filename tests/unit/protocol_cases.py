"""Evidence literals of the protocol handshakes (postgres, redis, mysql) and of failed TLS
handshakes with the certificate read afterwards. Built on evidence_cases.py's builders and
re-exported by it; PROTOCOL_EXPECTED gives each one's verdict. The bytes are those the probe
quotes (postgres' from a real PostgreSQL 15, the others as the servers send them)."""

from __future__ import annotations

from dataclasses import replace

import evidence_cases as c

from netdx.model import CheckEvidence
from netdx.model.service import HandshakeOutcome, ServiceHandshake, ServiceProtocol, TlsDetails

__all__ = [
    "MYSQL_NOT_ALLOWED",
    "POSTGRES_OK",
    "POSTGRES_SILENT",
    "POSTGRES_SILENT_SHORT",
    "POSTGRES_SSH",
    "PROTOCOL_EXPECTED",
    "REDIS_AUTH",
    "TLS_BAD_SIGNATURE",
    "TLS_EXPIRED",
    "TLS_NAME_MISMATCH",
    "TLS_UNKNOWN_CA",
    "TLS_UNTRUSTED",
]

SSL_REQUEST = "\\x00\\x00\\x00\\x08\\x04\\xd2\\x16/"
PING = "*1\\r\\n$4\\r\\nPING\\r\\n"
CHECKED_AT = 1796303820.0  # 2026-12-03 13:17:00 UTC


def _db(
    protocol: ServiceProtocol,
    port: int,
    outcome: HandshakeOutcome,
    *,
    sent: str,
    received: str,
    answer: str,
    waited_ms: float = 1000.0,
    **kw: object,
) -> CheckEvidence:
    hs = ServiceHandshake(
        protocol=protocol,
        address=c.DB_IP,
        port=port,
        outcome=outcome,
        sent=sent,
        received=received,
        answer=answer,
        elapsed_ms=1000.0 if outcome == "silent" else 0.9,
        waited_ms=waited_ms,
        **kw,  # type: ignore[arg-type]
    )
    return CheckEvidence(
        target_host=c.DB_IP,
        port=port,
        scheme=protocol,
        dns=c.literal(c.DB_IP),
        addresses=(
            c.addr(
                c.DB_IP,
                route=c.route_ok(c.DB_IP),
                echo=c.echo_reply(c.DB_IP),
                tcp=c.tcp(c.DB_IP, port, "connected"),
                handshake=hs,
            ),
        ),
    )


POSTGRES_OK = _db(
    "postgres", 5432, "ok", sent=SSL_REQUEST, received="N",
    answer="SSLRequest answered 'N': the server does not offer TLS",
)  # fmt: skip
REDIS_AUTH = _db(
    "redis", 6379, "auth_required", sent=PING,
    received="-NOAUTH Authentication required.\\r\\n",
    answer="-NOAUTH Authentication required.",
)  # fmt: skip
POSTGRES_SILENT = _db(
    "postgres", 5432, "silent", sent=SSL_REQUEST, received="", answer="no answer in 1000 ms"
)
# The budget left 200 ms: a silence that short proves nothing.
POSTGRES_SILENT_SHORT = _db(
    "postgres", 5432, "silent", sent=SSL_REQUEST, received="", answer="no answer in 200 ms",
    waited_ms=200.0,
)  # fmt: skip
POSTGRES_SSH = _db(
    "postgres", 5432, "mismatch", sent=SSL_REQUEST, received="SSH-2.0-OpenSSH_9.2p1\\r\\n",
    answer="not the protocol: b'SSH-2.0-OpenSSH_9.2p1\\r\\n'",
)  # fmt: skip
MYSQL_NOT_ALLOWED = _db(
    "mysql", 3306, "server_error", sent="",
    received="D\\x00\\x00\\x00\\xffj\\x04Host '10.0.0.10' is not allowed to connect",
    answer="ERROR 1130: Host '10.0.0.10' is not allowed to connect to this MySQL server",
    error_code=1130,
)  # fmt: skip

_TLS_URL = f"https://{c.WEB}:443/health"


def _tls(**kw: object) -> CheckEvidence:
    tls = TlsDetails(
        name_asked=c.WEB,
        subject=f"CN={c.WEB}",
        issuer=f"CN={c.WEB}",
        not_before=CHECKED_AT - 30 * 86400,
        not_after=CHECKED_AT + 300 * 86400,
        names=(c.WEB,),
        verify_error="self-signed certificate",
        verify_code=18,
        checked_at=CHECKED_AT,
    )
    tls = replace(tls, **kw)  # type: ignore[arg-type]
    http = c.http(_TLS_URL, c.WEB_IP, None, outcome="tls_error",
                  error=f"certificate verify failed: {tls.verify_error}", tls=tls)  # fmt: skip
    return replace(c._web(http), port=443, scheme="https")


TLS_EXPIRED = _tls(
    not_before=CHECKED_AT, not_after=CHECKED_AT - 86400.0,
    verify_error="certificate has expired", verify_code=10,
)  # fmt: skip
TLS_NAME_MISMATCH = _tls(
    subject="CN=other.lab.example", names=("other.lab.example", "*.other.lab.example"),
    verify_error="Hostname mismatch, certificate is not valid for 'web.lab.example'.",
    verify_code=62,
)  # fmt: skip
TLS_UNTRUSTED = _tls()  # right name, in date, self-signed: not trusted
TLS_UNKNOWN_CA = _tls(
    issuer="CN=Corp Internal CA", verify_code=20,
    verify_error="unable to get local issuer certificate",
)  # fmt: skip
# A chain that fails for another reason than trust stays the generic TLS error.
TLS_BAD_SIGNATURE = _tls(verify_error="certificate signature failure", verify_code=7)

PROTOCOL_EXPECTED = {
    "POSTGRES_OK": "ok",
    "REDIS_AUTH": "ok",
    "POSTGRES_SILENT": "service.protocol_mismatch",
    "POSTGRES_SILENT_SHORT": "unknown",
    "POSTGRES_SSH": "service.protocol_mismatch",
    "MYSQL_NOT_ALLOWED": "service.protocol_error",
    "TLS_EXPIRED": "service.tls_expired",
    "TLS_NAME_MISMATCH": "service.tls_name_mismatch",
    "TLS_UNTRUSTED": "service.tls_untrusted",
    "TLS_UNKNOWN_CA": "service.tls_untrusted",
    "TLS_BAD_SIGNATURE": "service.tls_error",
}
