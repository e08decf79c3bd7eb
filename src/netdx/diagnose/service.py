"""Service rules: the port answers, but is it the service the client expects?

Two kinds: a listener on one address family only (the client tries the other family
first), and an HTTP exchange that fails after the TCP connection worked.
"""

from __future__ import annotations

from netdx.diagnose.facts import (
    UNREACHABLE_KINDS,
    connected_text,
    endpoint,
    failure,
    family_fallback,
    family_name,
    first,
    ms,
    tcp_text,
    used_exchange,
)
from netdx.diagnose.protocols import tls_session_text
from netdx.diagnose.shell import join, quote
from netdx.model import AddressEvidence, CheckEvidence, Finding, HttpExchange
from netdx.model.service import TlsExchange

_HTTP_SCHEMES = ("http", "https")


def _mismatch(ev: CheckEvidence, head_family: int) -> Finding | None:
    head = first(ev)
    other = family_fallback(ev)
    if head is None or other is None or head.family != head_family or head.tcp is None:
        return None
    tcp = head.tcp
    fam, other_fam = family_name(head.family), family_name(other.family)
    cause = f"service.ipv{head.family}_only_mismatch"
    order = ", ".join(a.address for a in ev.addresses)
    evidence = [
        f"the client tries {head.address} ({fam}) first (address order: {order})",
        tcp_text(tcp),
        tcp_text(other.tcp) if other.tcp is not None else f"{other.address} connected",
    ]
    ss = f"on the server: ss -tlnp 'sport = :{tcp.port}'"
    if tcp.outcome == "refused":
        why = f"it likely listens on {other_fam} only"
        fix = [
            f"{ss} (expect a listener on {'0.0.0.0' if head.family == 6 else '[::]'} only)",
            f"make the service listen on {fam} too ({'[::]' if head.family == 6 else '0.0.0.0'})",
        ]
    elif tcp.icmp is not None and tcp.icmp.kind in UNREACHABLE_KINDS:
        why = f"the {fam} path to the host is broken"
        ip = "ip -6" if head.family == 6 else "ip"
        addr = quote(head.address)
        fix = [f"{ip} route get {addr}", f"traceroute -{head.family} -n {addr}"]
    else:
        why = f"a firewall drops or rejects {fam} to port {tcp.port}"
        tool = "ip6tables -S" if head.family == 6 else "iptables -S"
        fix = [
            f"on the server: nft -a list ruleset (inet/ip{'6' if head.family == 6 else ''} "
            f"tables) or {tool}",
            ss,
        ]
    fix.append(f"or stop publishing the {fam} address for the name until the service serves it")
    summary = (
        f"{ev.target_host}:{tcp.port} is not reachable over {fam} ({head.address} "
        f"{tcp.outcome}) but {other_fam} {other.address} connected: {why}"
    )
    return failure(cause=cause, step="service", summary=summary, evidence=evidence, fix=fix)


def ipv6_only_mismatch(ev: CheckEvidence) -> Finding | None:
    """service.ipv6_only_mismatch: IPv6 (tried first) failed, IPv4 connected."""
    return _mismatch(ev, 6)


def ipv4_only_mismatch(ev: CheckEvidence) -> Finding | None:
    """service.ipv4_only_mismatch: IPv4 (tried first) failed, IPv6 connected."""
    return _mismatch(ev, 4)


def _used(ev: CheckEvidence) -> tuple[AddressEvidence, HttpExchange] | None:
    """The address the client ends up on (the first that connected) and its HTTP exchange."""
    if ev.scheme not in _HTTP_SCHEMES:
        return None
    return used_exchange(ev, lambda a: a.http)


def _curl(ev: CheckEvidence, a: AddressEvidence, http: HttpExchange, *options: str) -> str:
    """A curl command that repeats the exchange against the same address."""
    port = ev.port if ev.port is not None else 0
    addr = f"[{a.address}]" if ":" in a.address else a.address
    # Built as argv and quoted as shlex does: the URL is the user's text, and a printed fix is
    # pasted into a root shell, so it must never be able to run anything of its own.
    resolve = f"{ev.target_host}:{port}:{addr}"
    return join(("curl", "-sv", *options, "--resolve", resolve, http.url))


