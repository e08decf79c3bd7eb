"""Service rules of `check --tls` on a port that is not https:// (openssl s_client -connect):
the TLS handshake after the TCP connect, or after postgres' SSLRequest.

- `service.tls_not_offered`: postgres answered the SSLRequest 'N', or a mysql greeting
  lacks CLIENT_SSL: the server does not offer TLS at all, so a client that requires it fails.
- `service.tls_error`: every other failed handshake: the port answered in plain text (it
  speaks no TLS: the bytes are quoted), closed during the handshake, never answered the
  ClientHello within a fair wait, or OpenSSL refused the session. A certificate that is
  expired, for another name or untrusted is named by the rules of `netdx.diagnose.protocols`,
  listed before these.
"""

from __future__ import annotations

from netdx.diagnose.facts import connected_text, endpoint, failure, ms, used_exchange
from netdx.diagnose.protocols import ip_of, tls_session_text
from netdx.diagnose.service import timings_text
from netdx.diagnose.shell import join
from netdx.model import AddressEvidence, CheckEvidence, Finding
from netdx.model.report import StepStatus
from netdx.model.service import TlsExchange

# A server that has not answered a ClientHello in this long is not going to: a live TLS
# server answers in one round trip. A shorter wait, cut by the command's budget, proves nothing.
TLS_PATIENCE_MS = 1000.0


def used_tls(ev: CheckEvidence) -> tuple[AddressEvidence, TlsExchange] | None:
    """The address the client ends up on (the first that connected) and its --tls handshake."""
    return used_exchange(ev, lambda a: a.tls)


def budget_ran_out(x: TlsExchange) -> bool:
    """The handshake timed out only because the budget left it less than TLS_PATIENCE_MS."""
    return x.outcome == "timeout" and x.budget_ms is not None and x.budget_ms < TLS_PATIENCE_MS


def _s_client(ev: CheckEvidence, x: TlsExchange) -> str:
    # OpenSSL's s_client speaks both protocols' way into TLS (-starttls postgres | mysql).
    starttls = ("-starttls", x.preface) if x.preface in ("postgres", "mysql") else ()
    # An IP literal is sent without SNI (RFC 6066), as netdx's own handshake did.
    name = () if ip_of(ev.target_host) is not None else ("-servername", ev.target_host)
    return join(("openssl", "s_client", "-connect", endpoint(x.address, x.port), *name,
                       *starttls))  # fmt: skip


_AFTER = {
    "postgres": " after postgres' SSLRequest",
    "mysql": " after mysql's greeting",  # and its SSLRequest when the greeting offers TLS
}


def exchange_text(ev: CheckEvidence, x: TlsExchange) -> str:
    """One line quoting the handshake: where, with which name, and how it ended."""
    after = _AFTER.get(x.preface or "", "")
    how = "ok" if x.outcome == "ok" else f"{x.outcome} ({x.error or 'no detail'})"
    took = f" in {ms(x.tls_ms)}" if x.tls_ms is not None else ""
    sni = "no SNI: an IP address" if ip_of(ev.target_host) is not None else f"SNI {ev.target_host}"
    return f"TLS to {endpoint(x.address, x.port)} ({sni}){after}: {how}{took}"


# What "no TLS" looks like and how to turn TLS on, per protocol that switches to TLS inside.
_NOT_OFFERED = {
    "postgres": (
        "it answered the SSLRequest 'N' (a client with sslmode=require is refused)",
        "on the server: set ssl = on with ssl_cert_file and ssl_key_file in postgresql.conf, "
        "then reload (SELECT pg_reload_conf())",
    ),
    "mysql": (
        "its greeting lacks CLIENT_SSL (a client with --ssl-mode=REQUIRED is refused)",
        "on the server: set ssl_cert and ssl_key under [mysqld] in my.cnf, then restart; "
        "SHOW VARIABLES LIKE 'have_ssl' says YES once it offers TLS",
    ),
}


