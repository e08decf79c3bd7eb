"""A source host's HTTP exchange (`netdx.collect.probe_http`'s raw facts), read back here
as the `HttpExchange` the local probe (`netdx.probes.http`) would have made of it.

The source kept the bytes as they arrived, each chunk with its time; they are replayed
through the local probe's own parser (`ResponseParser`: h11 and its checks), and a
failure the source met is rebuilt as the exception the local probe would have caught
(a timeout, an OSError with its errno, a certificate or TLS error) and named by the local
probe's `classify_error`. So "HTTP 503", "not an HTTP response" and "certificate verify
failed" read the same from a source host as from here.
"""

from __future__ import annotations

import errno as _errno
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from netdx.remote import checks as c
from netdx.remote.checks import DocumentError

if TYPE_CHECKING:
    from netdx.model import HttpExchange
    from netdx.model.evidence import HttpOutcome
    from netdx.probes.http import _Progress

__all__ = ["http_exchange"]

_CHUNKS = 64
_CHUNK_HEX = 2 * 16 * 1024


def http_exchange(raw: object, *, url: str, host: str, address: str) -> HttpExchange | None:
    """The exchange of one flow's `http` facts (None: the source made none)."""
    import h11

    from netdx.model import HttpExchange
    from netdx.probes.http import _Progress, classify_error

    if raw is None:
        return None
    facts = c.mapping(raw, "probe.http")
    if c.opt_address(facts.get("address"), "probe.http.address") != address:
        raise DocumentError("probe.http: answers another address")
    progress = _Progress(
        start=0.0,
        connect_start=_seconds(facts, "connect_start_ms"),
        tls_started=_seconds(facts, "tls_started_ms"),
        connected=_seconds(facts, "connected_ms"),
        budget_ms=_seconds(facts, "budget_ms", scale=1.0),
    )
    end = _seconds(facts, "end_ms") or 0.0
    # Read every fact before the replay: a malformed one is the document's fault (a
    # DocumentError), never an exchange outcome.
    chunks = _chunks(facts, end)
    failure = _rebuilt(facts.get("error"))
    outcome: HttpOutcome = "ok"
    error: str | None = None
    try:
        end = _replay(chunks, failure, url, host, progress)
    except (TimeoutError, OSError, h11.ProtocolError, ValueError) as exc:
        outcome, error = classify_error(exc, progress)
    except _Other as exc:
        outcome, error = "error", str(exc)

    def ms(at: float | None, begin: float | None) -> float | None:
        return None if at is None or begin is None else round((at - begin) * 1000.0, 2)

    tcp_end = progress.tls_started or progress.connected
    version = c.opt_text(facts.get("tls_version"), "probe.http.tls_version", limit=32)
    return HttpExchange(
        url=url, address=address, outcome=outcome, status=progress.status,
        reason=progress.reason, error=error, connect_ms=ms(tcp_end, progress.connect_start),
        tls_ms=ms(progress.connected, progress.tls_started),
        first_byte_ms=ms(progress.headers, progress.start), total_ms=ms(end, progress.start),
        budget_ms=progress.budget_ms, tls_version=version if progress.connected else None,
        server=progress.server, location=progress.location,
    )  # fmt: skip


class _Other(Exception):
    """A failure on the source that is none of the kinds the local probe classifies."""


def _seconds(facts: Mapping[str, Any], key: str, *, scale: float = 1000.0) -> float | None:
    value = facts.get(key)
    return None if value is None else c.number(value, f"probe.http.{key}") / scale


def _chunks(facts: Mapping[str, Any], end: float) -> list[tuple[float, bytes]]:
    """The bytes as they came, with their times in seconds; EOF as an empty last chunk."""
    out = []
    for item in c.item_list(facts.get("chunks", []), "probe.http.chunks", limit=_CHUNKS):
        pair = c.item_list(item, "probe.http.chunks[]", limit=2)
        if len(pair) != 2:
            raise DocumentError("probe.http.chunks[]: expected [at_ms, hex]")
        text = c.text(pair[1], "probe.http.chunks[]", limit=_CHUNK_HEX)
        try:
            data = bytes.fromhex(text)
        except ValueError:
            raise DocumentError("probe.http.chunks[]: not hex") from None
        out.append((c.number(pair[0], "probe.http.chunks[]") / 1000.0, data))
    if c.boolean(facts.get("eof", False), "probe.http.eof"):
        out.append((end, b""))
    return out


def _replay(
    chunks: list[tuple[float, bytes]],
    failure: BaseException,
    url: str,
    host: str,
    progress: _Progress,
) -> float:
    """The local probe's `_exchange` over the recorded bytes: when the response was
    complete (seconds from the start), or the exception the exchange ended with."""
    from netdx.probes.http import ResponseParser, _request

    now = progress.connected or 0.0
    # The clock reads `now` as the replay moves it: a head's time is when the source read it.
    parser = ResponseParser(_request(url, host), progress, clock=lambda: now)
    feed = iter(chunks)
    while not parser.done():
        got = next(feed, None)
        if got is None:
            raise failure
        now, data = got
        parser.feed(data)
    return now


def _rebuilt(raw: object) -> BaseException:
    """The exception the local probe would have caught for the source's failure."""
    import ssl

    if raw is None:
        # The source stopped reading (its limits) where the parser wants more.
        return _Other("the source stopped reading before the response was complete")
    failure = c.mapping(raw, "probe.http.error")
    kind = failure.get("kind")
    words = c.text(failure.get("text", ""), "probe.http.error.text", limit=512)
    if kind == "timeout":
        return TimeoutError(words)
    if kind == "cert":
        cert = ssl.SSLCertVerificationError(1, words)
        cert.verify_message = c.text(failure.get("verify_message", words),
                                     "probe.http.error.verify_message", limit=512)  # fmt: skip
        return cert
    if kind == "tls":
        tls = ssl.SSLError(1, words)
        tls.reason = c.text(failure.get("reason", words), "probe.http.error.reason", limit=512)
        return tls
    if kind == "os":
        name = c.text(failure.get("errno", ""), "probe.http.error.errno", limit=32)
        code = getattr(_errno, name, None) if name.startswith("E") else None
        if isinstance(code, int):
            return OSError(code, c.text(failure.get("strerror", words), "probe.http", limit=256))
        return OSError(words)
    if kind == "other":
        return _Other(words)
    raise DocumentError(f"probe.http.error.kind: {c.short(kind)}")
