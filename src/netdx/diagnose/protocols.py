"""Service rules past TCP for the protocols netdx speaks: does the port speak the protocol
the URL names (postgres, redis, mysql), and what is wrong with a certificate that failed?

- `service.protocol_mismatch`: the port answered the protocol's first message with bytes
  of another protocol, closed without a word, or stayed silent for the full wait.
- `service.protocol_error`: it speaks the protocol and refused us (a mysql ERR packet such
  as "Host ... is not allowed to connect", redis -LOADING, a postgres ErrorResponse).
- `service.tls_expired` / `service.tls_name_mismatch`: the https handshake (or the one of
  check --tls on another port) failed and the certificate read afterwards shows why: its
  notAfter has passed, or none of its names is the name asked. Listed before
  `service.tls_error`, which keeps every other TLS failure.
- `service.tls_untrusted`: names and dates are fine, but the chain does not lead to a CA
  of the trust store (the system's, or `--cacert FILE`): self-signed, or an unknown issuer.
  After the two above, so a certificate that is both expired and self-signed is expired.

A redis that answers -NOAUTH is healthy: the verdict is ok, "AUTH required".
"""

from __future__ import annotations

import ipaddress
import time

from netdx.diagnose.facts import connected_text, endpoint, failure, used_address, used_exchange
from netdx.diagnose.shell import join
from netdx.model import AddressEvidence, CheckEvidence, Finding
from netdx.model.service import ServiceHandshake, TlsDetails

# A silence shorter than this says nothing: the budget, not the server, ended the wait (a
# live database answers its first message in milliseconds).
HANDSHAKE_PATIENCE_MS = 500.0
SPOKEN = ("ok", "auth_required")

# The protocol's own client, as argv (joined as shlex.join does: the line is pasted into a shell).
_CLIENTS = {
    "postgres": ("psql", "host={host} port={port} sslmode=prefer", "-c", "select 1"),
    "redis": ("redis-cli", "-h", "{host}", "-p", "{port}", "PING"),
    "mysql": ("mysql", "-h", "{host}", "-P", "{port}", "-e", "select 1"),
}
_SENT_NOTHING = "nothing (the server speaks first)"


def used_handshake(ev: CheckEvidence) -> tuple[AddressEvidence, ServiceHandshake] | None:
    """The address the client ends up on (the first that connected) and its handshake."""
    return used_exchange(ev, lambda a: a.handshake)


def handshake_text(hs: ServiceHandshake) -> str:
    """One line quoting the exchange: what was sent and what came back (the raw bytes when
    they are not the protocol: they show what the port speaks instead)."""
    sent = f"b'{hs.sent}'" if hs.sent else _SENT_NOTHING
    if hs.outcome in (*SPOKEN, "server_error"):
        got = f"answered {answer_text(hs)}"
    else:
        got = f"got b'{hs.received}'" if hs.received else "got nothing"
    return f"{hs.protocol} to {endpoint(hs.address, hs.port)}: sent {sent}, {got}"


def answer_text(hs: ServiceHandshake) -> str:
    """What the answer means, with an ok that needs AUTH said as such."""
    if hs.outcome == "auth_required":
        return f"{hs.answer} (ok, AUTH required)"
    return hs.answer


def decided(hs: ServiceHandshake) -> bool:
    """Did the exchange settle whether the port speaks the protocol?"""
    if hs.outcome == "silent":
        return hs.waited_ms is not None and hs.waited_ms >= HANDSHAKE_PATIENCE_MS
    return hs.outcome != "error"


def _client(hs: ServiceHandshake, a: AddressEvidence) -> str:
    """The protocol's own client for this exchange; over TLS when the exchange was (rediss://,
    postgres:// --tls), so that the line repeats what netdx did."""
    words = [word.format(host=a.address, port=hs.port) for word in _CLIENTS[hs.protocol]]
    if a.tls is not None and hs.protocol == "redis":
        words.insert(1, "--tls")
    elif a.tls is not None and hs.protocol == "postgres":
        words[1] = words[1].replace("sslmode=prefer", "sslmode=require")
    return join(words)


