"""`check --tls` as a user types it: where it applies, where it is a no-op, and the one-line
usage errors (exit 2) where it has no handshake to make."""

from __future__ import annotations

import pytest

from netdx import cli
from netdx.errors import UsageError
from netdx.start import _tls_for


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["udp://127.0.0.1:53", "--tls"], "--tls needs a TCP target: udp://"),
        (["dns://127.0.0.1/example.org", "--tls"], "--tls needs a TCP target: dns://"),
        (["http://127.0.0.1:8080/", "--tls"], "(use https://)"),
        (["redis://127.0.0.1:6379", "--tls"], "a TLS-wrapped redis is rediss://"),
        (["127.0.0.1", "--tls"], "--tls needs a port"),
        (["127.0.0.1:993", "--tls", "--expect-status", "200"], "--expect-status, --method"),
        (["127.0.0.1:993", "--cacert", "/nonexistent"], None),
    ],
)
def test_usage_errors_are_one_line(
    argv: list[str], message: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each misuse exits 2 before any probe, with one line on stderr."""
    assert cli.main(["check", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    if message is not None:
        assert message in err


def test_where_tls_applies() -> None:
    """A handshake is planned for HOST:PORT, tcp://, postgres:// and mysql://; https:// has its own
    (so --tls is accepted there and changes nothing)."""
    assert _tls_for(None, 993, True) is True
    assert _tls_for("mysql", 3306, True) is True  # its SSLRequest leads into TLS
    assert _tls_for("tcp", 993, True) is True
    assert _tls_for("postgres", 5432, True) is True
    assert _tls_for("https", 443, True) is False
    assert _tls_for("rediss", 6379, True) is False  # TLS already, as https
    assert _tls_for(None, 993, False) is False
    with pytest.raises(UsageError):
        _tls_for("redis", 6379, True)
