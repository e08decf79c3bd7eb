"""The HTTP probe: one GET to one chosen address, with the URL's name for Host and TLS.

asyncio streams and `ssl` carry the bytes; h11 (the sans-I/O HTTP/1.1 state machine under
httpcore: pure Python, imported in milliseconds) parses them, so the probe costs no import
time inside a short budget (aiohttp's import alone took 0.3 s of it) and runs on a bare
python3 with h11 beside it.

Timings (milliseconds):

- `connect_ms`: the TCP connect alone (SYN to established).
- `tls_ms`: the TLS handshake alone, on the same connection (`StreamWriter.start_tls`).
- `first_byte_ms`: from the start until the status line and headers were parsed.
- `total_ms`: from the start until the body was read (at most the first 64 KiB).

Every outcome is data: ok (any HTTP status; the rules judge it), timeout, tls_error,
connect_error, protocol_error (the peer does not speak HTTP), error. One deadline bounds the
whole exchange, so a server trickling bytes is cut at it.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from netdx.budget import Deadline
from netdx.model.evidence import HttpExchange, HttpOutcome
from netdx.model.service import HttpOptions, TlsDetails
from netdx.netlink.errors import os_error_text
from netdx.probes import bind
from netdx.probes.tls import peek_certificate, tls_details, verification_error

if TYPE_CHECKING:
    from collections.abc import Callable

    import h11

BODY_LIMIT = 64 * 1024
READ_CHUNK = 16 * 1024
USER_AGENT = "netdx"


class _TimedContext(ssl.SSLContext):
    """An SSLContext that keeps the TLS object of the connection it wrapped (for the
    negotiated version afterwards)."""

    ssl_object: ssl.SSLObject | None = None

    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        self.ssl_object = super().wrap_bio(
            incoming, outgoing, server_side, server_hostname, session
        )
        return self.ssl_object


def tls_context(*, verify: bool, ca_pem: str | None = None) -> _TimedContext:
    """A client context like ssl.create_default_context() (with `ca_pem` instead of the
    system store when given, as curl --cacert), or one that checks nothing."""
    ctx = _TimedContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify and ca_pem is not None:
        ctx.load_verify_locations(cadata=ca_pem)
    elif verify:  # loading the system CA bundle takes ~20 ms: done before the clock starts
        ctx.load_default_certs()
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


@dataclass(slots=True)
class _Progress:
    """What one exchange has shown so far; kept when it fails half way (mutable on purpose:
    the exchange fills it in as it goes)."""

    start: float
    connect_start: float | None = None
    tls_started: float | None = None
    connected: float | None = None  # TCP, and TLS when asked: ready for the request
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
    options: HttpOptions | None = None,
) -> HttpExchange:
    """GET `url` from `address`:`port` (not from whatever `host` resolves to), without
    following redirects, reading at most the first 64 KiB of the body.

    The Host header, TLS SNI and certificate check use `host`. The whole exchange, connect
    to last byte, is bounded by the deadline. Never raises for network outcomes.
    """
    import h11

    opts = options if options is not None else HttpOptions()
    verify_tls = verify_tls and not opts.insecure
    https = url.lower().startswith("https:")
    ctx = tls_context(verify=verify_tls, ca_pem=opts.ca_pem) if https else None
    progress = _Progress(start=time.monotonic(), budget_ms=deadline.remaining() * 1000)
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(deadline.remaining()):
            progress.connect_start = time.monotonic()
            reader, writer = await bind.open_connection(address, port)
            if ctx is not None:
                progress.tls_started = time.monotonic()
                await writer.start_tls(ctx, server_hostname=host)
            progress.connected = time.monotonic()
            await _exchange(reader, writer, _request(url, host, opts), progress)
    except (TimeoutError, OSError, h11.ProtocolError, ValueError) as exc:
        outcome, error = classify_error(exc, progress)
        failure = verification_error(exc)
        tls = None
        if failure is not None:  # what does the certificate that failed say?
            tls = await peek_certificate(
                address, port, name_asked=host, failure=failure, deadline=deadline
            )
            tls = replace(tls, ca_file=opts.ca_file)
        return _exchange_evidence(url, address, progress, ctx, outcome, error, tls, opts)
    finally:
        if writer is not None:
            # Abort rather than close: a TLS close waits for the peer's close_notify.
            writer.transport.abort()
    tls = None
    if ctx is not None and ctx.ssl_object is not None:
        tls = tls_details(ctx.ssl_object, name_asked=host, verified=verify_tls)
        tls = replace(tls, ca_file=opts.ca_file, skipped=not verify_tls)
    return _exchange_evidence(url, address, progress, ctx, "ok", None, tls, opts)


def _request(url: str, host: str, opts: HttpOptions | None = None) -> h11.Request:
    """The request line and headers (GET unless --method; --header's after netdx's own,
    replacing User-Agent and Accept when they name them); Host is the URL's name (and port
    when not the scheme's own), even though the connection goes to a chosen address."""
    import h11

    # Here, not at the top: `netdx check` would otherwise load the collector's Host seam.
    from netdx.collect.probe_http import request_target

    target, name = request_target(url, host)
    opts = opts if opts is not None else HttpOptions()
    own = {k.lower() for k, _ in opts.headers}
    headers = [("Host", name)]
    headers += [(k, v) for k, v in (("User-Agent", USER_AGENT), ("Accept", "*/*"))
                if k.lower() not in own]  # fmt: skip
    headers += [*opts.headers, ("Connection", "close")]
    if opts.method in ("POST", "PUT", "PATCH"):
        headers.append(("Content-Length", "0"))  # no body: say so, or h11 refuses to end it
    return h11.Request(method=opts.method, target=target, headers=headers)


