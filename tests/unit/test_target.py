"""Target parsing: every accepted form, and a one-line refusal for everything else."""

from __future__ import annotations

import click
import pytest
from hypothesis import given
from hypothesis import strategies as st

from netdx.errors import TargetError, UsageError
from netdx.target import parse_target, port_number


@pytest.mark.parametrize(
    ("raw", "host", "port", "scheme", "literal"),
    [
        ("db-server-01:5432", "db-server-01", 5432, None, False),
        ("DB.Example.COM:22", "db.example.com", 22, None, False),
        ("db-server-01", "db-server-01", None, None, False),
        ("10.0.0.20:5432", "10.0.0.20", 5432, None, True),
        ("[2001:db8::20]:5432", "2001:db8::20", 5432, None, True),
        ("[2001:db8::20]", "2001:db8::20", None, None, True),
        ("2001:db8::20", "2001:db8::20", None, None, True),
        ("[fe80::1%eth0]:22", "fe80::1%eth0", 22, None, True),
        ("http://web-01:8080/health", "web-01", 8080, "http", False),
        ("https://web-01/", "web-01", 443, "https", False),
        ("postgres://app@db-server-01/payments", "db-server-01", 5432, "postgres", False),
        ("redis://cache", "cache", 6379, "redis", False),
        ("mysql://[2001:db8::1]", "2001:db8::1", 3306, "mysql", True),
        ("tcp://db:7000", "db", 7000, "tcp", False),
        ("host.example.:80", "host.example.", 80, None, False),
    ],
)
def test_accepted_forms(
    raw: str, host: str, port: int | None, scheme: str | None, literal: bool
) -> None:
    """Each documented target form parses into host, port, scheme and literal flag."""
    target = parse_target(raw)
    assert (target.host, target.port, target.scheme, target.ip_literal) == (
        host,
        port,
        scheme,
        literal,
    )


def test_url_path_and_query_are_kept() -> None:
    """An HTTP URL keeps its path and query for the service probe."""
    target = parse_target("http://web:8080/health?deep=1")
    assert target.url == "http://web:8080/health?deep=1"


def test_password_is_redacted() -> None:
    """A password in a URL never reaches the report."""
    target = parse_target("postgres://app:s3cret@db/payments")
    assert "s3cret" not in target.raw
    assert target.raw == "postgres://app:***@db/payments"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("host:99999", "out of range"),
        ("host:0", "out of range"),
        (":80", "missing host"),
        ("http://", "missing host"),
        ("a b:1", "whitespace"),
        ("x" * 300 + ".example:1", "longer than 253"),
        ("a" * 64 + ".example:1", "longer than 63"),
        ("a;rm -rf /:1", "whitespace"),
        ("a;id:1", "only letters"),
        ("$(id):1", "only letters"),
        ("`id`:1", "only letters"),
        ("[", "missing ']'"),
        ("[::1", "missing ']'"),
        ("[]:80", "empty address"),
        ("[::1]80", "expected ':PORT'"),
        ("2001:db8::1:80:x", "needs brackets"),
        ("host:", "port must be"),
        ("host:-1", "port must be"),
        ("ftp://host", "unsupported scheme"),
        ("tcp://host", "needs a port"),
        ("1.2.3:80", "not a valid IPv4"),
        ("a..b:1", "empty label"),
        ("-x:1", "only letters"),
        ("", "empty target"),
        ("10.0.0.1%eth0", "bad IPv6 zone"),
    ],
)
def test_refused_forms(raw: str, reason: str) -> None:
    """Bad targets raise TargetError with a one-line reason naming the problem."""
    with pytest.raises(TargetError) as info:
        parse_target(raw)
    message = str(info.value)
    assert reason in message
    assert "\n" not in message


@given(st.text(max_size=400))
def test_any_text_parses_or_is_refused(raw: str) -> None:
    """No input makes the parser fail with anything but TargetError."""
    try:
        target = parse_target(raw)
    except TargetError as exc:
        assert "\n" not in str(exc)
    else:
        assert target.host
        assert target.port is None or 1 <= target.port <= 65535


@pytest.mark.parametrize("text", ["²", "８０", "٨٠", " 80", "80\n", "+80", "0", "65536", "", "8o"])
def test_port_number_takes_ascii_digits_only(text: str) -> None:
    """Unicode digits, signs, spaces, a trailing newline or an out-of-range number are no
    port (int() alone takes several of them)."""
    assert port_number(text) is None


def test_port_number_and_its_users_agree() -> None:
    """who, firewall flows and check take the same ports through the one parser."""
    from netdx.firewall.flows import parse_endpoint
    from netdx.sockets.cli import parse_port_spec

    assert port_number("5432") == 5432 and port_number("65535") == 65535
    assert parse_port_spec(":5432") == (None, 5432)
    assert parse_endpoint("10.0.0.2:5432") == ("10.0.0.2", 5432)
    with pytest.raises(click.BadParameter):
        parse_port_spec("²")
    with pytest.raises(UsageError):
        parse_endpoint("10.0.0.2:８０")
    with pytest.raises(TargetError):
        parse_target("db:８０")


@pytest.mark.parametrize(
    "raw",
    [
        "http://u:PW1xPW2@bad host/",
        "http://u:PW1/PW2@h:80/",
        "http://u:PW1@PW2@h/",
        "http://u:PW1@PW2@[::1:80/",
        "postgres://u:PW1PW2@db:99999/x",
        "https://u:PW1:PW2@h:8443/",
    ],
)
def test_a_password_never_reaches_a_message_or_the_target(raw: str) -> None:
    """Whatever else is wrong with the URL (whitespace, a '/' or '@' in the password, a bad
    port or address), neither the error nor the parsed target shows any piece of it."""
    try:
        shown = parse_target(raw).raw
    except TargetError as exc:
        shown = str(exc)
    assert "PW1" not in shown and "PW2" not in shown, shown
    assert "***" in shown