def protocol_mismatch(ev: CheckEvidence) -> Finding | None:
    """service.protocol_mismatch: the port is open but does not speak the URL's protocol."""
    got = used_handshake(ev)
    if got is None or got[1].outcome not in ("mismatch", "closed", "silent"):
        return None
    a, hs = got
    if not decided(hs):
        return None
    where = endpoint(a.address, hs.port)
    return failure(
        cause="service.protocol_mismatch",
        summary=f"{where} accepts TCP but does not speak {hs.protocol}: {hs.answer}",
        evidence=(
            connected_text(a),
            handshake_text(hs),
            hs.answer,
        ),
        fix=(
            f"on the server: ss -tlnp 'sport = :{hs.port}' (which program owns the port?)",
            f"is {hs.port} the {hs.protocol} port of this host? try: {_client(hs, a)}",
        ),
    )


def protocol_error(ev: CheckEvidence) -> Finding | None:
    """service.protocol_error: the server speaks the protocol and refused this client."""
    got = used_handshake(ev)
    if got is None or got[1].outcome != "server_error":
        return None
    a, hs = got
    fix = [f"repeat it: {_client(hs, a)}"]
    if hs.protocol == "mysql" and hs.error_code == 1130:
        fix.insert(0, "on the server: grant this client's address (CREATE USER 'u'@'ADDR' ...)")
    elif hs.answer.startswith("-LOADING"):
        fix.insert(0, "wait until redis has loaded its dataset (INFO persistence)")
    else:
        fix.insert(0, "read the server's log for the refusal")
    return failure(
        cause="service.protocol_error",
        summary=f"{hs.protocol} on {endpoint(a.address, hs.port)} refused the client: "
        f"{hs.answer}",
        evidence=(connected_text(a), handshake_text(hs), hs.answer),
        fix=tuple(fix),
    )


def _utc(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))