async def _exchange(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    request: h11.Request,
    progress: _Progress,
) -> None:
    """Send the request, read the response head and up to BODY_LIMIT bytes of the body."""
    parser = ResponseParser(request, progress)
    writer.write(parser.outgoing)
    await writer.drain()
    while not parser.done():
        parser.feed(await reader.read(READ_CHUNK))  # b"" at EOF


class ResponseParser:
    """One exchange's response side without I/O: h11 fed the bytes as they come, filling
    `progress`. `_exchange` feeds it from the connection, `netdx.remote.probe_http` from the
    bytes a source host recorded (with `clock` the time they arrived there), so a response
    is read by the same steps wherever the GET ran."""

    def __init__(
        self,
        request: h11.Request,
        progress: _Progress,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        import h11

        self._conn = h11.Connection(our_role=h11.CLIENT, max_incomplete_event_size=BODY_LIMIT)
        self.outgoing = self._conn.send(request) + (self._conn.send(h11.EndOfMessage()) or b"")
        self._progress = progress
        self._clock = clock
        self._first = b""

    def feed(self, data: bytes) -> None:
        """The next bytes read (b"" at EOF); NotHttpError as soon as they cannot begin an
        HTTP status line."""
        if self._progress.status is None and len(self._first) < len(_HTTP):
            self._first += data
            _check_status_line(self._first)
        self._conn.receive_data(data)

    def done(self) -> bool:
        """Parse what has come: True once the response is read (to its end, or BODY_LIMIT
        bytes of body), False while it needs more bytes."""
        import h11

        progress = self._progress
        while True:
            event = self._conn.next_event()
            if event is h11.NEED_DATA:
                return False
            if isinstance(event, h11.InformationalResponse):
                continue  # 100 Continue and friends: the real answer follows
            if isinstance(event, h11.Response):
                _note_head(event, progress, at=self._clock())
            elif isinstance(event, h11.Data):
                progress.body_bytes += len(event.data)
                if progress.body_bytes >= BODY_LIMIT:
                    return True
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                if progress.status is None:
                    raise ConnectionAbortedError("closed without an HTTP response")
                return True


_HTTP = b"HTTP/"


def _check_status_line(first: bytes) -> None:
    """A peer whose first bytes are not `HTTP/` does not speak HTTP: say so at once, with
    what it sent (h11 would wait for a blank line that an SSH or SMTP banner never sends)."""
    if first[: len(_HTTP)] != _HTTP[: len(first)]:
        line = first.split(b"\n", 1)[0].strip()[:60].decode("ascii", "backslashreplace")
        raise NotHttpError(f"not an HTTP response: {line!r}")


class NotHttpError(ValueError):
    """The peer answered, but not with HTTP."""


def _note_head(response: h11.Response, progress: _Progress, *, at: float) -> None:
    progress.headers = at
    progress.status = response.status_code
    progress.reason = response.reason.decode("latin-1") or None
    headers = {k.decode("latin-1").lower(): v for k, v in response.headers}
    server = headers.get("server")
    location = headers.get("location")
    progress.server = server.decode("latin-1") if server is not None else None
    progress.location = location.decode("latin-1") if location is not None else None


def classify_error(exc: BaseException, progress: _Progress) -> tuple[HttpOutcome, str]:
    """Name the outcome of a failed exchange and say why in a short text."""
    import h11

    if isinstance(exc, TimeoutError):
        return "timeout", _timeout_text(progress)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "tls_error", _certificate_text(exc)
    if isinstance(exc, ssl.SSLError):
        return "tls_error", _ssl_text(exc)
    if isinstance(exc, NotHttpError):
        return "protocol_error", str(exc)
    closed = isinstance(exc, ConnectionResetError | ConnectionAbortedError | BrokenPipeError) or (
        isinstance(exc, h11.ProtocolError) and "unexpectedly closed" in str(exc)
    )
    if progress.connected is not None and progress.status is not None:
        if closed or isinstance(exc, h11.ProtocolError):
            return "protocol_error", f"malformed body: {exc}"
    elif progress.connected is not None and closed:
        return "protocol_error", "the server closed the connection without an HTTP response"
    if isinstance(exc, h11.ProtocolError):
        return "protocol_error", f"not an HTTP response: {exc}"
    if isinstance(exc, OSError):
        if progress.connected is None and progress.tls_started is None:
            return "connect_error", os_error_text(exc)
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
    ctx: _TimedContext | None,
    outcome: HttpOutcome,
    error: str | None,
    tls: TlsDetails | None = None,
    opts: HttpOptions | None = None,
) -> HttpExchange:
    def ms(end: float | None, begin: float | None) -> float | None:
        if end is None or begin is None:
            return None
        return round((end - begin) * 1000.0, 2)

    tcp_end = progress.tls_started or progress.connected
    tls_object = ctx.ssl_object if ctx is not None and progress.connected else None
    return HttpExchange(
        url=url,
        address=address,
        outcome=outcome,
        status=progress.status,
        reason=progress.reason,
        error=error,
        connect_ms=ms(tcp_end, progress.connect_start),
        tls_ms=ms(progress.connected, progress.tls_started),
        first_byte_ms=ms(progress.headers, progress.start),
        total_ms=ms(time.monotonic(), progress.start),
        budget_ms=round(progress.budget_ms, 2) if progress.budget_ms is not None else None,
        tls_version=tls_object.version() if tls_object is not None else None,
        server=progress.server,
        location=progress.location,
        tls=tls,
        method=opts.method if opts is not None else "GET",
        expect_status=opts.expect_status if opts is not None else (),
    )