def tls_not_offered(ev: CheckEvidence) -> Finding | None:
    """service.tls_not_offered: --tls asked a server that switches to TLS inside its own
    protocol, and it does not offer it (postgres' SSLRequest answered 'N'; a mysql greeting
    without CLIENT_SSL)."""
    got = used_tls(ev)
    if got is None or got[1].outcome != "not_offered":
        return None
    a, x = got
    protocol = x.preface or "postgres"
    how, turn_on = _NOT_OFFERED[protocol]
    return failure(
        cause="service.tls_not_offered",
        summary=f"{protocol} on {endpoint(a.address, x.port)} does not offer TLS: {how}",
        evidence=(
            connected_text(a),
            exchange_text(ev, x),
        ),
        fix=(turn_on, f"confirm: {_s_client(ev, x)}"),
    )


def tls_failed(ev: CheckEvidence) -> Finding | None:
    """service.tls_error: check --tls's handshake failed for a reason the certificate rules
    do not name (plain text, a close, silence, an OpenSSL error)."""
    got = used_tls(ev)
    if got is None or got[1].outcome in ("ok", "not_offered") or budget_ran_out(got[1]):
        return None
    a, x = got
    where = endpoint(a.address, x.port)
    evidence = [connected_text(a), exchange_text(ev, x)]
    if x.outcome == "not_tls":
        summary = f"{where} accepts TCP but does not speak TLS: it answered in plain text"
        fix = [
            f"is {x.port} the TLS port of this service? without --tls: "
            f"{join(('netdx', 'check', endpoint(ev.target_host, x.port)))}",
            "a protocol that upgrades inside its own exchange (SMTP, IMAP, LDAP STARTTLS): "
            f"{_s_client(ev, x)} -starttls smtp (or imap, ldap)",
        ]
    elif x.outcome == "timeout":
        summary = (
            f"{where} accepts TCP but never answered the TLS handshake in "
            f"{ms(x.total_ms)}: a plain-text port waiting for the client to speak?"
        )
        fix = [
            f"confirm: {_s_client(ev, x)}",
            f"on the server: ss -tlnp 'sport = :{x.port}' (which program owns the port?)",
        ]
    elif x.outcome == "closed":
        summary = (f"{where} closed the connection during the TLS handshake: it speaks no TLS, "
                   f"or refused this ClientHello (SNI {ev.target_host}, TLS version)")  # fmt: skip
        fix = [f"confirm: {_s_client(ev, x)}", "read the server's log for the refusal"]
    else:
        summary = f"TLS with {where} failed: {x.error or 'handshake error'}"
        fix = [f"inspect the certificate: {_s_client(ev, x)}",
               "check the certificate's names and chain, and the client's CA bundle"]  # fmt: skip
    if x.received and x.outcome != "not_tls":  # not_tls's error quotes them already
        evidence.append(f"first bytes from the port: b'{x.received}'")
    evidence.append(timings_line(ev, x))
    return failure(
        cause="service.tls_error", step="service", summary=summary, evidence=evidence, fix=fix
    )


def timings_line(ev: CheckEvidence, x: TlsExchange) -> str:
    """The phases as curl -w shows them (DNS, connect, TLS, total)."""
    return timings_text(ev, x)


def ok_text(ev: CheckEvidence, x: TlsExchange) -> tuple[str, tuple[str, ...]]:
    """The summary's TLS clause and the evidence lines of a handshake that worked."""
    tls = x.tls
    version = tls.version if tls is not None and tls.version else "TLS"
    trust = "verification SKIPPED (-k)" if tls is not None and tls.skipped else "verified"
    lines = [exchange_text(ev, x)]
    if tls is not None:
        lines.append(tls_session_text(tls))
    lines.append(timings_line(ev, x))
    return f"TLS ok: {version}, certificate {trust}", tuple(lines)


def tls_step(x: TlsExchange) -> tuple[StepStatus, str]:
    """The service step of check --tls: pass with the session, fail with how it ended, or
    unknown when the budget, not the server, cut the wait."""
    where = endpoint(x.address, x.port)
    if x.outcome == "ok":
        tls = x.tls
        version = tls.version if tls is not None and tls.version else "TLS"
        subject = f", certificate {tls.subject}" if tls is not None and tls.subject else ""
        return "pass", f"{version} in {ms(x.tls_ms)} via {where}{subject}"
    if budget_ran_out(x):
        return "unknown", (f"the budget ran out {ms(x.total_ms)} into the TLS handshake via "
                           f"{where} (it had {ms(x.budget_ms)}): raise --timeout")  # fmt: skip
    return "fail", f"TLS handshake via {where}: {x.outcome} ({x.error or 'no detail'})"
