"""Issue 10: a trickling body was headlined "sent no HTTP response within 4677 ms" beside
"first byte after 1.74 ms". The exchange below is the one a loopback server that sends its
headers, then one body byte every 0.5 s, gave `netdx check --timeout 3`."""

from __future__ import annotations

from dataclasses import replace

import evidence_cases as c

from netdx.diagnose import service
from netdx.model import CheckEvidence


def _trickled() -> CheckEvidence:
    head = c.HTTP_TIMEOUT.addresses[0]
    assert head.http is not None
    http = replace(head.http, status=200, reason="OK", first_byte_ms=2.58, total_ms=2806.1,
                   error="body not complete at the deadline (6 bytes read)")
    return replace(c.HTTP_TIMEOUT, addresses=(replace(head, http=http),))


def test_a_stalled_body_is_not_no_response() -> None:
    """Headers came (HTTP 200 after 2.58 ms): the headline says the body did not complete,
    the evidence keeps the first byte and the bytes read."""
    f = service.http_timeout(_trickled())
    assert f is not None and f.cause == "service.http_timeout"
    assert "answered HTTP 200 but its body did not complete within 2806 ms" in f.summary
    assert "no HTTP response" not in f.summary
    assert any("first byte after 2.58 ms" in e and "6 bytes read" in e for e in f.evidence)


def test_silence_is_still_no_response() -> None:
    """No byte at all: the headline stays "sent no HTTP response"."""
    f = service.http_timeout(c.HTTP_TIMEOUT)
    assert f is not None and "sent no HTTP response within 2000 ms" in f.summary


def test_an_unanswered_tls_handshake_is_named() -> None:
    """https:// to a port that waits for plain HTTP: the ClientHello gets no answer; the
    headline says the TLS handshake was never answered, not "no HTTP response"."""
    head = c.HTTP_TIMEOUT.addresses[0]
    assert head.http is not None
    http = replace(head.http, error="TLS handshake not complete before the deadline")
    f = service.http_timeout(replace(c.HTTP_TIMEOUT, addresses=(replace(head, http=http),)))
    assert f is not None
    assert "never answered the TLS handshake within 2000 ms" in f.summary
    assert "no HTTP response" not in f.summary


def test_a_plain_text_reply_to_tls_says_so() -> None:
    """A plain-HTTP server answers the ClientHello with text (OpenSSL: WRONG_VERSION_NUMBER):
    service.tls_error says the port answered in plain text."""
    head = c.HTTP_TIMEOUT.addresses[0]
    assert head.http is not None
    http = replace(head.http, outcome="tls_error",
                   error="TLS handshake failed: WRONG_VERSION_NUMBER")
    f = service.tls_error(replace(c.HTTP_TIMEOUT, addresses=(replace(head, http=http),)))
    assert f is not None and f.cause == "service.tls_error"
    assert "answered in plain text, not TLS" in f.summary