def ip_of(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """`text` as an IP address, or None for a name."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def name_matches(name: str, patterns: tuple[str, ...]) -> bool:
    """Does a certificate name in `patterns` cover `name`? A wildcard stands for exactly
    one leftmost label (RFC 6125); an IP address must be one of the IP names."""
    name = name.lower().rstrip(".")
    ip = ip_of(name)
    for pattern in (p.lower().rstrip(".") for p in patterns):
        if ip is not None:
            if ip_of(pattern) == ip:
                return True
            continue
        wildcard = pattern.startswith("*.") and name.partition(".")[2] == pattern[2:]
        if pattern == name or wildcard:
            return True
    return False


def tls_session_text(tls: TlsDetails) -> str:
    """The negotiated TLS and the certificate, for an exchange that worked, with what it
    was verified against (-k: verification skipped, so nothing is claimed about trust)."""
    if tls.skipped:
        trust = "verification SKIPPED (-k): the chain and names were not checked"
    elif tls.verified:
        trust = f"verified against {_trust_store(tls)}"
    else:
        trust = "not verified"
    return f"TLS: {tls.version or '?'} {tls.cipher or '?'}; {trust}; {tls_text(tls)}"


def _failed_tls(ev: CheckEvidence) -> tuple[AddressEvidence, TlsDetails] | None:
    """The handshake that failed (of an https exchange, or of check --tls on another
    port), with the certificate read after it."""
    used = used_address(ev)
    if used is None:
        return None
    if used.http is not None and used.http.outcome == "tls_error":
        tls = used.http.tls
    elif used.tls is not None and used.tls.outcome == "tls_error":
        tls = used.tls.tls
    else:
        return None
    if tls is None or tls.not_after is None:
        return None
    return used, tls


def tls_text(tls: TlsDetails) -> str:
    """The certificate as a line: subject, issuer, validity, names."""
    names = ", ".join(tls.names) or "none"
    after = _utc(tls.not_after) if tls.not_after is not None else "?"
    return (
        f"certificate subject {tls.subject or '?'}, issuer {tls.issuer or '?'}, "
        f"notAfter {after}, names: {names}"
    )


def _verify(tls: TlsDetails) -> str:
    return f"verification said: {tls.verify_error or '?'}"


def _s_client(a: AddressEvidence, port: int, tls: TlsDetails, ev: CheckEvidence) -> str:
    # postgres and mysql (check --tls) start TLS inside their protocol: s_client speaks both.
    preface = a.tls.preface if a.tls is not None else None
    starttls = ("-starttls", preface) if preface in ("postgres", "mysql") else ()
    return join(("openssl", "s_client", "-connect", endpoint(a.address, port),
                 "-servername", tls.name_asked, *starttls))



def _again(ev: CheckEvidence, a: AddressEvidence, port: int) -> tuple[str, ...]:
    """The target and options of a netdx check that repeats this one's TLS."""
    if a.http is not None:
        return (a.http.url,)
    where = endpoint(ev.target_host, port)
    return (f"{ev.scheme}://{where}" if ev.scheme else where, "--tls")


def tls_expired(ev: CheckEvidence) -> Finding | None:
    """service.tls_expired: the certificate's notAfter is before the moment of the check."""
    got = _failed_tls(ev)
    if got is None:
        return None
    a, tls = got
    now = tls.checked_at if tls.checked_at is not None else time.time()
    if tls.not_after is None or tls.not_after >= now:
        return None
    port = ev.port if ev.port is not None else 443
    days = (now - tls.not_after) / 86400.0
    return failure(
        cause="service.tls_expired",
        summary=f"the certificate of {endpoint(a.address, port)} expired on "
        f"{_utc(tls.not_after)} ({days:.1f} days before this check)",
        evidence=(
            f"notAfter {_utc(tls.not_after)}, checked at {_utc(now)}",
            tls_text(tls),
            _verify(tls),
        ),
        fix=(
            f"renew the certificate of {tls.name_asked} and reload the server",
            f"confirm: {_s_client(a, port, tls, ev)}",
        ),
    )


def tls_name_mismatch(ev: CheckEvidence) -> Finding | None:
    """service.tls_name_mismatch: none of the certificate's names covers the name asked."""
    got = _failed_tls(ev)
    if got is None:
        return None
    a, tls = got
    if name_matches(tls.name_asked, tls.names):
        return None
    port = ev.port if ev.port is not None else 443
    names = ", ".join(tls.names) or "no subjectAltName"
    return failure(
        cause="service.tls_name_mismatch",
        summary=f"the certificate of {endpoint(a.address, port)} is for {names}, "
        f"not {tls.name_asked}",
        evidence=(
            f"name asked (SNI): {tls.name_asked}; names in the certificate: {names}",
            tls_text(tls),
            _verify(tls),
        ),
        fix=(
            f"serve a certificate whose subjectAltName holds {tls.name_asked}, or connect "
            "with a name it holds",
            f"confirm: {_s_client(a, port, tls, ev)}",
        ),
    )


# OpenSSL's X509_V_ERR_* codes that mean "no trusted issuer": UNABLE_TO_GET_ISSUER_CERT (2),
# DEPTH_ZERO_SELF_SIGNED_CERT (18), SELF_SIGNED_CERT_IN_CHAIN (19),
# UNABLE_TO_GET_ISSUER_CERT_LOCALLY (20), UNABLE_TO_VERIFY_LEAF_SIGNATURE (21),
# CERT_UNTRUSTED (27). Other codes (a bad signature, a revoked or malformed certificate)
# stay `service.tls_error`.
UNTRUSTED_CODES = frozenset({2, 18, 19, 20, 21, 27})


def _trust_store(tls: TlsDetails) -> str:
    return f"--cacert {tls.ca_file}" if tls.ca_file else "the system trust store"


def tls_untrusted(ev: CheckEvidence) -> Finding | None:
    """service.tls_untrusted: the certificate is valid now and names the host, but its chain
    does not verify against the trust store (self-signed, or signed by an unknown CA)."""
    got = _failed_tls(ev)
    if got is None:
        return None
    a, tls = got
    if tls.verify_code not in UNTRUSTED_CODES or not name_matches(tls.name_asked, tls.names):
        return None
    now = tls.checked_at if tls.checked_at is not None else time.time()
    if tls.not_after is None or tls.not_after < now:
        return None
    if tls.not_before is not None and tls.not_before > now:
        return None
    port = ev.port if ev.port is not None else 443
    self_signed = tls.verify_code == 18 or (tls.issuer is not None and tls.issuer == tls.subject)
    why = "it is self-signed" if self_signed else f"its issuer {tls.issuer or '?'} is unknown"
    store = _trust_store(tls)
    again = _again(ev, a, port)
    return failure(
        cause="service.tls_untrusted",
        summary=f"the certificate of {endpoint(a.address, port)} is not trusted: {why} "
        f"(checked against {store})",
        evidence=(
            f"name {tls.name_asked} is in the certificate, valid until {_utc(tls.not_after)}",
            tls_text(tls),
            _verify(tls),
        ),
        fix=(
            "serve a certificate signed by a CA the clients trust, or give the clients the "
            "issuing CA (its PEM in the system store: update-ca-certificates)",
            f"check with that CA: {join(('netdx', 'check', *again, '--cacert', 'CA.pem'))}",
            f"confirm: {_s_client(a, port, tls, ev)} -showcerts",
        ),
    )
