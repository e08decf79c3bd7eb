"""`check --tls`: a TLS handshake on a port that is not https://, as `openssl s_client
-connect host:993` does it (ldaps, smtps, imaps, a TLS-wrapped redis), for postgres://
after its SSLRequest was answered 'S', and for mysql:// after a greeting with CLIENT_SSL and
its SSLRequest.

The session itself (connect, preface, handshake, the unverified second look at a certificate
that failed) is `netdx.probes.tls`; this module turns its outcome into `TlsExchange`
evidence. Every outcome is data: a port that answers in plain text is `not_tls` with its
first bytes quoted, a close during the handshake is `closed`, silence is `timeout`, and the
rules (`netdx.diagnose.service_tls`, `netdx.diagnose.protocols`) judge them.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import replace

from netdx.budget import Deadline
from netdx.model.service import (
    HttpOptions,
    ServiceHandshake,
    ServiceProtocol,
    TlsDetails,
    TlsExchange,
    TlsOutcome,
)
from netdx.netlink.errors import os_error_text
from netdx.probes.protocols import handshake_inside, quote
from netdx.probes.tls import (
    NotOffered,
    Progress,
    TlsChannel,
    open_session,
    peek_certificate,
    tls_details,
    verification_error,
)

# TLS record content types: change_cipher_spec, alert, handshake, application_data.
_RECORD_TYPES = frozenset({0x14, 0x15, 0x16, 0x17})


def looks_like_tls(data: bytes) -> bool:
    """Do the first bytes a port sent start as a TLS record would (a record type 20-23 and
    major version 3)? Empty: nothing to judge, so yes."""
    if not data:
        return True
    return data[0] in _RECORD_TYPES and (len(data) < 2 or data[1] == 3)


def classify(exc: BaseException, progress: Progress) -> tuple[TlsOutcome, str]:
    """Name the outcome of a failed session and say why in a short text."""
    if progress.received and not looks_like_tls(progress.received):
        return "not_tls", f"the port answered in plain text, not TLS: b'{quote(progress.received)}'"
    if isinstance(exc, NotOffered) and exc.protocol == "mysql":
        if exc.answer == b"N":
            return "not_offered", "the greeting lacks CLIENT_SSL: the server does not offer TLS"
        got = f"b'{quote(exc.answer)}'" if exc.answer else "nothing (closed)"
        return "error", f"no mysql greeting to switch to TLS from: {got}"
    if isinstance(exc, NotOffered):
        if exc.answer == b"N":
            return "not_offered", "SSLRequest answered 'N': the server does not offer TLS"
        got = f"b'{quote(exc.answer)}'" if exc.answer else "nothing (closed)"
        return "error", f"SSLRequest answered {got}, not 'S'"
    if isinstance(exc, TimeoutError):
        if progress.connected is None:
            return "timeout", "no connection before the deadline"
        if not progress.received:
            return "timeout", "no answer to the TLS ClientHello before the deadline"
        return "timeout", "TLS handshake not complete before the deadline"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "tls_error", f"certificate verify failed: {exc.verify_message}"
    if isinstance(exc, ssl.SSLEOFError) or (
        progress.tls_started is not None
        and isinstance(exc, ConnectionResetError | ConnectionAbortedError | BrokenPipeError)
    ):
        return "closed", "the server closed the connection during the TLS handshake"
    if isinstance(exc, ssl.SSLError):
        reason = getattr(exc, "reason", None) or str(exc)
        return "tls_error", f"TLS handshake failed: {reason}"
    if isinstance(exc, OSError):
        return "error", os_error_text(exc)
    return "error", f"{type(exc).__name__}: {exc}"


def _ms(end: float | None, begin: float | None) -> float | None:
    if end is None or begin is None:
        return None
    return round((end - begin) * 1000.0, 2)


async def tls_exchange(
    address: str,
    port: int,
    *,
    name: str,
    deadline: Deadline,
    options: HttpOptions | None = None,
    preface: ServiceProtocol | None = None,
    inside: ServiceProtocol | None = None,
) -> TlsExchange:
    """Connect to address:port, speak the preface when there is one, and make the TLS
    handshake with SNI `name`, verified against the system store, `--cacert` (options.ca_pem)
    or not at all (-k), then the first exchange of `inside` in the session (rediss: PING),
    all before `deadline`. Never raises for network outcomes."""
    from netdx.probes.http import tls_context

    opts = options if options is not None else HttpOptions()
    verify = not opts.insecure
    ctx = tls_context(verify=verify, ca_pem=opts.ca_pem)
    progress = Progress(start=time.monotonic())
    budget_ms = round(deadline.remaining() * 1000.0, 2)

    def evidence(
        outcome: TlsOutcome, error: str | None, tls: TlsDetails | None = None
    ) -> TlsExchange:
        connected = progress.connected
        return TlsExchange(
            address=address,
            port=port,
            outcome=outcome,
            error=error,
            preface=preface,
            # The ServerHello of a handshake that worked says nothing the details do not.
            received=quote(progress.received) if outcome != "ok" else "",
            connect_ms=_ms(connected, progress.start),
            tls_ms=_ms(progress.done, progress.tls_started),
            total_ms=_ms(time.monotonic(), progress.start),
            budget_ms=budget_ms,
            tls=tls,
        )

    spoken: list[ServiceHandshake] = []

    async def speak(channel: TlsChannel) -> None:
        if inside is not None:
            spoken.append(
                await handshake_inside(channel, inside, address, port, deadline=deadline)
            )

    try:
        async with asyncio.timeout(deadline.remaining()):
            session = await open_session(
                address, port, ctx=ctx, name=name, progress=progress, preface=preface,
                then=speak,
            )  # fmt: skip
    except (TimeoutError, OSError) as exc:
        outcome, error = classify(exc, progress)
        failure = verification_error(exc)
        if failure is None:
            return evidence(outcome, error)
        seen = await peek_certificate(
            address, port, name_asked=name, failure=failure, deadline=deadline, preface=preface
        )
        return evidence(outcome, error, tls=replace(seen, ca_file=opts.ca_file))
    details = tls_details(session, name_asked=name, verified=verify)
    ok = evidence("ok", None, tls=replace(details, ca_file=opts.ca_file, skipped=not verify))
    return replace(ok, handshake=spoken[0] if spoken else None)
