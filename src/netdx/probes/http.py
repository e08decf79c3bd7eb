"""The HTTP probe: one GET to one chosen address, with the URL's name for Host and TLS.

Timings (milliseconds):

- `connect_ms`: the TCP connect alone (SYN to established).
- `tls_ms`: the TLS handshake alone, on the same connection. Measured honestly: asyncio
  creates the TLS object (`SSLContext.wrap_bio`) the moment the connected socket is handed
  to it, so a context subclass notes that instant; the handshake ends when aiohttp reports
  the connection created. No second connection is made.
- `first_byte_ms`: from the start until the status line and headers were parsed.
- `total_ms`: from the start until the body was read (at most the first 64 KiB).

Every outcome is data: ok (any HTTP status; the rules judge it), timeout, tls_error,
connect_error, protocol_error (the peer does not speak HTTP), error. aiohttp is imported
only when a probe runs.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from netdx.budget import Deadline
from netdx.model.evidence import HttpExchange, HttpOutcome
from netdx.netlink.errors import os_error_text

if TYPE_CHECKING:
    import aiohttp

BODY_LIMIT = 64 * 1024
USER_AGENT = "netdx"


class _TimedContext(ssl.SSLContext):
    """An SSLContext that notes when asyncio starts the TLS handshake with it."""

    handshake_started: float | None = None
    ssl_object: ssl.SSLObject | None = None  # gives the negotiated version afterwards

    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        self.handshake_started = time.monotonic()
        self.ssl_object = super().wrap_bio(
            incoming, outgoing, server_side, server_hostname, session
        )
        return self.ssl_object


def tls_context(*, verify: bool) -> _TimedContext:
    """A client context like ssl.create_default_context(), or one that checks nothing."""
    ctx = _TimedContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:  # loading the system CA bundle takes ~20 ms: done before the clock starts
        ctx.load_default_certs()
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


@dataclass(slots=True)
class _Progress:
    """What one exchange has shown so far; kept when it fails half way (mutable on purpose:
    the trace callbacks and the request fill it in as they go)."""

    start: float
    connect_start: float | None = None
    tls_started: float | None = None
    connected: float | None = None
    headers: float | None = None
    status: int | None = None
    reason: str | None = None
    server: str | None = None
    location: str | None = None
    body_bytes: int = 0
    budget_ms: float | None = None


async def http_get(
    url: str,
    *,
    host: str,
    address: str,
    port: int,
    deadline: Deadline,
    verify_tls: bool = True,
) -> HttpExchange:
    """GET `url` from `address`:`port` (not from whatever `host` resolves to), without
    following redirects, reading at most the first 64 KiB of the body.

    The Host header, TLS SNI and certificate check use `host`. Bounded twice by the
    deadline: aiohttp's total timeout, and an outer asyncio timeout that also stops a
    server trickling bytes. Never raises for network outcomes.
    """
    import aiohttp

    ctx = tls_context(verify=verify_tls and url.lower().startswith("https:"))
    progress = _Progress(start=time.monotonic(), budget_ms=deadline.remaining() * 1000)
    try:
        async with _session(address, port, progress, deadline) as session:
            async with asyncio.timeout(deadline.remaining()):
                await _exchange(session, url, host, ctx, progress)
    except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
        progress.tls_started = ctx.handshake_started
        outcome, error = classify_error(exc, progress)
        return _exchange_evidence(url, address, progress, ctx, outcome, error)
    return _exchange_evidence(url, address, progress, ctx, "ok", None)


def _session(
    address: str, port: int, progress: _Progress, deadline: Deadline
) -> aiohttp.ClientSession:
    import aiohttp

    async def on_create_start(*_: Any) -> None:
        progress.connect_start = time.monotonic()

    async def on_create_end(*_: Any) -> None:
        progress.connected = time.monotonic()

    trace = aiohttp.TraceConfig()
    trace.on_connection_create_start.append(on_create_start)
    trace.on_connection_create_end.append(on_create_end)
    connector = aiohttp.TCPConnector(
        resolver=_pinned_resolver(address, port), use_dns_cache=False, limit=1
    )
    return aiohttp.ClientSession(
        connector=connector,
        # total=0 would mean "no timeout" to aiohttp: keep it positive.
        timeout=aiohttp.ClientTimeout(total=max(deadline.remaining(), 0.001)),
        trace_configs=[trace],
        headers={"User-Agent": USER_AGENT},
    )


async def _exchange(
    session: aiohttp.ClientSession,
    url: str,
    host: str,
    ctx: ssl.SSLContext,
    progress: _Progress,
) -> None:
    from yarl import URL

    parsed = URL(url)
    headers = {}
    if parsed.host != host:  # a URL with an address in it: still speak to the name
        name = f"[{host}]" if ":" in host else host
        headers["Host"] = name if parsed.is_default_port() else f"{name}:{parsed.port}"
    tls_name = host if parsed.scheme == "https" else None
    async with session.get(
        url, allow_redirects=False, ssl=ctx, server_hostname=tls_name, headers=headers
    ) as response:
        progress.headers = time.monotonic()
        progress.status = response.status
        progress.reason = response.reason
        progress.server = response.headers.get("Server")
        progress.location = response.headers.get("Location")
        # None when aiohttp already released a connection whose body was complete.
        transport = response.connection.transport if response.connection else None
        try:
            while progress.body_bytes < BODY_LIMIT:
                chunk = await response.content.read(BODY_LIMIT - progress.body_bytes)
                if not chunk:
                    break
                progress.body_bytes += len(chunk)
        finally:
            # Abort rather than close: a TLS close waits for the peer's close_notify, and a
            # transport still open when the loop ends warns "unclosed transport".
            if transport is not None:
                transport.abort()


def _pinned_resolver(address: str, pinned_port: int) -> Any:
    """An aiohttp resolver that answers every lookup with `address`:`port`."""
    from aiohttp.abc import AbstractResolver, ResolveResult

    pinned_family = (
        socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    )

    class PinnedResolver(AbstractResolver):
        async def resolve(
            self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
        ) -> list[ResolveResult]:
            # The URL's port is ignored on purpose: the caller names the port to probe.
            return [
                ResolveResult(
                    hostname=host,
                    host=address,
                    port=pinned_port,
                    family=pinned_family,
                    proto=0,
                    flags=socket.AI_NUMERICHOST,
                )
            ]

        async def close(self) -> None:
            return None

    return PinnedResolver()


def classify_error(exc: BaseException, progress: _Progress) -> tuple[HttpOutcome, str]:
    """Name the outcome of a failed exchange and say why in a short text."""
    import aiohttp

    if isinstance(exc, TimeoutError):
        return "timeout", _timeout_text(progress)
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return "tls_error", _certificate_text(exc.certificate_error)
    if isinstance(exc, aiohttp.ClientConnectorSSLError | aiohttp.ClientSSLError | ssl.SSLError):
        return "tls_error", _ssl_text(exc)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "connect_error", os_error_text(exc.os_error)
    if isinstance(exc, aiohttp.ClientResponseError):
        return "protocol_error", f"not an HTTP response: {exc.message}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "protocol_error", "the server closed the connection without an HTTP response"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "protocol_error", f"malformed body: {exc}"
    if isinstance(exc, OSError):
        return "error", os_error_text(exc)
    return "error", f"{type(exc).__name__}: {exc}"


def _timeout_text(progress: _Progress) -> str:
    if progress.status is not None:
        return f"body not complete at the deadline ({progress.body_bytes} bytes read)"
    if progress.connected is not None:
        return "no complete response headers before the deadline"
    if progress.tls_started is not None:
        return "TLS handshake not complete before the deadline"
    return "no connection before the deadline"


def _certificate_text(cert_error: Exception) -> str:
    if isinstance(cert_error, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {cert_error.verify_message}"
    return f"certificate error: {cert_error}"


def _ssl_text(exc: BaseException) -> str:
    inner = getattr(exc, "os_error", exc)
    if isinstance(inner, ssl.SSLCertVerificationError):
        return _certificate_text(inner)
    reason = getattr(inner, "reason", None) or str(inner)
    return f"TLS handshake failed: {reason}"


def _exchange_evidence(
    url: str,
    address: str,
    progress: _Progress,
    ctx: _TimedContext,
    outcome: HttpOutcome,
    error: str | None,
) -> HttpExchange:
    def ms(end: float | None, begin: float | None) -> float | None:
        if end is None or begin is None:
            return None
        return round((end - begin) * 1000.0, 2)

    tcp_end = ctx.handshake_started or progress.connected
    return HttpExchange(
        url=url,
        address=address,
        outcome=outcome,
        status=progress.status,
        reason=progress.reason,
        error=error,
        connect_ms=ms(tcp_end, progress.connect_start),
        tls_ms=ms(progress.connected, ctx.handshake_started),
        first_byte_ms=ms(progress.headers, progress.start),
        total_ms=ms(time.monotonic(), progress.start),
        budget_ms=round(progress.budget_ms, 2) if progress.budget_ms is not None else None,
        tls_version=ctx.ssl_object.version() if ctx.ssl_object and progress.connected else None,
        server=progress.server,
        location=progress.location,
    )
