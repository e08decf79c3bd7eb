"""`netdx serve`'s allowlist: only listed CIDRs and names pass, judged on the parsed target
with no DNS lookup, and hostile spellings of an address never slip past a CIDR."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from netdx.errors import TargetError, UsageError
from netdx.serve import default_config, parse_allowlist
from netdx.serve.config import ModuleConfig, ServeConfig
from netdx.serve.probe import ProbeBudget, ProbeOutcome
from netdx.serve.server import Exporter
from netdx.target import parse_target

ALLOW = parse_allowlist(["127.0.0.0/8", "10.0.0.0/24", "2001:db8::/32", "db-server-01"])


@pytest.fixture
def no_dns(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any name lookup during the test fails it."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a name lookup was made: {args!r}")

    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr"):
        monkeypatch.setattr(socket, name, refuse)
    yield


@pytest.mark.parametrize(
    "raw",
    [
        "127.0.0.1:9",
        "10.0.0.20:5432",
        "10.0.0.255",
        "[2001:db8::20]:5432",
        "db-server-01:5432",
        "DB-Server-01:5432",
        "http://10.0.0.5:8080/health",
        "postgres://app:secret@db-server-01/payments",
        "[::ffff:10.0.0.1]:22",  # the same destination as 10.0.0.1, inside 10.0.0.0/24
    ],
)
def test_listed_targets_pass(raw: str, no_dns: None) -> None:
    """Addresses inside a listed CIDR and listed names (any case, URL or not) are allowed."""
    assert ALLOW.allows(parse_target(raw))


@pytest.mark.parametrize(
    "raw",
    [
        "10.0.1.1:22",
        "192.168.1.1:22",
        "[::1]:22",
        "db-server-01.evil.example:5432",
        "evil-db-server-01:5432",
        "db-server-01.:5432",  # another name to a resolver with search domains
        "localhost:22",
        "0x0a000001:22",  # hex: a name to the parser, and glibc would read it as 10.0.0.1
        "[::ffff:192.168.1.1]:22",
        "[::ffff:10.0.1.1]:22",
        "[2001:db9::1]:22",
        "http://10.0.0.1@evil.example/",
        "http://evil.example#@10.0.0.1",
        "https://evil.example/?next=10.0.0.1",
    ],
)
def test_unlisted_targets_are_denied(raw: str, no_dns: None) -> None:
    """Anything outside the CIDRs and not listed by name is denied, without a lookup."""
    assert not ALLOW.allows(parse_target(raw))


@pytest.mark.parametrize(
    "raw", ["10.0.0.1@evil:22", "167772161:22", "012.0.0.1:22", "10.0.0.1.:22", "127.1:22"]
)
def test_hostile_address_spellings_never_reach_the_allowlist(raw: str) -> None:
    """Decimal, octal-looking, short and user@ forms are refused by the one target parser,
    so no second reading of the string can find a CIDR they would pass."""
    with pytest.raises(TargetError):
        parse_target(raw)


def test_mapped_address_is_judged_as_ipv4_not_by_an_ipv6_cidr(no_dns: None) -> None:
    """`::ffff:a.b.c.d` goes to a.b.c.d: an IPv6 CIDR covering it does not let it through."""
    every_v6 = parse_allowlist(["::/0"])
    assert not every_v6.allows(parse_target("[::ffff:10.0.0.1]:22"))
    assert every_v6.allows(parse_target("[2001:db8::1]:22"))


def test_zone_of_a_link_local_address_is_not_part_of_the_match(no_dns: None) -> None:
    """`fe80::1%eth0` is inside fe80::/10 (the zone picks the interface, not the address)."""
    assert parse_allowlist(["fe80::/10"]).allows(parse_target("[fe80::1%eth0]:22"))


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ("10.0.0.1/24", "host bits"),
        ("10.0.0.0/33", "not a CIDR"),
        ("012.0.0.1", "not a CIDR"),
        ("db-server-01:5432", "without port"),
        ("http://db", "without port or scheme"),
        ("bad name!", "not a host name"),
        (" db", "spaces"),
        ("::ffff:0:0/96", "IPv4 CIDRs"),
    ],
)
def test_bad_allow_entries_are_refused(entry: str, words: str) -> None:
    """An entry that is neither a CIDR nor a plain host name is a one-line usage error."""
    with pytest.raises(UsageError, match=words):
        parse_allowlist([entry])


def test_default_config_allows_loopback_only(no_dns: None) -> None:
    """Without --config only 127.0.0.0/8 and ::1 may be probed."""
    allow = default_config().allow
    assert allow.allows(parse_target("127.0.0.53:53"))
    assert allow.allows(parse_target("[::1]:22"))
    assert not allow.allows(parse_target("10.0.0.1:22"))
    assert not allow.allows(parse_target("localhost:22"))


def test_denied_probe_is_403_and_runs_nothing(no_dns: None) -> None:
    """A /probe of an unlisted target answers 403 and never calls the check."""
    calls: list[str] = []

    def runner(target: object, module: ModuleConfig, budget: ProbeBudget) -> ProbeOutcome:
        calls.append(str(target))
        raise AssertionError("the check ran")

    config = ServeConfig(allow=ALLOW, modules=(ModuleConfig(name="default"),))
    exporter = Exporter(config, runner=runner)
    for raw in ["evil.example:22", "10.9.9.9:22", "http://10.0.0.1@evil.example/", "localhost"]:
        response = exporter.handle(f"/probe?target={raw}", {})
        assert response.status == 403, raw
    for raw in ["167772161:22", "012.0.0.1:22", "10.0.0.1@evil:22"]:
        assert exporter.handle(f"/probe?target={raw}", {}).status == 400, raw
    assert calls == []
    text = exporter.metrics.render().decode()
    assert 'netdx_serve_probes_total{module="default",result="denied"} 4.0' in text
