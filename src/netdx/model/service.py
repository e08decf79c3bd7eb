"""Evidence of the service layer beyond HTTP: a protocol's first exchange after the TCP
connect (postgres, redis, mysql) and the TLS details of a handshake.

Plain frozen values, no I/O; the probes in `netdx.probes.protocols` and `netdx.probes.tls`
fill them in and the rules in `netdx.diagnose.protocols` judge them.
"""

from __future__ import annotations

from netdx.model.literal import Literal  # typing's to mypy; no typing import at run time
from netdx.model.record import record

ServiceProtocol = Literal["postgres", "redis", "mysql"]

# The URL schemes whose first exchange `netdx check` speaks after the TCP connect (a bare
# host:port, even on 5432, stays a plain connect: only the scheme says what the port is for).
SCHEME_PROTOCOLS: dict[str, ServiceProtocol] = {
    "postgres": "postgres",
    "postgresql": "postgres",
    "redis": "redis",
    "mysql": "mysql",
}

# The URL schemes whose port is TLS from the first byte, with the protocol spoken inside the
# session: the TLS handshake (as check --tls makes it), then the protocol's first exchange.
TLS_SCHEME_PROTOCOLS: dict[str, ServiceProtocol] = {"rediss": "redis"}

# ok: the server spoke the protocol and would take a client; auth_required: it spoke the
# protocol and asks for credentials first (redis -NOAUTH: a healthy server, not a failure);
# server_error: it spoke the protocol and refused us (a mysql ERR packet such as "Host ... is
# not allowed to connect", redis -LOADING); mismatch: it answered with bytes that are not the
# protocol; silent: it said nothing within the wait; closed: it closed without a word.
HandshakeOutcome = Literal[
    "ok", "auth_required", "server_error", "mismatch", "silent", "closed", "error"
]


@record
class ServiceHandshake:
    """The first exchange of `protocol` with address:port, after TCP connected.

    `sent` and `received` quote the bytes on the wire (Python bytes-literal escapes, the
    first 64 bytes of the answer), so a mismatch shows what the port really said. `answer`
    is the protocol's own reading of it (postgres' SSLRequest byte, redis' reply line, the
    mysql greeting's server version or error message).
    """

    protocol: ServiceProtocol
    address: str
    port: int
    outcome: HandshakeOutcome
    sent: str
    received: str = ""
    answer: str = ""
    server_version: str | None = None  # mysql's greeting
    protocol_version: int | None = None  # mysql's greeting (10 today)
    error_code: int | None = None  # a mysql ERR packet's code
    elapsed_ms: float = 0.0
    # How long it could wait: a silence shorter than the server's habit proves nothing.
    waited_ms: float | None = None


@record
class TlsDetails:
    """A TLS handshake as `openssl s_client` shows it: the negotiated version and cipher, and
    the server's certificate (read even when verification failed, from a second handshake
    that verifies nothing). Times are UNIX seconds; `checked_at` is when it was read, so the
    rules judge expiry against the moment of the check, not the moment of reading."""

    name_asked: str  # the SNI and the name the certificate must carry
    version: str | None = None  # TLSv1.3
    cipher: str | None = None
    subject: str | None = None  # RFC 4514-like: CN=web-01.netdx.internal
    issuer: str | None = None
    not_before: float | None = None
    not_after: float | None = None
    names: tuple[str, ...] = ()  # subjectAltName DNS names and IP addresses, in order
    verified: bool = False
    verify_error: str | None = None  # OpenSSL's text: "certificate has expired"
    verify_code: int | None = None  # OpenSSL's X509_V_ERR_* number
    checked_at: float | None = None
    # What the chain was checked against: None is the system trust store; a path is the
    # --cacert bundle. `verified` False with no verify_error: verification was skipped (-k).
    ca_file: str | None = None
    skipped: bool = False


@record
class HttpOptions:
    """How `check` speaks HTTP(S): the request (method, extra headers), the statuses that
    count as success (empty: any status below 400), and the trust for the certificate
    (`ca_pem`, the text of `--cacert FILE`, instead of the system store; `insecure`, -k:
    no verification at all). Validated by `netdx.http_option`."""

    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    expect_status: tuple[int, ...] = ()
    ca_file: str | None = None
    ca_pem: str | None = None
    insecure: bool = False


# ok: the handshake completed (verified, or -k); tls_error: OpenSSL refused it (the
# certificate, the protocol version, an alert from the server); not_tls: the port answered
# with bytes that are not a TLS record (a plain-text banner or reply); closed: it closed
# during the handshake; timeout: no (complete) answer to the ClientHello before the
# deadline; not_offered: postgres answered the SSLRequest 'N'; error: a local or socket error.
TlsOutcome = Literal["ok", "tls_error", "not_tls", "closed", "timeout", "not_offered", "error"]


@record
class TlsExchange:
    """`check --tls` on a target that is not https://: the TLS handshake after the TCP
    connect (for postgres:// after its SSLRequest was answered 'S'), as `openssl s_client
    -connect` does it. `tls` is the negotiated session and the certificate (read from a
    second, unverified handshake when verification failed); `received` quotes the first
    bytes of a port that answered in plain text. Times are milliseconds."""

    address: str
    port: int
    outcome: TlsOutcome
    error: str | None = None
    preface: ServiceProtocol | None = None  # postgres, mysql: their SSLRequest first
    received: str = ""
    connect_ms: float | None = None
    tls_ms: float | None = None
    total_ms: float | None = None
    budget_ms: float | None = None  # what was left of the budget when it started
    tls: TlsDetails | None = None
    # rediss://: the protocol's first exchange inside the session (the plan moves it to the
    # address's `handshake`, where the protocol rules read it).
    handshake: ServiceHandshake | None = None