def http_text(http: HttpExchange) -> str:
    """One line quoting the HTTP exchange."""
    if http.status:
        status = f"HTTP {http.status} {http.reason or ''}".rstrip()
    else:
        status = f"{http.outcome} ({http.error})" if http.error else http.outcome
    timing = [f"total {ms(http.total_ms)}"] if http.total_ms is not None else []
    if http.first_byte_ms is not None:
        timing.insert(0, f"first byte {ms(http.first_byte_ms)}")
    server = f", Server: {http.server}" if http.server else ""
    extra = f" ({', '.join(timing)})" if timing else ""
    return f"{http.method} {http.url} via {http.address}: {status}{extra}{server}"


def status_ok(http: HttpExchange) -> bool:
    """Is the status a success: one of --expect-status, or below 400 without it?"""
    if http.status is None:
        return False
    return http.status in http.expect_status if http.expect_status else http.status < 400


def timings_text(ev: CheckEvidence, http: HttpExchange | TlsExchange) -> str:
    """The phases of the exchange as curl -w shows them: name lookup (getaddrinfo, as the
    application does it), TCP connect and TLS handshake (each its own duration), first
    byte and total (from the start of the exchange); a phase that did not happen (no first
    byte for check --tls's handshake alone) is left out."""
    nss = ev.dns.nss if ev.dns is not None else None
    phases = [f"DNS {ms(nss.elapsed_ms)}" if nss is not None else "DNS none (an address)"]
    first_byte = http.first_byte_ms if isinstance(http, HttpExchange) else None
    for name, value in (
        ("connect", http.connect_ms),
        ("TLS", http.tls_ms),
        ("first byte at", first_byte),
        ("total", http.total_ms),
    ):
        if value is not None:
            phases.append(f"{name} {ms(value)}")
    return "timings: " + ", ".join(phases)


def _expected_text(http: HttpExchange) -> str:
    return ",".join(str(code) for code in http.expect_status)


def http_error(ev: CheckEvidence) -> Finding | None:
    """service.http_error: a status outside --expect-status fails; without it HTTP ≥ 400
    fails and a 3xx warns (the redirect is not followed)."""
    got = _used(ev)
    if got is None or got[1].outcome != "ok" or got[1].status is None:
        return None
    a, http = got
    code = http.status or 0
    evidence = [tcp_text(a.tcp), http_text(http)] if a.tcp is not None else [http_text(http)]
    if http.expect_status:
        if code in http.expect_status:
            return None
        expected = _expected_text(http)
        return failure(
            cause="service.http_error",
            summary=f"{http.method} {http.url} answered HTTP {code}, expected {expected}",
            evidence=(
                *evidence,
                *((tls_session_text(http.tls),) if http.tls is not None else ()),
                f"expected status: {expected} (--expect-status)",
                timings_text(ev, http),
            ),
            fix=(
                f"repeat it: {_curl(ev, a, http, *_curl_method(http), *_curl_trust(http))}",
                "check the path, the method, the headers and any credentials the URL needs",
            ),
        )
    if code < 300:
        return None
    if code < 400:
        target = http.location or "an unstated location"
        return Finding(
            cause="service.http_error",
            severity="warn",
            step="service",
            summary=f"HTTP {code} redirects to {target} (not followed)",
            evidence=(*evidence, f"Location: {http.location}" if http.location else "no Location"),
            fix=(f"check the redirect: {_curl(ev, a, http)}", "point the client at the final URL"),
        )
    if code >= 500:
        summary = f"the service is failing: HTTP {code} from {http.url}"
        fix = ("check the service's logs and its backends (database, upstreams)",)
    else:
        summary = f"unexpected status for {http.url}: HTTP {code}"
        fix = ("check the path, the Host header and any credentials the URL needs",)
    return failure(
        cause="service.http_error",
        step="service",
        summary=summary,
        evidence=evidence,
        fix=(f"repeat it: {_curl(ev, a, http)}", *fix),
    )


def _curl_trust(http: HttpExchange) -> tuple[str, ...]:
    """curl's words for the trust the check used (-k, --cacert FILE)."""
    if http.tls is None:
        return ()
    if http.tls.skipped:
        return ("-k",)
    return ("--cacert", http.tls.ca_file) if http.tls.ca_file else ()


