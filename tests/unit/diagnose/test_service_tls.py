"""The rules and texts of `check --tls` on ports that are not https://, on evidence literals
(tls_port_cases.py): what each verdict says and proposes."""

from __future__ import annotations

import ssl

import evidence_cases as c

from netdx.diagnose import diagnose
from netdx.diagnose.service_tls import tls_step
from netdx.probes.tls import NotOffered, Progress
from netdx.probes.tlsport import classify, looks_like_tls


def test_ok_names_the_session_and_the_phases() -> None:
    """A good handshake: the summary says TLS ok and verified; the evidence carries the
    certificate and a timings line with connect and TLS."""
    steps, verdict = diagnose(c.TLS_PORT_OK)
    assert verdict.cause == "ok"
    assert "TLS ok: TLSv1.3, certificate verified" in verdict.summary
    assert any(e.startswith("TLS: TLSv1.3") and "CN=web.lab.example" in e for e in verdict.evidence)
    (timing,) = [e for e in verdict.evidence if e.startswith("timings:")]
    assert "connect 0.4" in timing and "TLS 2.1" in timing and "first byte" not in timing
    service = next(s for s in steps if s.layer == "service")
    assert service.status == "pass" and service.evidence.tls


def test_untrusted_proposes_the_same_check_with_a_ca() -> None:
    """tcp://… --tls with a self-signed certificate: the fix repeats the check with --tls
    and --cacert, not an https:// URL that the port does not serve."""
    _, verdict = diagnose(c.TLS_PORT_UNTRUSTED)
    assert verdict.cause == "service.tls_untrusted"
    assert any("netdx check tcp://web.lab.example:993 --tls --cacert CA.pem" in f
               for f in verdict.fix)  # fmt: skip


def test_plain_text_quotes_the_banner() -> None:
    """A port that answered in plain text: it speaks no TLS, the banner is quoted once, and
    the fix asks whether this is the TLS port (or a STARTTLS protocol)."""
    _, verdict = diagnose(c.TLS_PORT_PLAIN)
    assert verdict.cause == "service.tls_error"
    assert "does not speak TLS" in verdict.summary
    assert sum("IMAP4rev1" in e for e in verdict.evidence) == 1
    assert any("-starttls" in f for f in verdict.fix)


def test_silence_is_judged_only_after_a_fair_wait() -> None:
    """A ClientHello left unanswered for the full wait fails; one cut short by the budget
    is unknown, with the step saying to raise --timeout."""
    assert diagnose(c.TLS_PORT_SILENT)[1].cause == "service.tls_error"
    _, verdict = diagnose(c.TLS_PORT_SILENT_SHORT)
    assert verdict.cause == "unknown"
    tls = c.TLS_PORT_SILENT_SHORT.addresses[0].tls
    assert tls is not None and tls_step(tls)[0] == "unknown"


def test_postgres_n_is_not_offered_with_the_server_fix() -> None:
    """postgres --tls answered 'N': service.tls_not_offered, the fix turns ssl on and the
    confirmation speaks s_client's -starttls postgres."""
    _, verdict = diagnose(c.TLS_PORT_POSTGRES_N)
    assert verdict.cause == "service.tls_not_offered"
    assert any("ssl = on" in f for f in verdict.fix)
    assert any("-starttls postgres" in f for f in verdict.fix)


def test_looks_like_tls_reads_the_record_header() -> None:
    """A TLS record starts with a type 20-23 and version 3; a banner does not."""
    assert looks_like_tls(b"\x16\x03\x03\x00\x7a")
    assert looks_like_tls(b"\x15\x03\x01")
    assert looks_like_tls(b"")
    assert not looks_like_tls(b"SSH-2.0-OpenSSH_9.2\r\n")
    assert not looks_like_tls(b"HTTP/1.1 400 Bad Request\r\n")
    assert not looks_like_tls(b"\x16\x01")


def test_classify_names_each_way_a_session_ends() -> None:
    """Plain bytes win over OpenSSL's error; a close, a silence, postgres' 'N' and a
    verification failure each get their outcome."""
    plain = Progress(start=0.0, connected=0.1, tls_started=0.1, received=b"+OK ready\r\n")
    assert classify(ssl.SSLError(1, "wrong version number"), plain)[0] == "not_tls"
    started = Progress(start=0.0, connected=0.1, tls_started=0.1)
    assert classify(ConnectionAbortedError("closed"), started)[0] == "closed"
    assert classify(TimeoutError(), started) == (
        "timeout", "no answer to the TLS ClientHello before the deadline"
    )
    assert classify(NotOffered(b"N"), Progress(start=0.0, connected=0.1))[0] == "not_offered"
    assert classify(NotOffered(b"E"), Progress(start=0.0, connected=0.1))[0] == "error"
    failure = ssl.SSLCertVerificationError(1, "certificate verify failed")
    failure.verify_message = "certificate has expired"
    assert classify(failure, started) == (
        "tls_error", "certificate verify failed: certificate has expired"
    )
