"""The service rules (diagnose/service.py): family mismatches and the HTTP/TLS outcomes."""

from __future__ import annotations

import evidence_cases as c

from netdx.diagnose import service
from netdx.model import (
    Finding,
)


def _text(f: Finding) -> str:
    return "\n".join((f.summary, *f.evidence, *f.fix))


def test_ipv6_only_mismatch() -> None:
    """::1 refused, 127.0.0.1 connected: the service listens on IPv4 only."""
    f = service.ipv6_only_mismatch(c.IPV6_MISMATCH)
    assert f is not None and f.severity == "fail" and f.step == "service"
    assert "listens on IPv4 only" in f.summary
    assert service.ipv4_only_mismatch(c.IPV6_MISMATCH) is None


def test_ipv4_only_mismatch() -> None:
    """127.0.0.1 (tried first) refused, ::1 connected: the mirror cause."""
    f = service.ipv4_only_mismatch(c.IPV4_MISMATCH)
    assert f is not None and f.cause == "service.ipv4_only_mismatch"
    assert service.ipv6_only_mismatch(c.IPV4_MISMATCH) is None


def test_mismatch_by_timeout_blames_a_firewall() -> None:
    """An IPv6 timeout with IPv4 connecting points at the IPv6 firewall, not the bind."""
    f = service.ipv6_only_mismatch(c.IPV6_MISMATCH_TIMEOUT)
    assert f is not None and "firewall" in f.summary and "ip6tables -S" in _text(f)


def test_mismatch_quiet_for_same_family_or_all_failed() -> None:
    """Two IPv4 addresses, or both families failing, is no family mismatch."""
    assert service.ipv6_only_mismatch(c.REFUSED_FALLBACK) is None
    assert service.ipv4_only_mismatch(c.REFUSED_FALLBACK) is None
    both = c._localhost("refused", "refused", c.LOCALHOST_ORDER)
    assert service.ipv6_only_mismatch(both) is None


def test_http_5xx_is_a_failing_service() -> None:
    """HTTP 503 fails the service step with the status, Server header and a curl to repeat it."""
    f = service.http_error(c.HTTP_500)
    assert f is not None and f.severity == "fail" and "failing: HTTP 503" in f.summary
    assert "Server: nginx/1.22.1" in _text(f)
    assert "curl -sv --resolve web.lab.example:80:10.0.2.8" in _text(f)


def test_http_4xx_is_an_unexpected_status() -> None:
    """HTTP 404 fails as an unexpected status for the URL."""
    f = service.http_error(c.HTTP_404)
    assert f is not None and "unexpected status" in f.summary


def test_http_3xx_warns_where_it_redirects() -> None:
    """HTTP 301 warns and says where the redirect points."""
    f = service.http_error(c.HTTP_301)
    assert f is not None and f.severity == "warn"
    assert "https://web.lab.example/health" in f.summary


def test_http_rules_quiet_on_success_and_plain_tcp() -> None:
    """A 200, or a non-HTTP target, gives no service finding."""
    rules = (service.http_error, service.tls_error, service.http_timeout, service.http_failed)
    for rule in rules:
        assert rule(c.OK_HTTP) is None
        assert rule(c.OK_PORT) is None


def test_tls_error() -> None:
    """A failed handshake is service.tls_error with the error and an openssl command."""
    f = service.tls_error(c.TLS_ERROR)
    assert f is not None and "CERTIFICATE_VERIFY_FAILED" in f.summary
    assert any("openssl s_client" in x for x in f.fix)


def test_http_timeout() -> None:
    """A connection that never gets a response byte is service.http_timeout."""
    f = service.http_timeout(c.HTTP_TIMEOUT)
    assert f is not None and "not a single byte" in _text(f) and "2000 ms" in f.summary


def test_http_failed() -> None:
    """A non-HTTP answer after TCP connected is service.http_failed with the error."""
    f = service.http_failed(c.HTTP_FAILED)
    assert f is not None and "SSH-2.0" in _text(f)


def test_http_timeout_within_a_short_budget_is_unknown_not_a_cause() -> None:
    """A healthy server cannot answer within the 1.4 ms a nearly spent budget left the
    exchange: the service step is unknown with the reason and the verdict claims no cause;
    the same silence over a 3 s wait is service.http_timeout."""
    from dataclasses import replace

    from netdx.diagnose import diagnose

    head = c.HTTP_TIMEOUT.addresses[0]
    assert head.http is not None
    short = replace(head.http, total_ms=1.41, budget_ms=1.4)
    steps, verdict = diagnose(replace(c.HTTP_TIMEOUT, addresses=(replace(head, http=short),)))
    assert verdict.cause == "unknown"
    assert steps[4].status == "unknown"
    assert steps[4].summary.startswith("the budget ran out 1.41 ms into the HTTP exchange")
    long = replace(head.http, budget_ms=3000.0)
    _, patient = diagnose(replace(c.HTTP_TIMEOUT, addresses=(replace(head, http=long),)))
    assert patient.cause == "service.http_timeout"