def _curl_method(http: HttpExchange) -> tuple[str, ...]:
    if http.method == "HEAD":
        return ("-I",)
    return ("-X", http.method) if http.method != "GET" else ()


def tls_error(ev: CheckEvidence) -> Finding | None:
    """service.tls_error: the TLS handshake failed after TCP connected."""
    got = _used(ev)
    if got is None or got[1].outcome != "tls_error":
        return None
    a, http = got
    port = ev.port if ev.port is not None else 443
    return failure(
        cause="service.tls_error",
        summary=f"TLS with {endpoint(a.address, port)} failed: {http.error or 'handshake error'}"
        + _plain_text_hint(http.error),
        evidence=(connected_text(a), f"TLS: {http.error or '?'}"),
        fix=(
            "inspect the certificate: openssl s_client -connect "
            f"{quote(endpoint(a.address, port))} "
            f"-servername {quote(ev.target_host)}",
            "check the certificate's names and chain, and the client's CA bundle",
        ),
    )


def _plain_text_hint(error: str | None) -> str:
    """OpenSSL's WRONG_VERSION_NUMBER is a reply that is not TLS: usually plain HTTP."""
    if error and "WRONG_VERSION_NUMBER" in error:
        return " (the port answered in plain text, not TLS: a plain-HTTP port? try http://)"
    return ""


# A server that sends nothing for this long is not answering; a shorter wait that ended
# because the command's budget did says nothing about the server.
HTTP_PATIENCE_MS = 1000.0


def budget_ran_out(http: HttpExchange) -> bool:
    """The exchange timed out, but only because the budget left it less than
    HTTP_PATIENCE_MS to wait: no cause can be claimed."""
    return (
        http.outcome == "timeout"
        and http.budget_ms is not None
        and http.budget_ms < HTTP_PATIENCE_MS
    )


def http_timeout(ev: CheckEvidence) -> Finding | None:
    """service.http_timeout: TCP connected, the HTTP response never (fully) came."""
    got = _used(ev)
    if got is None or got[1].outcome != "timeout" or budget_ran_out(got[1]):
        return None
    a, http = got
    first_byte = (
        f"first byte after {ms(http.first_byte_ms)}, then stalled"
        if http.first_byte_ms is not None
        else "not a single byte of response"
    )
    waited = f" within {ms(http.total_ms)}" if http.total_ms is not None else ""
    port = ev.port if ev.port is not None else 0
    summary = f"{endpoint(a.address, port)} accepts connections but sent no HTTP response{waited}"
    if http.error and http.error.startswith("TLS handshake not complete"):
        # https:// to a port that waits for plain HTTP: the ClientHello gets no answer.
        summary = (f"{endpoint(a.address, port)} accepts connections but never answered the "
                   f"TLS handshake{waited}: a plain-HTTP port? (try http://)")
    elif http.status is not None:
        # The status line and headers came: a trickling or stalled body, not a silent app.
        summary = (f"{endpoint(a.address, port)} answered HTTP {http.status} but its body did "
                   f"not complete{waited}")
        if http.error:
            first_byte += f"; {http.error}"
    return failure(
        cause="service.http_timeout",
        summary=summary,
        evidence=(connected_text(a), f"GET {http.url}: {first_byte}"),
        fix=(
            f"repeat it with a deadline: {_curl(ev, a, http, '--max-time', '10')}",
            f"on the server: ss -tnp 'sport = :{port}' (a growing Recv-Q: the app is not reading)",
            "check the application's workers and logs: it accepts but never answers",
        ),
    )


def http_failed(ev: CheckEvidence) -> Finding | None:
    """service.http_failed: the HTTP exchange failed otherwise after TCP connected."""
    got = _used(ev)
    if got is None or got[1].outcome not in ("connect_error", "protocol_error", "error"):
        return None
    a, http = got
    return failure(
        cause="service.http_failed",
        summary=f"the HTTP exchange with {a.address} failed: {http.outcome} "
        f"({http.error or 'no detail'})",
        evidence=(connected_text(a), http_text(http)),
        fix=(
            f"repeat it: {_curl(ev, a, http)}",
            "is the service on this port really HTTP (and http vs https)?",
        ),
    )
