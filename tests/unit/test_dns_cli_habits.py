"""dig's habits on `netdx dns`: +short, +trace, +tcp, +norecurse, several @SERVERs side by
side and @hostname. The query function and the system resolver are replaced: nothing here
sends a packet or asks the machine's resolver."""

from __future__ import annotations

import json
from typing import Any

import pytest

from netdx.cli import main
from netdx.dns import command
from netdx.dns.cli import parse_words
from netdx.model.evidence import (
    DnsExchange,
    DnsMessage,
    DnsQuestion,
    DnsRecord,
    DnsServerAnswer,
)

ANSWERS = {  # server → the A records it gives for www.example.lab
    "10.0.0.53": ("192.0.2.10",),
    "10.0.0.54": ("192.0.2.10", "192.0.2.11"),
}


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, Any]]:
    """(server, type, options) of every query sent; each server answers from ANSWERS,
    an unknown one times out."""
    seen: list[tuple[str, str, Any]] = []

    async def fake_query(server: str, question: DnsQuestion, *, deadline: Any,
                         options: Any) -> DnsServerAnswer:
        seen.append((server, question.rtype, options))
        if server not in ANSWERS:
            return DnsServerAnswer(server=server, qname=question.name, rtype=question.rtype,
                                   status="timeout", error="no answer")
        records = tuple(DnsRecord(name=question.name, rtype="A", ttl=60, value=v)
                        for v in ANSWERS[server])
        message = DnsMessage(id=1, rcode="NOERROR", flags=("qr", "rd", "ra"), answer=records)
        return DnsServerAnswer(server=server, qname=question.name, rtype=question.rtype,
                               status="ok", records=records, elapsed_ms=1.5,
                               exchange=DnsExchange(port=53, transport="udp", message=message))

    monkeypatch.setattr("netdx.dns.query.query", fake_query)  # what `command` asks through
    return seen


def test_short_prints_the_answers_only(
    asked: list[tuple[str, str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    """+short prints one value per line and nothing else, like dig +short."""
    assert main(["dns", "www.example.lab", "@10.0.0.54", "+short"]) == 0
    assert capsys.readouterr().out == "192.0.2.10\n192.0.2.11\n"


def test_several_servers_are_asked_and_tabled(
    asked: list[tuple[str, str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    """Two @SERVERs are both asked, and a table shows each one's answer on its own row."""
    assert main(["dns", "@10.0.0.53", "www.example.lab", "@10.0.0.54"]) == 0
    assert [s for s, _, _ in asked] == ["10.0.0.53", "10.0.0.54"]
    table = capsys.readouterr().out.split("SERVER")[1].splitlines()
    assert table[1].startswith("10.0.0.53") and table[1].endswith("192.0.2.10")
    assert table[2].endswith("192.0.2.10, 192.0.2.11")


def test_a_silent_server_fails_the_run_and_says_so_on_stderr(
    asked: list[tuple[str, str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    """+short with a server that times out exits 1, its answer-less line going to stderr."""
    assert main(["dns", "www.example.lab", "@10.0.0.53", "@10.0.0.99", "+short"]) == 1
    out, err = capsys.readouterr()
    assert out == "192.0.2.10\n" and "@10.0.0.99: timeout" in err


def test_plus_tcp_and_norecurse_set_the_query_options(
    asked: list[tuple[str, str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    """+tcp and +norecurse reach the query as --tcp and --norecurse do."""
    assert main(["dns", "www.example.lab", "@10.0.0.53", "+tcp", "+norecurse", "--json"]) == 0
    options = asked[0][2]
    assert options.tcp_only and not options.recursion_desired
    assert json.loads(capsys.readouterr().out)["schema"] == "netdx.dns/1"


def test_host_name_server_goes_through_the_system_resolver(
    asked: list[tuple[str, str, Any]], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """@ns1.example.lab is resolved (here by a stand-in for getaddrinfo) and then asked."""
    looked_up: list[str] = []

    async def fake_address(server: str, deadline: Any) -> str:
        looked_up.append(server)
        return "10.0.0.54" if server == "ns1.example.lab" else server

    monkeypatch.setattr(command, "server_address", fake_address)
    assert main(["dns", "www.example.lab", "@ns1.example.lab", "+short"]) == 0
    assert looked_up == ["ns1.example.lab"] and asked[0][0] == "10.0.0.54"


def test_words_in_any_order() -> None:
    """+trace, +short, types and servers mix freely; the last of +tcp/+notcp wins."""
    words = parse_words(("+trace", "example.lab", "MX", "@10.0.0.53", "+tcp", "+notcp",
                         "@ns.example.lab", "+short"), None)
    assert (words.name, words.types, words.servers) == (
        "example.lab", ("MX",), ("10.0.0.53", "ns.example.lab"))
    assert words.trace and words.short and words.tcp is False and words.recurse is None
    assert parse_words(("+norecurse",), "10.0.0.1").types == ("PTR",)


@pytest.mark.parametrize(("argv", "says"), [
    (["example.lab", "+bogus"], "unknown dig option"),
    (["example.lab", "+short", "--json"], "cannot be combined"),
    (["example.lab", "--compare", "+short"], "cannot be combined"),
    (["example.lab", "--compare", "@10.0.0.1", "@10.0.0.2"], "give no @server"),
    (["example.lab", "@-x"], "ip address or a host name"),
    (["example.lab", "@"], "ip address or a host name"),
])
def test_bad_combinations_are_one_line_usage_errors(
    asked: list[tuple[str, str, Any]], capsys: pytest.CaptureFixture[str],
    argv: list[str], says: str,
) -> None:
    """Each bad word or combination exits 2 with one line, before any query."""
    assert main(["dns", *argv]) == 2
    err = capsys.readouterr().err
    assert says in err.lower() and len(err.strip().splitlines()) == 1
    assert asked == []


def test_server_name_lookup_ends_with_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """A resolver that never answers (a stand-in for getaddrinfo) is a one-line usage error
    when the budget ends, not a wait for the resolver's own timeouts."""
    import asyncio
    import socket
    import threading
    import time

    from netdx.budget import Deadline
    from netdx.errors import UsageError

    release = threading.Event()

    def stuck(*args: Any, **kwargs: Any) -> Any:
        release.wait(30)
        raise OSError("released")

    monkeypatch.setattr(socket, "getaddrinfo", stuck)
    start = time.monotonic()
    try:
        with pytest.raises(UsageError, match="within the time budget"):
            asyncio.run(command.server_address("ns1.example.lab", Deadline.after(0.2)))
        assert time.monotonic() - start < 10  # a guard against a hang only
    finally:
        release.set()


def test_server_name_that_does_not_resolve_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """getaddrinfo's error (here a stand-in's) becomes exit 2 with the reason, one line."""
    import socket

    def unknown(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unknown)
    assert main(["dns", "www.example.lab", "@ns9.example.lab"]) == 2


def test_numeric_server_is_not_looked_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """An address after @ is used as it is: the resolver is never called for it."""
    import asyncio
    import socket

    from netdx.budget import Deadline

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("getaddrinfo called for a numeric server")

    monkeypatch.setattr(socket, "getaddrinfo", never)
    assert asyncio.run(command.server_address("fd00::53", Deadline.after(1))) == "fd00::53"
